from __future__ import annotations

from pathlib import Path

import pytest

from storage import LocalBlobStore, S3BlobStore
from storage.base import BlobStore
from tests.s3_servers import S3Server
from tests.storage.helpers import make_s3_store


S3_BACKENDS = [
    pytest.param("moto", id="moto"),
    pytest.param("seaweedfs", id="seaweedfs", marks=pytest.mark.seaweedfs),
]
BACKENDS = [pytest.param("local", id="local"), *S3_BACKENDS]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The same contract tests run against every backend."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue(f"{request.param}_s3")
    return make_s3_store(server)


@pytest.fixture(params=S3_BACKENDS)
def s3_store(request: pytest.FixtureRequest) -> S3BlobStore:
    """S3 behaviour that moto and SeaweedFS must both show."""
    server: S3Server = request.getfixturevalue(f"{request.param}_s3")
    return make_s3_store(server)


@pytest.fixture
def moto_store(moto_s3: S3Server) -> S3BlobStore:
    return make_s3_store(moto_s3)


@pytest.fixture
def seaweedfs_store(seaweedfs_s3: S3Server) -> S3BlobStore:
    return make_s3_store(seaweedfs_s3)


@pytest.fixture
def seaweedfs_lock_store(seaweedfs_s3: S3Server) -> S3BlobStore:
    """A store on a fresh SeaweedFS bucket created with Object Lock (hence versioning) enabled."""
    return make_s3_store(seaweedfs_s3, lock_bucket=True)
