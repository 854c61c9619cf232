"""S3 behaviour beyond the shared contract, on moto (generic S3 semantics; no signature checks)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pytest

from storage import BlobLocked, BlobStoreError, ObjectLockDefaults, Retention, S3BlobStore, S3Settings, key_for
from tests.s3_servers import S3Server
from tests.storage.helpers import GeneratedStream, MiB, make_s3_store, new_bucket_name


def _tomorrow(days: int = 1) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)


def test_prefix_places_objects_in_a_folder(moto_s3: S3Server) -> None:
    store = make_s3_store(moto_s3, prefix="/eakte/blobs")
    ref = store.put(io.BytesIO(b"in a folder"))

    assert ref.key.startswith("sha256/")
    names = [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert names == [f"eakte/blobs/{ref.key}"]
    assert [i.key for i in store.iter_blobs()] == [ref.key]
    store.verify(ref.key)


def test_iter_blobs_ignores_foreign_objects(moto_store: S3BlobStore) -> None:
    ref = moto_store.put(io.BytesIO(b"ours"))
    for name in ("sha256/", "sha256/ab/readme.txt", "other/file", "sha256/00/11/" + "0" * 64):
        moto_store.client.put_object(Bucket=moto_store.bucket, Key=name, Body=b"")

    assert [i.key for i in moto_store.iter_blobs()] == [ref.key]


def test_ensure_bucket_is_idempotent(moto_s3: S3Server) -> None:
    store = S3BlobStore(moto_s3.settings(new_bucket_name()))
    store.ensure_bucket()
    store.ensure_bucket()
    assert not store.object_lock_enabled()


def test_ensure_bucket_refuses_existing_bucket_without_object_lock(moto_s3: S3Server) -> None:
    store = make_s3_store(moto_s3)
    with pytest.raises(BlobStoreError, match="without Object Lock"):
        store.ensure_bucket(object_lock=True)


def test_ensure_bucket_with_object_lock(moto_s3: S3Server) -> None:
    store = make_s3_store(moto_s3, lock_bucket=True)
    assert store.object_lock_enabled()
    assert store.client.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"


def test_ensure_bucket_outside_us_east_1(moto_s3: S3Server) -> None:
    store = S3BlobStore(moto_s3.settings(new_bucket_name(), region="eu-central-1"))
    store.ensure_bucket()
    location = store.client.get_bucket_location(Bucket=store.bucket)["LocationConstraint"]
    assert location == "eu-central-1"


def test_missing_bucket_is_a_store_error(moto_s3: S3Server) -> None:
    store = S3BlobStore(moto_s3.settings("no-such-bucket-here"))
    with pytest.raises(BlobStoreError):
        store.put(io.BytesIO(b"nowhere to go"))


def test_delete_in_versioned_bucket_removes_every_version(moto_s3: S3Server) -> None:
    store = make_s3_store(moto_s3)
    client, bucket = store.client, store.bucket
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ref = store.put(io.BytesIO(b"versioned"))
    client.delete_object(Bucket=bucket, Key=ref.key)  # someone else's plain delete: only a delete marker
    assert store.put(io.BytesIO(b"versioned")).created  # hidden by the marker, so stored again

    store.delete(ref.key)

    listing = client.list_object_versions(Bucket=bucket, Prefix=ref.key)
    assert listing.get("Versions", []) == [] and listing.get("DeleteMarkers", []) == []
    assert not store.exists(ref.key)


def test_locked_version_survives_delete(moto_s3: S3Server) -> None:
    store = make_s3_store(moto_s3, lock_bucket=True)
    ref = store.put(io.BytesIO(b"retained"), retention=Retention(mode="COMPLIANCE", until=_tomorrow()))

    with pytest.raises(BlobLocked):
        store.delete(ref.key)

    assert store.exists(ref.key)
    with store.open(ref.key) as f:
        assert f.read() == b"retained"


def test_default_object_lock_from_settings(moto_s3: S3Server) -> None:
    lock = ObjectLockDefaults(mode="GOVERNANCE", days=3, legal_hold=True)
    store = make_s3_store(moto_s3, lock_bucket=True, object_lock=lock)
    ref = store.put(io.BytesIO(b"default retention"))

    head = store.client.head_object(Bucket=store.bucket, Key=ref.key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    assert _tomorrow(2) < head["ObjectLockRetainUntilDate"] < _tomorrow(4)


def test_failed_multipart_upload_is_aborted(moto_store: S3BlobStore) -> None:
    calls = []

    def fail_second_part(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["PartNumber"])
        if params["PartNumber"] == 2:
            raise ConnectionError("network gone")

    moto_store.client.meta.events.register("provide-client-params.s3.UploadPart", fail_second_part)
    try:
        with pytest.raises(ConnectionError):
            moto_store.put(GeneratedStream(12 * MiB, seed=4))  # type: ignore[arg-type]
    finally:
        moto_store.client.meta.events.unregister("provide-client-params.s3.UploadPart", fail_second_part)

    assert calls == [1, 2]
    assert moto_store.client.list_multipart_uploads(Bucket=moto_store.bucket).get("Uploads", []) == []
    assert list(moto_store.iter_blobs()) == []


def test_retention_needs_mode_and_aware_date(moto_store: S3BlobStore) -> None:
    with pytest.raises(ValueError):
        moto_store.put(io.BytesIO(b"x"), retention=Retention(mode="COMPLIANCE"))
    with pytest.raises(ValueError):
        moto_store.put(io.BytesIO(b"x"), retention=Retention(mode="FOREVER", until=_tomorrow()))
    with pytest.raises(ValueError):
        moto_store.put(io.BytesIO(b"x"), retention=Retention(mode="GOVERNANCE", until=dt.datetime(2099, 1, 1)))


@pytest.mark.parametrize(
    "overrides",
    [
        {"addressing_style": "sideways"},
        {"access_key": "only-half"},
        {"multipart_chunksize": 1 * MiB},
        {"multipart_threshold": 0},
    ],
)
def test_settings_are_validated(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        S3Settings(bucket="b", **overrides)


def test_object_lock_defaults_are_validated() -> None:
    with pytest.raises(ValueError):
        ObjectLockDefaults(mode="COMPLIANCE", days=0)
    with pytest.raises(ValueError):
        ObjectLockDefaults(mode="PERMANENT", days=1)  # type: ignore[arg-type]
    assert ObjectLockDefaults(legal_hold=True).retention() == Retention(legal_hold=True)


def test_key_prefix_normalisation() -> None:
    assert S3Settings(bucket="b").key_prefix == ""
    assert S3Settings(bucket="b", prefix="a/b").key_prefix == "a/b/"
    assert S3Settings(bucket="b", prefix="/a/b/").key_prefix == "a/b/"


def test_existing_object_with_other_bytes_is_not_overwritten(moto_store: S3BlobStore) -> None:
    # Deduplication trusts the key: verify(), not put(), is what finds such damage.
    key = key_for(hashlib.sha256(b"genuine").hexdigest())
    moto_store.client.put_object(Bucket=moto_store.bucket, Key=key, Body=b"impostor")

    assert not moto_store.put(io.BytesIO(b"genuine")).created
    with moto_store.open(key) as f:
        assert f.read() == b"impostor"
