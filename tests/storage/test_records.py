"""Named records beside the blobs (audit checkpoints live there): write-once, listed in name order, never
among the blobs that gc sees, and under Object Lock where the store has it."""
from __future__ import annotations

import pytest

from storage import BlobNotFound, ObjectLockDefaults, S3BlobStore
from storage.base import BlobStore
from tests.s3_servers import S3Server
from tests.storage.helpers import make_s3_store


def test_records_round_trip_in_name_order(store: BlobStore) -> None:
    assert store.list_records("audit-checkpoints") == []
    for name in ["b.json", "a.json", "c.json"]:
        assert store.put_record(f"audit-checkpoints/{name}", name.encode()) is True
    store.put_record("other/x.json", b"x")
    assert store.list_records("audit-checkpoints") == [f"audit-checkpoints/{n}" for n in ("a.json", "b.json", "c.json")]
    assert store.list_records("audit-checkpoints", limit=2) == ["audit-checkpoints/a.json", "audit-checkpoints/b.json"]
    assert store.read_record("audit-checkpoints/b.json") == b"b.json"
    with pytest.raises(BlobNotFound):
        store.read_record("audit-checkpoints/missing.json")


def test_records_are_write_once(store: BlobStore) -> None:
    assert store.put_record("audit-checkpoints/one.json", b"first") is True
    assert store.put_record("audit-checkpoints/one.json", b"forged") is False
    assert store.read_record("audit-checkpoints/one.json") == b"first"


def test_records_are_not_blobs(store: BlobStore) -> None:
    store.put_record("audit-checkpoints/one.json", b"{}")
    assert list(store.iter_blobs()) == []  # so gc, which deletes only from iter_blobs, never touches them


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a//b", "a/../b", "", ".hidden", "a b"])
def test_bad_record_names_are_refused(store: BlobStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.put_record(name, b"x")
    with pytest.raises(ValueError):
        store.read_record(name)


@pytest.mark.seaweedfs
def test_records_are_locked_where_the_store_locks(seaweedfs_s3: S3Server) -> None:
    store: S3BlobStore = make_s3_store(seaweedfs_s3, lock_bucket=True,
                                       object_lock=ObjectLockDefaults(mode="COMPLIANCE", days=1))
    store.put_record("audit-checkpoints/one.json", b"{}")
    name = store.settings.key_prefix + "records/audit-checkpoints/one.json"
    head = store.client.head_object(Bucket=store.bucket, Key=name)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    version = head["VersionId"]
    with pytest.raises(Exception):
        store.client.delete_object(Bucket=store.bucket, Key=name, VersionId=version)
    assert store.read_record("audit-checkpoints/one.json") == b"{}"
