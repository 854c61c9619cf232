"""A blob store on any S3-compatible object store (AWS S3, MinIO, Ceph RGW, SeaweedFS).

Only the portable core of the S3 API is used, with integrity data sent as explicit headers (Content-MD5 and
x-amz-checksum-sha256 computed here) rather than botocore's newer automatic aws-chunked trailer checksums,
which several S3-compatible servers reject or ignore.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, Literal

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import (
    RECORDS_PREFIX,
    BlobCorrupt,
    BlobInfo,
    BlobLocked,
    BlobNotFound,
    BlobRef,
    BlobStoreError,
    Retention,
    key_for,
    parse_key,
    parse_record_name,
)

MiB = 1024 * 1024
# S3's smallest allowed part (except the last); AWS, MinIO and Ceph all enforce it.
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
_READ_CHUNK = 1 * MiB
_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_LOCK_DENIED = {"AccessDenied", "InvalidRequest", "ObjectLocked"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectLockDefaults:
    """Retention applied to puts that pass no `retention` of their own."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None
    days: int = 0
    legal_hold: bool = False

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in _LOCK_MODES:
            raise ValueError(f"object lock mode must be one of {_LOCK_MODES}, not {self.mode!r}")
        if self.mode is not None and self.days <= 0:
            raise ValueError("an object lock mode needs days > 0")

    def retention(self, now: dt.datetime | None = None) -> Retention:
        now = now or dt.datetime.now(dt.timezone.utc)
        until = now + dt.timedelta(days=self.days) if self.mode else None
        return Retention(mode=self.mode, until=until, legal_hold=self.legal_hold)


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None  # None: AWS itself
    region: str = "us-east-1"
    access_key: str | None = None  # None (with secret_key None): boto3's default chain (env, profile, IAM role)
    secret_key: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"  # most self-hosted servers want "path"
    prefix: str = ""  # folder inside the bucket, e.g. "eakte/"; a trailing slash is added when missing
    multipart_threshold: int = 8 * MiB
    multipart_chunksize: int = 8 * MiB  # also bounds the memory a put needs
    object_lock: ObjectLockDefaults | None = None
    spool_dir: str | None = None  # where put() buffers the stream while hashing; None: the system temp dir
    spool_max_memory: int = 1 * MiB  # streams up to this size are spooled in memory, larger ones on disk
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if self.addressing_style not in ("auto", "path", "virtual"):
            raise ValueError(f"addressing_style must be auto, path or virtual, not {self.addressing_style!r}")
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        if self.multipart_chunksize < MIN_PART_SIZE:
            raise ValueError(f"multipart_chunksize must be at least {MIN_PART_SIZE} bytes (S3's minimum part size)")
        if self.multipart_threshold < 1:
            raise ValueError("multipart_threshold must be positive")

    @property
    def key_prefix(self) -> str:
        prefix = self.prefix.strip("/")
        return f"{prefix}/" if prefix else ""


class S3BlobStore:
    def __init__(self, settings: S3Settings, *, client: BaseClient | None = None) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._prefix = settings.key_prefix
        self.client: BaseClient = client if client is not None else _make_client(settings)
        self._known_versioned = False

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self._prefix!r}, endpoint={self.settings.endpoint_url!r})"

    # -- the BlobStore protocol ---------------------------------------------------------------------------------

    def put(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        if retention is None and self.settings.object_lock is not None:
            retention = self.settings.object_lock.retention()
        lock_args = _lock_args(retention)
        # The key is the content hash, known only at the end of the stream: buffer it (bounded memory,
        # spilling to disk) so that it can be uploaded, and re-read for retries, after hashing.
        with tempfile.SpooledTemporaryFile(
            max_size=self.settings.spool_max_memory, dir=self.settings.spool_dir, prefix="eakte-put-"
        ) as spool:
            sha256, size, md5 = self._spool(stream, spool)
            key = key_for(sha256)
            name = self._name(key)
            head = self._head(name)
            if head is not None:
                if retention is not None:
                    self._strengthen_retention(name, head, retention)
                return BlobRef(key=key, sha256=sha256, size=size, created=False)
            spool.seek(0)
            with self._errors(f"upload of {key}"):
                if md5 is not None:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=name,
                        Body=spool,
                        ContentLength=size,
                        ContentMD5=_b64(md5),
                        ChecksumAlgorithm="SHA256",
                        ChecksumSHA256=_b64(bytes.fromhex(sha256)),
                        **lock_args,
                    )
                else:
                    self._multipart_upload(name, spool, size, lock_args)
        return BlobRef(key=key, sha256=sha256, size=size, created=True)

    def open(self, key: str) -> BinaryIO:
        name = self._name(key)
        with self._errors(f"download of {key}", not_found=key):
            response = self.client.get_object(Bucket=self.bucket, Key=name)
        body: BinaryIO = response["Body"]  # botocore's StreamingBody: an io.IOBase with read(n) and close()
        return body

    def exists(self, key: str) -> bool:
        return self._head(self._name(key)) is not None

    def delete(self, key: str) -> None:
        name = self._name(key)
        if not self._versioned():
            with self._errors(f"delete of {key}"):
                self.client.delete_object(Bucket=self.bucket, Key=name)
            return
        # In a versioned bucket a plain DELETE only stacks a delete marker on top and keeps the bytes (even of
        # locked objects): remove every version explicitly, which is also where Object Lock says no.
        locked: list[str] = []
        for version_id in self._versions(name):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=name, VersionId=version_id)
            except ClientError as e:
                if _code(e) in _NOT_FOUND:
                    continue
                if _code(e) in _LOCK_DENIED and self._is_locked(name, version_id):
                    locked.append(version_id)
                    continue
                raise BlobStoreError(f"delete of {key} (version {version_id}) failed: {_code(e)}") from e
            except BotoCoreError as e:
                raise BlobStoreError(f"delete of {key} failed: {e}") from e
        if locked:
            raise BlobLocked(f"{key} is under Object Lock retention or legal hold (versions {', '.join(locked)})")

    def verify(self, key: str) -> None:
        expected = parse_key(key)
        digest = hashlib.sha256()
        with self.open(key) as body, self._errors(f"download of {key}"):
            while chunk := body.read(_READ_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise BlobCorrupt(f"{key}: stored bytes hash to {digest.hexdigest()}")

    def iter_blobs(self) -> Iterator[BlobInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("listing"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self._prefix}sha256/"):
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(self._prefix) :]
                    try:
                        parse_key(key)
                    except ValueError:
                        continue  # not ours (e.g. a folder marker made by a GUI client)
                    modified = obj["LastModified"].astimezone(dt.timezone.utc)
                    yield BlobInfo(key=key, size=obj["Size"], modified=modified)

    def put_record(self, name: str, data: bytes) -> bool:
        object_name = self._record_name(name)
        if self._head(object_name) is not None:
            return False
        # Under the bucket's Object Lock defaults, like every blob: a record that anchors the audit trail must be
        # as hard to remove as what it anchors.
        retention = self.settings.object_lock.retention() if self.settings.object_lock is not None else None
        with self._errors(f"upload of record {name}"):
            self.client.put_object(
                Bucket=self.bucket,
                Key=object_name,
                Body=data,
                ContentLength=len(data),
                ContentMD5=_b64(hashlib.md5(data, usedforsecurity=False).digest()),
                ContentType="application/json" if name.endswith(".json") else "application/octet-stream",
                **_lock_args(retention),
            )
        return True

    def read_record(self, name: str) -> bytes:
        with self._errors(f"download of record {name}", not_found=name):
            body = self.client.get_object(Bucket=self.bucket, Key=self._record_name(name))["Body"]
            with contextlib.closing(body):
                data: bytes = body.read()
        return data

    def list_records(self, folder: str, limit: int | None = None) -> list[str]:
        # Listings come in ascending key order, so `limit` is applied by the server (MaxKeys), page by page.
        start = self._record_name(folder) + "/"
        names: list[str] = []
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": start, "Delimiter": "/"}
        with self._errors(f"listing of records in {folder}"):
            while limit is None or len(names) < limit:
                if limit is not None:
                    args["MaxKeys"] = min(1000, limit - len(names))
                page = self.client.list_objects_v2(**args)
                names += [f"{folder}/{obj['Key'][len(start):]}" for obj in page.get("Contents", [])]
                if not page.get("IsTruncated"):
                    break
                args["ContinuationToken"] = page["NextContinuationToken"]
        return names[:limit]

    def cleanup_temp(self, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
        """Abort multipart uploads of blobs begun more than `older_than` ago; returns how many were aborted.

        A put that dies between create_multipart_upload and complete/abort (killed process, lost connection)
        leaves its parts stored, invisible to listings and billed, until someone aborts the upload. Uploads
        younger than `older_than` may still be running, so choose it well above the longest upload (gc passes
        its grace period). Only this store's blob prefix is touched, never other users of a shared bucket.
        """
        cutoff = (now or _now()) - older_than
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        with self._errors("listing multipart uploads"):
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=f"{self._prefix}sha256/"))
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"].astimezone(dt.timezone.utc) >= cutoff:
                    continue
                try:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
                except ClientError as e:
                    if _code(e) == "NoSuchUpload":
                        continue  # completed or aborted meanwhile
                    raise BlobStoreError(f"abort of multipart upload {upload['Key']} failed: {_code(e)}") from e
                except BotoCoreError as e:
                    raise BlobStoreError(f"abort of multipart upload {upload['Key']} failed: {e}") from e
                aborted += 1
        return aborted

    # -- administration -----------------------------------------------------------------------------------------

    def ensure_bucket(self, object_lock: bool = False) -> None:
        """Create the bucket if it is missing; with object_lock, insist that it has Object Lock enabled.

        Object Lock can only be switched on at creation on most servers, so an existing bucket without it is
        an error rather than something to fix silently.
        """
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            if _code(e) not in ("404", "NoSuchBucket", "NotFound"):
                raise BlobStoreError(f"cannot access bucket {self.bucket}: {_code(e)}") from e
            self._create_bucket(object_lock)
            return
        except BotoCoreError as e:
            raise BlobStoreError(f"cannot access bucket {self.bucket}: {e}") from e
        if object_lock and not self.object_lock_enabled():
            raise BlobStoreError(f"bucket {self.bucket} exists without Object Lock")

    def object_lock_enabled(self) -> bool:
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as e:
            if _code(e) in ("ObjectLockConfigurationNotFoundError", "404", "NotImplemented"):
                return False
            raise BlobStoreError(f"cannot read Object Lock configuration of {self.bucket}: {_code(e)}") from e
        return bool(config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled")

    # -- internals ----------------------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        parse_key(key)
        return self._prefix + key

    def _record_name(self, name: str) -> str:
        return self._prefix + RECORDS_PREFIX + parse_record_name(name)

    def _spool(self, stream: BinaryIO, spool: IO[bytes]) -> tuple[str, int, bytes | None]:
        """Copy stream into spool; returns (sha256 hex, size, md5 digest or None when multipart will be used)."""
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)  # for Content-MD5, the integrity check every S3 server knows
        size = 0
        threshold = self.settings.multipart_threshold
        while chunk := stream.read(_READ_CHUNK):
            sha256.update(chunk)
            spool.write(chunk)
            size += len(chunk)
            if size < threshold:
                md5.update(chunk)  # past the threshold each part gets its own Content-MD5 instead
        spool.flush()
        return sha256.hexdigest(), size, (md5.digest() if size < threshold else None)

    def _multipart_upload(self, name: str, spool: IO[bytes], size: int, lock_args: dict[str, Any]) -> None:
        # Parts are uploaded one after another, each read into memory once: memory stays at about one part,
        # whatever the size of the blob. The part size grows only if the 10,000-part limit demands it.
        part_size = max(self.settings.multipart_chunksize, -(-size // MAX_PARTS))
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=name, ChecksumAlgorithm="SHA256", **lock_args
        )["UploadId"]
        try:
            parts = []
            number = 1
            while part := spool.read(part_size):
                checksum = _b64(hashlib.sha256(part).digest())
                response = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=part,
                    ContentLength=len(part),
                    ContentMD5=_b64(hashlib.md5(part, usedforsecurity=False).digest()),
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum})
                number += 1
                del part  # drop the part before reading the next one, so two never coexist
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            raise

    def _head(self, name: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as e:
            if _code(e) in _NOT_FOUND:
                return None
            raise BlobStoreError(f"HEAD {name} failed: {_code(e)}") from e
        except BotoCoreError as e:
            raise BlobStoreError(f"HEAD {name} failed: {e}") from e
        return head

    def _versioned(self) -> bool:
        # Versioning can be switched on at any time but never off again (only suspended), so only a "yes" is
        # remembered.
        if not self._known_versioned:
            with self._errors("reading bucket versioning"):
                status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
            self._known_versioned = status in ("Enabled", "Suspended")
        return self._known_versioned

    def _versions(self, name: str) -> list[str]:
        """Version ids of exactly `name`, data versions first so that delete markers never uncover anything."""
        data: list[str] = []
        markers: list[str] = []
        paginator = self.client.get_paginator("list_object_versions")
        with self._errors(f"version listing of {name}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=name):
                data += [v["VersionId"] for v in page.get("Versions", []) if v["Key"] == name]
                markers += [m["VersionId"] for m in page.get("DeleteMarkers", []) if m["Key"] == name]
        return data + markers

    def _is_locked(self, name: str, version_id: str) -> bool:
        # Tells an Object Lock refusal from a plain permission problem, which must not pass for retention.
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=name, VersionId=version_id)
        except (ClientError, BotoCoreError):
            return False
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            return True
        until = head.get("ObjectLockRetainUntilDate")
        return head.get("ObjectLockMode") in _LOCK_MODES and until is not None and until > _now()

    def _strengthen_retention(self, name: str, head: dict[str, Any], retention: Retention) -> None:
        """Content shared by several records must be kept as long as the strictest of them demands.

        A deduplicated put therefore extends the stored version's retain-until date and sets its legal hold where
        the request asks for more; it never shortens or weakens anything (S3 would refuse that anyway).
        """
        version = {"VersionId": head["VersionId"]} if head.get("VersionId") not in (None, "null") else {}
        current_until = head.get("ObjectLockRetainUntilDate")
        current_mode = head.get("ObjectLockMode")
        with self._errors(f"retention update of {name}"):
            if retention.mode and retention.until and (current_until is None or current_until < retention.until):
                # A version's mode cannot be changed without a governance bypass (AWS and SeaweedFS answer
                # AccessDenied), so an existing mode stays and only the date is extended.
                mode = current_mode if current_mode in _LOCK_MODES else retention.mode
                self.client.put_object_retention(
                    Bucket=self.bucket,
                    Key=name,
                    Retention={"Mode": mode, "RetainUntilDate": retention.until},
                    **version,
                )
            if retention.legal_hold and head.get("ObjectLockLegalHoldStatus") != "ON":
                self.client.put_object_legal_hold(Bucket=self.bucket, Key=name, LegalHold={"Status": "ON"}, **version)

    def _create_bucket(self, object_lock: bool) -> None:
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.settings.region != "us-east-1":
            # AWS rejects an explicit us-east-1 constraint and requires one everywhere else.
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        if object_lock:
            args["ObjectLockEnabledForBucket"] = True
        try:
            self.client.create_bucket(**args)
        except ClientError as e:
            if _code(e) != "BucketAlreadyOwnedByYou":
                raise BlobStoreError(f"cannot create bucket {self.bucket}: {_code(e)}") from e
        except BotoCoreError as e:
            raise BlobStoreError(f"cannot create bucket {self.bucket}: {e}") from e

    @contextlib.contextmanager
    def _errors(self, what: str, *, not_found: str | None = None) -> Iterator[None]:
        """Turn botocore's exceptions into the store's, so callers handle one family of errors."""
        try:
            yield
        except ClientError as e:
            if not_found is not None and _code(e) in _NOT_FOUND:
                raise BlobNotFound(not_found) from None
            raise BlobStoreError(f"{what} failed: {_code(e)}: {e}") from e
        except BotoCoreError as e:
            raise BlobStoreError(f"{what} failed: {e}") from e


def _make_client(settings: S3Settings) -> BaseClient:
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": settings.addressing_style},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        # Checksums are computed by this module and sent as plain headers; botocore's defaults since 1.36
        # (CRC32 everywhere, in aws-chunked trailers) break uploads to several S3-compatible servers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # A session of its own, so that no process-wide boto3 default (env profile, region) leaks in unexpectedly.
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=config,
    )


def _lock_args(retention: Retention | None) -> dict[str, Any]:
    if retention is None:
        return {}
    args: dict[str, Any] = {}
    if retention.mode is not None or retention.until is not None:
        if retention.mode not in _LOCK_MODES:
            raise ValueError(f"retention mode must be one of {_LOCK_MODES}, not {retention.mode!r}")
        if retention.until is None or retention.until.tzinfo is None:
            raise ValueError("retention needs a timezone-aware `until`")
        args["ObjectLockMode"] = retention.mode
        args["ObjectLockRetainUntilDate"] = retention.until
    if retention.legal_hold:
        args["ObjectLockLegalHoldStatus"] = "ON"
    return args


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
