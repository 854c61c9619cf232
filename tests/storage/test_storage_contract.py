"""The BlobStore contract, run against every backend: local, S3 on moto, S3 on SeaweedFS."""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest

from storage import BlobCorrupt, BlobNotFound, BlobStore, S3BlobStore, key_for
from tests.storage.helpers import (
    TEST_PART_SIZE,
    GeneratedStream,
    MiB,
    corrupt,
    expected_s3_checksum,
    generated_bytes,
    part_digests,
)


def test_satisfies_protocol(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


def test_put_open_round_trip(store: BlobStore) -> None:
    data = generated_bytes(300_000, seed=1)
    ref = store.put(io.BytesIO(data))

    sha = hashlib.sha256(data).hexdigest()
    assert (ref.key, ref.sha256, ref.size, ref.created) == (key_for(sha), sha, len(data), True)
    with store.open(ref.key) as f:
        assert f.read() == data
    assert store.exists(ref.key)


def test_open_streams_in_pieces(store: BlobStore) -> None:
    data = generated_bytes(100_000, seed=2)
    ref = store.put(io.BytesIO(data))
    f = store.open(ref.key)
    try:
        pieces = []
        while piece := f.read(4096):
            assert len(piece) <= 4096
            pieces.append(piece)
    finally:
        f.close()
    assert b"".join(pieces) == data


def test_identical_content_is_stored_once(store: BlobStore) -> None:
    data = b"the same letter, filed twice"
    first = store.put(io.BytesIO(data))
    second = store.put(io.BytesIO(data))

    assert first.created and not second.created
    assert (second.key, second.sha256, second.size) == (first.key, first.sha256, first.size)
    assert [info.key for info in store.iter_blobs()] == [first.key]


def test_empty_stream(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(b""))

    assert ref.sha256 == hashlib.sha256(b"").hexdigest()
    assert ref.size == 0 and ref.created
    with store.open(ref.key) as f:
        assert f.read() == b""
    store.verify(ref.key)


def test_large_stream_above_multipart_threshold(store: BlobStore) -> None:
    size = 12 * MiB  # with the test settings: S3 parts of 5 + 5 + 2 MiB
    stream = GeneratedStream(size, seed=3)
    ref = store.put(stream)  # type: ignore[arg-type]

    assert ref.size == size and ref.sha256 == stream.digest.hexdigest()
    digest = hashlib.sha256()
    with store.open(ref.key) as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == ref.sha256
    store.verify(ref.key)

    if isinstance(store, S3BlobStore):
        data = generated_bytes(size, seed=3)
        head = store.client.head_object(Bucket=store.bucket, Key=ref.key, ChecksumMode="ENABLED")
        assert head["ETag"].strip('"').endswith("-3"), "uploaded as three parts"
        expected = expected_s3_checksum(part_digests(data, TEST_PART_SIZE))
        # moto omits the "-<parts>" suffix of a composite checksum that AWS and SeaweedFS return.
        assert head["ChecksumSHA256"].split("-")[0] == expected.split("-")[0]


def test_single_part_upload_stores_sha256_checksum(s3_store: S3BlobStore) -> None:
    data = b"checksum me"
    ref = s3_store.put(io.BytesIO(data))

    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key=ref.key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == expected_s3_checksum([hashlib.sha256(data).digest()])


def test_exists_and_delete(store: BlobStore) -> None:
    keep = store.put(io.BytesIO(b"keep"))
    ref = store.put(io.BytesIO(b"delete me"))
    assert store.exists(ref.key)

    store.delete(ref.key)

    assert not store.exists(ref.key)
    assert store.exists(keep.key)
    with pytest.raises(BlobNotFound):
        store.open(ref.key)
    store.delete(ref.key)  # deleting a missing blob is not an error
    # After a delete the same content can be stored again.
    assert store.put(io.BytesIO(b"delete me")).created


def test_verify_passes_for_intact_blob(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(b"intact"))
    store.verify(ref.key)


def test_verify_detects_corruption(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(b"original bytes"))
    corrupt(store, ref.key, b"tampered bytes")

    with pytest.raises(BlobCorrupt):
        store.verify(ref.key)


def test_verify_detects_missing_blob(store: BlobStore) -> None:
    ref = store.put(io.BytesIO(b"soon gone"))
    store.delete(ref.key)

    with pytest.raises(BlobNotFound):
        store.verify(ref.key)


def test_iter_blobs_lists_what_was_put(store: BlobStore) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    refs = {store.put(io.BytesIO(f"document {i}".encode())) for i in range(5)}

    infos = list(store.iter_blobs())

    assert {(i.key, i.size) for i in infos} == {(r.key, r.size) for r in refs}
    for info in infos:
        assert info.modified.utcoffset() == dt.timedelta(0)
        assert before <= info.modified <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)


def test_iter_blobs_of_empty_store(store: BlobStore) -> None:
    assert list(store.iter_blobs()) == []


def test_open_missing_key_raises(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.open(key_for(hashlib.sha256(b"never stored").hexdigest()))
    assert not store.exists(key_for(hashlib.sha256(b"never stored").hexdigest()))


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "sha256/../../x",
        "sha256/00/00/" + hashlib.sha256(b"x").hexdigest(),  # fan-out does not match the hash
        key_for(hashlib.sha256(b"x").hexdigest()).upper(),
        "",
    ],
)
def test_malformed_keys_are_refused(store: BlobStore, key: str) -> None:
    for operation in (store.open, store.exists, store.delete, store.verify):
        with pytest.raises(ValueError):
            operation(key)
