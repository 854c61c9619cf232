"""gc racing an upload of content that is already stored: the new version never ends up without its file.

A deduplicated put writes nothing (on S3 the blob's age is not even refreshed), so an unreferenced blob that is
old enough for gc can be deleted between the upload's store and its commit. Both orders are forced here, on the
local store and on S3 (moto), on SQLite and PostgreSQL; afterwards `storage verify` must be clean.
"""
from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from eakte import clock
from eakte.app import create_app
from eakte.config import StorageSettings
from eakte.runtime import Runtime
from eakte.services import documents, integrity
from storage import key_for
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case, pdf_bytes, upload

NO_GRACE = dt.timedelta(0)


@pytest.fixture(params=["local", "moto"])
def store_rt(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    storage = None
    if request.param == "moto":
        server = request.getfixturevalue("moto_s3")
        storage = StorageSettings(backend="s3", endpoint_url=server.endpoint_url, region=server.region,
                                  bucket=f"eakte-{uuid.uuid4().hex[:12]}", access_key=server.access_key,
                                  secret_key=server.secret_key, addressing_style="path")
    runtime = make_runtime(tmp_path, db_url, storage=storage)
    yield runtime
    runtime.close()


def _setup(rt: Runtime) -> tuple[Any, dict[str, str], int, bytes, str]:
    town = build_town(rt)
    client = create_app(rt).test_client()
    h = town.auth("anna")
    case = create_case(client, h)
    pdf = pdf_bytes("Doppelt eingereicht")
    # The same bytes are stored but referenced by nothing (left by an upload that crashed before its commit):
    # exactly what gc is there to remove, and what a new upload of that content deduplicates onto.
    orphan = rt.blobs.put(io.BytesIO(pdf))
    assert orphan.key == key_for(orphan.sha256)
    return client, h, case["id"], pdf, orphan.key


def _assert_intact(rt: Runtime, key: str) -> None:
    assert rt.blobs.exists(key)
    report = integrity.verify_storage(rt)
    assert report.ok and report.checked >= 1, (report.missing, report.corrupt)


def test_gc_between_store_and_commit_cannot_orphan_the_version(store_rt: Runtime, monkeypatch) -> None:
    rt = store_rt
    client, h, case_id, pdf, key = _setup(rt)
    original = documents.store_staged
    removed: list[str] = []

    def store_then_gc(runtime: Runtime, staged: documents.Staged):  # type: ignore[no-untyped-def]
        blob = original(runtime, staged)
        assert blob.created is False  # deduplicated onto the orphan
        removed.extend(integrity.collect_garbage(rt, OPERATOR, NO_GRACE).removed)
        return blob

    monkeypatch.setattr(documents, "store_staged", store_then_gc)
    resp = upload(client, h, case_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    assert removed == [key]  # gc did delete the blob in the window
    _assert_intact(rt, key)  # and the commit stored it again
    assert integrity.collect_garbage(rt, OPERATOR, NO_GRACE).removed == []  # now referenced: kept


def test_gc_during_the_commit_waits_and_then_keeps_the_blob(store_rt: Runtime, monkeypatch) -> None:
    rt = store_rt
    client, h, case_id, pdf, key = _setup(rt)
    reports: list[integrity.GcReport] = []
    gc = threading.Thread(target=lambda: reports.append(integrity.collect_garbage(rt, OPERATOR, NO_GRACE)))
    original = documents.indexing.document_changed

    def start_gc_inside_transaction(session, document_id):  # type: ignore[no-untyped-def]
        # The version row is written but not committed: gc must not decide on this key now.
        gc.start()
        time.sleep(1.0)
        assert gc.is_alive(), "gc did not wait for the upload's transaction"
        return original(session, document_id)

    monkeypatch.setattr(documents.indexing, "document_changed", start_gc_inside_transaction)
    resp = upload(client, h, case_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    gc.join(30)
    assert not gc.is_alive() and reports and reports[0].removed == []
    _assert_intact(rt, key)


def test_cli_storage_verify_is_clean_after_the_race(tmp_path: Path, db_url: str, monkeypatch) -> None:
    """The same race through the commands an operator runs."""
    from eakte.cli import main
    rt = make_runtime(tmp_path, db_url)
    env = {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": db_url,
           "EAKTE_JOBS__BACKEND": "immediate"}
    try:
        client, h, case_id, pdf, key = _setup(rt)
        original = documents.store_staged

        def store_then_gc(runtime: Runtime, staged: documents.Staged):  # type: ignore[no-untyped-def]
            blob = original(runtime, staged)
            gc = CliRunner().invoke(main, ["storage", "gc", "--grace-hours", "0"], env=env)
            assert gc.exit_code == 0 and f"removed: {key}" in gc.output, gc.output
            return blob

        monkeypatch.setattr(documents, "store_staged", store_then_gc)
        assert upload(client, h, case_id, pdf).status_code == 201
    finally:
        rt.close()
    verify = CliRunner().invoke(main, ["storage", "verify"], env=env)
    assert verify.exit_code == 0 and "All 1 blobs intact" in verify.output, verify.output


@pytest.mark.parametrize("store_rt", ["moto"], indirect=True)
def test_gc_aborts_abandoned_multipart_uploads(store_rt: Runtime) -> None:
    rt = store_rt
    client, bucket, name = rt.blobs.client, rt.blobs.bucket, key_for("ab" * 32)  # type: ignore[attr-defined]
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]  # a put that died midway
    client.upload_part(Bucket=bucket, Key=name, UploadId=upload_id, PartNumber=1, Body=b"x" * 1024)
    clock.set_clock(lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2))
    try:
        report = integrity.collect_garbage(rt, OPERATOR, dt.timedelta(hours=1))
    finally:
        clock.set_clock(None)
    assert report.temp_files_removed == 1
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_files_of_a_payment_export_are_kept_from_gc_too(store_rt: Runtime, monkeypatch) -> None:
    """integrity.store_referenced (used for the export's CSV and pain.001): a blob gc removes right after the
    put is stored again before the row that references it commits."""
    rt = store_rt
    data = b"Verwendungszweck;Betrag\nRE-1;336,90\n"
    rt.blobs.put(io.BytesIO(data))  # already stored, unreferenced: the put deduplicates
    store_class, gc_ran = type(rt.blobs), []
    original_put = store_class.put

    def put_then_gc(self, stream, **kw):  # type: ignore[no-untyped-def]
        ref = original_put(self, stream, **kw)
        if not gc_ran:
            gc_ran.append(integrity.collect_garbage(rt, OPERATOR, NO_GRACE).removed)
        return ref

    monkeypatch.setattr(store_class, "put", put_then_gc)
    with rt.db.write() as session:
        ref = integrity.store_referenced(rt, session, io.BytesIO(data))
    assert gc_ran == [[ref.key]] and rt.blobs.exists(ref.key)
