"""put, open and verify stream: memory stays at a few chunks however large the blob.

Measured with tracemalloc (Python allocations in this process), so the S3 variant needs a server in another
process: moto keeps its objects in this process's memory and would be counted.
"""
from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import LocalBlobStore
from storage.base import BlobStore
from tests.s3_servers import S3Server
from tests.storage.helpers import TEST_PART_SIZE, GeneratedStream, MiB, make_s3_store

BLOB_SIZE = 64 * MiB
# A part in flight plus read buffers and botocore's bookkeeping; far below the blob's size.
PEAK_LIMIT = 3 * TEST_PART_SIZE


@pytest.fixture(
    params=[pytest.param("local", id="local"), pytest.param("seaweedfs", id="seaweedfs", marks=pytest.mark.seaweedfs)]
)
def big_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("seaweedfs_s3")
    # Spool to disk from the first megabyte, as in production.
    return make_s3_store(server, spool_dir=str(tmp_path))


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _peak_during(action: object) -> int:
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    action()  # type: ignore[operator]
    _, peak = tracemalloc.get_traced_memory()
    return peak - base


def test_large_blob_in_bounded_memory(big_store: BlobStore, traced: None) -> None:
    stream = GeneratedStream(BLOB_SIZE, seed=11)
    refs = []

    put_peak = _peak_during(lambda: refs.append(big_store.put(stream)))  # type: ignore[arg-type]
    (ref,) = refs
    assert ref.size == BLOB_SIZE and ref.sha256 == stream.digest.hexdigest()

    verify_peak = _peak_during(lambda: big_store.verify(ref.key))

    assert put_peak < PEAK_LIMIT, f"put used {put_peak / MiB:.1f} MiB for a {BLOB_SIZE // MiB} MiB blob"
    assert verify_peak < PEAK_LIMIT, f"verify used {verify_peak / MiB:.1f} MiB"
