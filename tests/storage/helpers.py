"""Builders and checks shared by the storage tests."""
from __future__ import annotations

import base64
import hashlib
import io
import itertools
import random
from pathlib import Path
from typing import Any

from storage import LocalBlobStore, S3BlobStore
from storage.base import BlobStore
from tests.s3_servers import S3Server

MiB = 1024 * 1024
# Small multipart settings so that a 12 MiB test file becomes three parts (5 + 5 + 2 MiB).
TEST_PART_SIZE = 5 * MiB
TEST_THRESHOLD = 5 * MiB

_bucket_numbers = itertools.count()


def new_bucket_name(prefix: str = "eakte-test") -> str:
    return f"{prefix}-{next(_bucket_numbers)}"


def make_s3_store(server: S3Server, *, lock_bucket: bool = False, **overrides: Any) -> S3BlobStore:
    """A store on a fresh bucket of `server` (with Object Lock if `lock_bucket`), so tests never share blobs."""
    settings = server.settings(
        new_bucket_name("eakte-lock" if lock_bucket else "eakte-test"),
        **({"multipart_threshold": TEST_THRESHOLD, "multipart_chunksize": TEST_PART_SIZE} | overrides),
    )
    store = S3BlobStore(settings)
    store.ensure_bucket(object_lock=lock_bucket)
    return store


class GeneratedStream(io.RawIOBase):
    """A non-seekable stream of `size` deterministic pseudo-random bytes that never exist in memory at once.

    Stores must cope with request bodies like this one: readable once, front to back, size unknown upfront.
    """

    def __init__(self, size: int, seed: int = 0, block: int = 64 * 1024) -> None:
        self._remaining = size
        self._rng = random.Random(seed)
        self._block = block
        self._buffer = b""
        self.digest = hashlib.sha256()  # of the bytes handed out so far

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer and self._remaining:
            n = min(self._block, self._remaining)
            self._buffer = self._rng.randbytes(n)
            self._remaining -= n
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self.digest.update(self._buffer[:n])
        self._buffer = self._buffer[n:]
        return n


def generated_bytes(size: int, seed: int = 0) -> bytes:
    return GeneratedStream(size, seed).read()


def corrupt(store: BlobStore, key: str, data: bytes) -> None:
    """Replace a stored blob's bytes behind the store's back, keeping its key."""
    if isinstance(store, LocalBlobStore):
        path = store.root / key
        path.chmod(0o644)
        path.write_bytes(data)
        path.chmod(0o444)
    elif isinstance(store, S3BlobStore):
        store.client.put_object(Bucket=store.bucket, Key=store.settings.key_prefix + key, Body=data)
    else:
        raise TypeError(store)


def expected_s3_checksum(data_digests: list[bytes]) -> str:
    """S3's SHA-256 checksum value: the digest itself for one part, the digest of the digests plus
    "-<parts>" for a multipart upload (a COMPOSITE checksum)."""
    if len(data_digests) == 1:
        return base64.b64encode(data_digests[0]).decode()
    combined = hashlib.sha256(b"".join(data_digests)).digest()
    return f"{base64.b64encode(combined).decode()}-{len(data_digests)}"


def part_digests(data: bytes, part_size: int) -> list[bytes]:
    return [hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)] or [
        hashlib.sha256(b"").digest()
    ]


def local_path(store: LocalBlobStore, key: str) -> Path:
    return store.root / key
