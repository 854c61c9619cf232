"""What only the local file-system store promises: layout, permissions, atomicity, crash leftovers."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import stat
import threading
from pathlib import Path

import pytest

from storage import LocalBlobStore, Retention, key_for
from tests.storage.helpers import GeneratedStream, MiB


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def test_blob_lives_at_its_key_and_is_read_only(local: LocalBlobStore) -> None:
    ref = local.put(io.BytesIO(b"Bescheid"))

    path = local.root / key_for(hashlib.sha256(b"Bescheid").hexdigest())
    assert path.read_bytes() == b"Bescheid"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert ref.key == path.relative_to(local.root).as_posix()


def test_put_leaves_no_temp_files(local: LocalBlobStore) -> None:
    local.put(io.BytesIO(b"one"))
    local.put(io.BytesIO(b"one"))  # the deduplicated temp file is discarded too

    assert list((local.root / "tmp").iterdir()) == []


def test_existing_blob_is_never_rewritten(local: LocalBlobStore) -> None:
    ref = local.put(io.BytesIO(b"first"))
    path = local.root / ref.key
    inode = path.stat().st_ino

    again = local.put(io.BytesIO(b"first"))

    assert not again.created
    assert path.stat().st_ino == inode


def test_retention_is_accepted_and_ignored(local: LocalBlobStore) -> None:
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    ref = local.put(io.BytesIO(b"x"), retention=Retention(mode="COMPLIANCE", until=until, legal_hold=True))
    local.delete(ref.key)
    assert not local.exists(ref.key)


class _FailingStream(io.RawIOBase):
    """A client that disconnects after sending some bytes."""

    def __init__(self, good: int) -> None:
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            raise ConnectionResetError("client went away")
        n = min(len(target), self._left)
        target[:n] = b"x" * n
        self._left -= n
        return n


def test_failed_put_leaves_nothing(local: LocalBlobStore) -> None:
    with pytest.raises(ConnectionResetError):
        local.put(_FailingStream(3 * MiB))  # type: ignore[arg-type]

    assert list(local.iter_blobs()) == []
    assert list((local.root / "tmp").iterdir()) == []


def test_cleanup_temp_removes_only_old_leftovers(local: LocalBlobStore) -> None:
    tmp = local.root / "tmp"
    old = tmp / "put-crashed.part"
    old.write_bytes(b"half an upload")
    an_hour_ago = (dt.datetime.now() - dt.timedelta(hours=1)).timestamp()
    os.utime(old, (an_hour_ago, an_hour_ago))
    fresh = tmp / "put-running.part"
    fresh.write_bytes(b"still uploading")

    assert local.cleanup_temp(older_than=dt.timedelta(minutes=10)) == 1

    assert not old.exists() and fresh.exists()
    assert local.cleanup_temp(older_than=dt.timedelta(minutes=10)) == 0


def test_concurrent_puts_of_the_same_content_create_it_once(local: LocalBlobStore) -> None:
    data = GeneratedStream(2 * MiB, seed=9).read()
    results = []
    barrier = threading.Barrier(6)

    def put() -> None:
        barrier.wait()
        results.append(local.put(io.BytesIO(data)))

    threads = [threading.Thread(target=put) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.created for r in results) == [False] * 5 + [True]
    assert len({r.key for r in results}) == 1
    local.verify(results[0].key)


def test_iter_blobs_ignores_stray_files(local: LocalBlobStore) -> None:
    ref = local.put(io.BytesIO(b"real"))
    (local.root / "sha256" / "README").write_text("not a blob")
    (local.root / "sha256" / "ab").mkdir(exist_ok=True)
    (local.root / "sha256" / "ab" / "notes.txt").write_text("not a blob either")

    assert [i.key for i in local.iter_blobs()] == [ref.key]


def test_store_reopens_existing_root(tmp_path: Path) -> None:
    ref = LocalBlobStore(tmp_path).put(io.BytesIO(b"persisted"))

    reopened = LocalBlobStore(tmp_path)

    assert reopened.exists(ref.key)
    assert not reopened.put(io.BytesIO(b"persisted")).created
