"""Blob storage: content-addressed bytes of document versions, on a local file system or S3."""
from .base import (
    BlobCorrupt,
    BlobInfo,
    BlobLocked,
    BlobNotFound,
    BlobRef,
    BlobStore,
    BlobStoreError,
    Retention,
    key_for,
    parse_key,
    sha256_from_key,
)
from .local import LocalBlobStore
from .s3 import ObjectLockDefaults, S3BlobStore, S3Settings

__all__ = [
    "BlobCorrupt",
    "BlobInfo",
    "BlobLocked",
    "BlobNotFound",
    "BlobRef",
    "BlobStore",
    "BlobStoreError",
    "LocalBlobStore",
    "ObjectLockDefaults",
    "Retention",
    "S3BlobStore",
    "S3Settings",
    "key_for",
    "parse_key",
    "sha256_from_key",
]
