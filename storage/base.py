"""The blob store contract: where the bytes of every document version live.

A store is content-addressed: the key of a blob is derived from the SHA-256 of its bytes, so identical content
is stored once and a key never points at different bytes. Stores know nothing of cases, users or databases.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Protocol, runtime_checkable


class BlobStoreError(Exception):
    """Base of all storage failures."""


class BlobNotFound(BlobStoreError):
    """No blob is stored under the key."""


class BlobCorrupt(BlobStoreError):
    """The stored bytes no longer hash to their key."""


class BlobLocked(BlobStoreError):
    """The blob is under retention (Object Lock / legal hold) and cannot be deleted."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    """What a successful put returns."""

    key: str  # e.g. "sha256/ab/cd/abcd…"; derived from sha256 only
    sha256: str  # lowercase hex
    size: int
    created: bool  # False when identical content was already stored (deduplicated)


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    modified: dt.datetime  # timezone-aware UTC; used by gc's grace period


@dataclass(frozen=True, slots=True)
class Retention:
    """Object Lock settings applied on write (S3 only; the local store ignores them)."""

    mode: str | None = None  # "GOVERNANCE" or "COMPLIANCE"
    until: dt.datetime | None = None
    legal_hold: bool = False


@runtime_checkable
class BlobStore(Protocol):
    def put(self, stream: BinaryIO, *, retention: Retention | None = None) -> BlobRef:
        """Stream `stream` to the store while hashing it; never reads it whole into memory."""

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the blob; raises BlobNotFound."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; raises BlobLocked where retention forbids it; missing keys are ignored."""

    def verify(self, key: str) -> None:
        """Re-hash the stored bytes; raises BlobNotFound or BlobCorrupt."""

    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every blob in the store (for verify-all and gc)."""

    def cleanup_temp(self, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
        """Remove what puts that never finished left behind (temp files, open multipart uploads) once older
        than `older_than`; returns how many were removed."""

    # Records: small named documents beside the blobs (e.g. audit checkpoints), under RECORDS_PREFIX, which
    # iter_blobs never lists and gc therefore never deletes. Written once, under the store's Object Lock
    # defaults where it has them; never replaced.

    def put_record(self, name: str, data: bytes) -> bool:
        """Store `data` under `name`; False (and nothing written) when a record of that name exists."""

    def read_record(self, name: str) -> bytes:
        """The record's bytes; raises BlobNotFound."""

    def list_records(self, folder: str, limit: int | None = None) -> list[str]:
        """Names of the records directly in `folder`, ascending, at most `limit` of them."""


RECORDS_PREFIX = "records/"
_RECORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def parse_record_name(name: str) -> str:
    """`name` if it can name a record (or a folder of them); ValueError otherwise, so no name from outside
    can reach a path or object that is not a record ("..", absolute paths, empty parts)."""
    if _RECORD_RE.fullmatch(name) is None or ".." in name:
        raise ValueError(f"not a record name: {name!r}")
    return name


def key_for(sha256_hex: str) -> str:
    """The one mapping from content hash to key, shared by every backend."""
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def sha256_from_key(key: str) -> str:
    return key.rsplit("/", 1)[-1]


_KEY_RE = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")


def parse_key(key: str) -> str:
    """The SHA-256 a well-formed key names; ValueError for anything key_for cannot have produced.

    Backends call this before touching a path or object name so that a key from outside (an API argument,
    a database row) can never address something that is not a blob, e.g. "../../etc/passwd".
    """
    match = _KEY_RE.fullmatch(key)
    if match is None or match[1] != match[3][:2] or match[2] != match[3][2:4]:
        raise ValueError(f"not a blob key: {key!r}")
    return match[3]
