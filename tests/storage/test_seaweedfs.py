"""Real S3 semantics on SeaweedFS (`weed mini`): signatures, Object Lock, legal hold, checksums.

What SeaweedFS 4.x was found to enforce, and these tests pin down:
- SigV4 signatures against the identity file: wrong secret, unknown key and unsigned requests are refused.
- Object Lock: buckets created with it get versioning; a version under COMPLIANCE or GOVERNANCE retention,
  or under legal hold, cannot be deleted (403 AccessDenied). GOVERNANCE yields to an admin sending
  x-amz-bypass-governance-retention, COMPLIANCE does not; retention can be extended but not shortened and
  a version's mode cannot be changed; retention expires on its date. Retention on a bucket without Object
  Lock is refused (InvalidRequest).
- Checksums: x-amz-checksum-sha256 is verified and stored (HEAD with ChecksumMode=ENABLED returns it;
  multipart uploads get S3's COMPOSITE "digest-of-part-digests-<n>" value); Content-MD5 is verified too,
  for whole objects and for parts. A mismatch is BadDigest.
- Unlike AWS, it does not insist on Content-MD5 or a checksum header for a put with Object Lock
  parameters; the store sends both anyway.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import time

import pytest
import requests
from botocore.exceptions import ClientError

from storage import BlobLocked, BlobStoreError, ObjectLockDefaults, Retention, S3BlobStore
from tests.s3_servers import S3Server
from tests.storage.helpers import (
    TEST_PART_SIZE,
    MiB,
    expected_s3_checksum,
    generated_bytes,
    make_s3_store,
    part_digests,
)

pytestmark = pytest.mark.seaweedfs


def _in_days(days: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)


def _versions(store: S3BlobStore, key: str) -> tuple[list[str], list[str]]:
    listing = store.client.list_object_versions(Bucket=store.bucket, Prefix=key)
    versions = [v["VersionId"] for v in listing.get("Versions", []) if v["Key"] == key]
    markers = [m["VersionId"] for m in listing.get("DeleteMarkers", []) if m["Key"] == key]
    return versions, markers


def _error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


# -- authentication -------------------------------------------------------------------------------------------


def test_requests_are_signature_checked(seaweedfs_s3: S3Server) -> None:
    wrong_secret = S3Server(seaweedfs_s3.endpoint_url, seaweedfs_s3.access_key, "not-the-secret")
    with pytest.raises(ClientError) as excinfo:
        wrong_secret.client().list_buckets()
    assert _error_code(excinfo) == "SignatureDoesNotMatch"

    unknown_key = S3Server(seaweedfs_s3.endpoint_url, "NOSUCHACCESSKEY00000", seaweedfs_s3.secret_key)
    with pytest.raises(ClientError) as excinfo:
        unknown_key.client().list_buckets()
    assert _error_code(excinfo) == "InvalidAccessKeyId"

    assert requests.get(seaweedfs_s3.endpoint_url + "/", timeout=10).status_code == 403


# -- Object Lock ------------------------------------------------------------------------------------------------


def test_bucket_is_created_with_object_lock(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    assert store.object_lock_enabled()
    assert store.client.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"
    store.ensure_bucket(object_lock=True)  # idempotent on an existing locked bucket


@pytest.mark.parametrize("mode", ["COMPLIANCE", "GOVERNANCE"])
def test_retained_version_cannot_be_deleted(seaweedfs_lock_store: S3BlobStore, mode: str) -> None:
    store = seaweedfs_lock_store
    data = f"Bescheid unter {mode}".encode()
    until = _in_days(1)
    ref = store.put(io.BytesIO(data), retention=Retention(mode=mode, until=until))

    head = store.client.head_object(Bucket=store.bucket, Key=ref.key)
    assert head["ObjectLockMode"] == mode
    assert abs(head["ObjectLockRetainUntilDate"] - until) < dt.timedelta(seconds=2)

    with pytest.raises(BlobLocked):
        store.delete(ref.key)

    assert store.exists(ref.key)
    with store.open(ref.key) as f:
        assert f.read() == data
    store.verify(ref.key)
    versions, markers = _versions(store, ref.key)
    assert len(versions) == 1 and markers == [], "the store must not hide a locked blob behind a delete marker"
    with pytest.raises(ClientError) as excinfo:
        store.client.delete_object(Bucket=store.bucket, Key=ref.key, VersionId=versions[0])
    assert _error_code(excinfo) == "AccessDenied"


def test_governance_yields_only_to_an_explicit_bypass(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    governed = store.put(io.BytesIO(b"governance"), retention=Retention(mode="GOVERNANCE", until=_in_days(1)))
    compliant = store.put(io.BytesIO(b"compliance"), retention=Retention(mode="COMPLIANCE", until=_in_days(1)))

    for ref, allowed in ((governed, True), (compliant, False)):
        (version,), _ = _versions(store, ref.key)
        delete = {"Bucket": store.bucket, "Key": ref.key, "VersionId": version, "BypassGovernanceRetention": True}
        if allowed:
            store.client.delete_object(**delete)
            assert not store.exists(ref.key)
        else:
            with pytest.raises(ClientError):
                store.client.delete_object(**delete)
            assert store.exists(ref.key)


def test_legal_hold_blocks_delete_until_released(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    ref = store.put(io.BytesIO(b"Beweismittel"), retention=Retention(legal_hold=True))
    head = store.client.head_object(Bucket=store.bucket, Key=ref.key)
    assert head["ObjectLockLegalHoldStatus"] == "ON"

    with pytest.raises(BlobLocked):
        store.delete(ref.key)
    assert store.exists(ref.key)

    (version,), _ = _versions(store, ref.key)
    store.client.put_object_legal_hold(
        Bucket=store.bucket, Key=ref.key, VersionId=version, LegalHold={"Status": "OFF"}
    )
    store.delete(ref.key)

    assert not store.exists(ref.key)
    assert _versions(store, ref.key) == ([], [])


def test_retention_expires(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    ref = store.put(io.BytesIO(b"kurze Frist"), retention=Retention(mode="COMPLIANCE", until=until))
    with pytest.raises(BlobLocked):
        store.delete(ref.key)

    time.sleep(max(0.0, (until - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 1.0)
    store.delete(ref.key)

    assert not store.exists(ref.key)


def test_unlocked_blob_in_lock_bucket_is_deleted_completely(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    ref = store.put(io.BytesIO(b"no retention asked"))
    store.client.delete_object(Bucket=store.bucket, Key=ref.key)  # a plain delete: only a delete marker
    assert store.put(io.BytesIO(b"no retention asked")).created

    store.delete(ref.key)

    assert _versions(store, ref.key) == ([], [])


def test_multipart_upload_with_retention(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    data = generated_bytes(12 * MiB, seed=7)
    ref = store.put(io.BytesIO(data), retention=Retention(mode="COMPLIANCE", until=_in_days(1)))

    head = store.client.head_object(Bucket=store.bucket, Key=ref.key, ChecksumMode="ENABLED")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ChecksumSHA256"] == expected_s3_checksum(part_digests(data, TEST_PART_SIZE))
    with pytest.raises(BlobLocked):
        store.delete(ref.key)
    store.verify(ref.key)


def test_default_retention_from_settings(seaweedfs_s3: S3Server) -> None:
    lock = ObjectLockDefaults(mode="COMPLIANCE", days=2)
    store = make_s3_store(seaweedfs_s3, lock_bucket=True, object_lock=lock)
    ref = store.put(io.BytesIO(b"Standardfrist"))

    head = store.client.head_object(Bucket=store.bucket, Key=ref.key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert _in_days(1.9) < head["ObjectLockRetainUntilDate"] < _in_days(2.1)
    with pytest.raises(BlobLocked):
        store.delete(ref.key)


def test_deduplicated_put_extends_retention(seaweedfs_lock_store: S3BlobStore) -> None:
    store = seaweedfs_lock_store
    data = b"Anlage, die zwei Akten teilen"
    first = store.put(io.BytesIO(data), retention=Retention(mode="GOVERNANCE", until=_in_days(1)))
    longer = _in_days(3)

    second = store.put(io.BytesIO(data), retention=Retention(mode="COMPLIANCE", until=longer, legal_hold=True))

    assert first.created and not second.created
    head = store.client.head_object(Bucket=store.bucket, Key=first.key)
    assert abs(head["ObjectLockRetainUntilDate"] - longer) < dt.timedelta(seconds=2)
    assert head["ObjectLockMode"] == "GOVERNANCE", "S3 refuses to change a version's mode"
    assert head["ObjectLockLegalHoldStatus"] == "ON"

    # A shorter request never shortens.
    store.put(io.BytesIO(data), retention=Retention(mode="GOVERNANCE", until=_in_days(1)))
    head = store.client.head_object(Bucket=store.bucket, Key=first.key)
    assert abs(head["ObjectLockRetainUntilDate"] - longer) < dt.timedelta(seconds=2)


def test_retention_on_bucket_without_object_lock_is_refused(seaweedfs_store: S3BlobStore) -> None:
    with pytest.raises(BlobStoreError):
        seaweedfs_store.put(io.BytesIO(b"wants WORM"), retention=Retention(mode="COMPLIANCE", until=_in_days(1)))
    assert list(seaweedfs_store.iter_blobs()) == []


# -- checksums --------------------------------------------------------------------------------------------------


def test_server_rejects_bytes_that_do_not_match_the_checksum(seaweedfs_store: S3BlobStore) -> None:
    """Why sending the checksums matters: damage in transit is refused, not stored."""
    store = seaweedfs_store
    other = expected_s3_checksum([hashlib.sha256(b"other").digest()])
    with pytest.raises(ClientError) as excinfo:
        store.client.put_object(
            Bucket=store.bucket, Key="probe", Body=b"sent", ChecksumAlgorithm="SHA256", ChecksumSHA256=other
        )
    assert _error_code(excinfo) == "BadDigest"

    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key="probe", ChecksumAlgorithm="SHA256")
    try:
        with pytest.raises(ClientError) as excinfo:
            store.client.upload_part(
                Bucket=store.bucket,
                Key="probe",
                UploadId=upload["UploadId"],
                PartNumber=1,
                Body=b"p" * TEST_PART_SIZE,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=other,
            )
        assert _error_code(excinfo) == "BadDigest"
    finally:
        store.client.abort_multipart_upload(Bucket=store.bucket, Key="probe", UploadId=upload["UploadId"])
