"""The whole path over a real S3 server (HTTP): upload, dedupe, download, verify and gc, on moto and SeaweedFS;
with Object Lock on SeaweedFS, which enforces it."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid

import pytest

from eakte.app import create_app
from eakte.config import StorageSettings
from eakte.services import integrity
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case, pdf_bytes, upload


def _s3_runtime(tmp_path, server, **lock):  # type: ignore[no-untyped-def]
    settings = StorageSettings(backend="s3", endpoint_url=server.endpoint_url, region=server.region,
                               bucket=f"eakte-{uuid.uuid4().hex[:12]}", access_key=server.access_key,
                               secret_key=server.secret_key, addressing_style="path",
                               multipart_threshold_mb=5, multipart_chunksize_mb=5, **lock)
    return make_runtime(tmp_path, f"sqlite:///{tmp_path / 'eakte.db'}", storage=settings)


@pytest.mark.parametrize("server_name", ["moto", pytest.param("seaweedfs", marks=pytest.mark.seaweedfs)])
def test_records_on_s3(tmp_path, request, server_name) -> None:
    server = request.getfixturevalue(f"{server_name}_s3")
    rt = _s3_runtime(tmp_path, server)
    try:
        town = build_town(rt)
        client = create_app(rt).test_client()
        h = town.auth("anna")
        case = create_case(client, h)
        pdf = pdf_bytes("S3")
        big = b"II*\x00\x08\x00\x00\x00" + bytes(range(256)) * (12 * 4096)  # 12 MB TIFF: multipart upload
        first = upload(client, h, case["id"], pdf).get_json()
        again = upload(client, h, case["id"], pdf, title="Kopie").get_json()
        assert again["deduplicated"] is True and again["version"]["sha256"] == first["version"]["sha256"]
        got = client.get(f"/api/v1/documents/{first['id']}/content", headers=h)
        assert got.status_code == 200 and got.data == pdf
        large = upload(client, h, case["id"], big, filename="scan.tif", title="Groß")
        assert large.status_code == 201, large.get_json()
        assert large.get_json()["version"]["sha256"] == hashlib.sha256(big).hexdigest()
        got_large = client.get(f"/api/v1/documents/{large.get_json()['id']}/content", headers=h)
        assert hashlib.sha256(got_large.data).hexdigest() == hashlib.sha256(big).hexdigest()
        assert len(list(rt.blobs.iter_blobs())) == 2
        assert integrity.verify_storage(rt).ok
        orphan = rt.blobs.put(io.BytesIO(b"unreferenced"))
        report = integrity.collect_garbage(rt, OPERATOR, dt.timedelta(0))
        assert report.removed == [orphan.key]
        assert integrity.verify_storage(rt).ok
    finally:
        rt.close()


@pytest.mark.seaweedfs
def test_object_lock_protects_stored_versions(tmp_path, seaweedfs_s3) -> None:
    rt = _s3_runtime(tmp_path, seaweedfs_s3, object_lock_mode="COMPLIANCE", object_lock_days=1)
    try:
        town = build_town(rt)
        client = create_app(rt).test_client()
        h = town.auth("anna")
        case = create_case(client, h)
        pdf = pdf_bytes("Gesperrt")
        doc = upload(client, h, case["id"], pdf).get_json()
        key = f"sha256/{doc['version']['sha256'][:2]}/{doc['version']['sha256'][2:4]}/{doc['version']['sha256']}"
        from storage import BlobLocked
        with pytest.raises(BlobLocked):
            rt.blobs.delete(key)
        assert hashlib.sha256(client.get(f"/api/v1/documents/{doc['id']}/content", headers=h).data).hexdigest() \
            == doc["version"]["sha256"]
    finally:
        rt.close()
