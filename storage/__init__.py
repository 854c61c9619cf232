"""Blob storage: content-addressed bytes of document versions, on a local file system or S3."""
from .base import (
    BlobCorrupt,
    BlobInfo,
    BlobLocked,
    BlobNotFound,
    BlobRef,
    BlobStore,
    BlobStoreError,
    RECORDS_PREFIX,
    Retention,
    key_for,
    parse_key,
    parse_record_name,
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
    "RECORDS_PREFIX",
    "Retention",
    "S3BlobStore",
    "S3Settings",
    "key_for",
    "parse_key",
    "parse_record_name",
    "sha256_from_key",
]
