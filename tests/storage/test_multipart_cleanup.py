"""Multipart uploads that were never completed (a put killed midway) are aborted once older than the grace
period; younger ones (maybe still running) and uploads outside the store's prefix are left alone."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from storage import S3BlobStore, key_for

HOUR = dt.timedelta(hours=1)


def _open_uploads(store: S3BlobStore) -> list[str]:
    return sorted(u["Key"] for u in store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []))


def _abandon(store: S3BlobStore, name: str) -> None:
    """What a put leaves behind when it dies after uploading a part."""
    upload_id = store.client.create_multipart_upload(Bucket=store.bucket, Key=name)["UploadId"]
    store.client.upload_part(Bucket=store.bucket, Key=name, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)


def test_abandoned_multipart_uploads_are_aborted_after_the_grace_period(s3_store: S3BlobStore) -> None:
    blob_name = s3_store.settings.key_prefix + key_for(hashlib.sha256(b"never finished").hexdigest())
    _abandon(s3_store, blob_name)
    _abandon(s3_store, "someone-else/backup.tar")  # another user of a shared bucket
    assert _open_uploads(s3_store) == sorted([blob_name, "someone-else/backup.tar"])

    later = dt.datetime.now(dt.timezone.utc) + 2 * HOUR
    assert s3_store.cleanup_temp(HOUR, now=later) == 1
    assert _open_uploads(s3_store) == ["someone-else/backup.tar"]
    assert s3_store.cleanup_temp(HOUR, now=later) == 0


@pytest.mark.seaweedfs
def test_young_multipart_uploads_are_kept(seaweedfs_store: S3BlobStore) -> None:
    # SeaweedFS only: moto reports a fixed "Initiated" date in 2010 for every upload.
    blob_name = seaweedfs_store.settings.key_prefix + key_for(hashlib.sha256(b"still running").hexdigest())
    _abandon(seaweedfs_store, blob_name)
    assert seaweedfs_store.cleanup_temp(HOUR) == 0  # just begun: it may still be running
    assert _open_uploads(seaweedfs_store) == [blob_name]
