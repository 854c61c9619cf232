"""The clerk's path through the API: case, upload, dedupe, rejection, download, audit."""
from __future__ import annotations

import hashlib
import io

from sqlalchemy import func, select

from eakte.models import Document, DocumentVersion, ExtractedText
from tests.helpers import create_case, pdf_bytes, upload

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
      b"\x00" * 64 + b"PE\x00\x00L\x01\x03\x00" + b"\x00" * 200


def _blob_files(rt):  # type: ignore[no-untyped-def]
    return sorted(p for p in rt.settings.local_blob_path.joinpath("sha256").rglob("*") if p.is_file())


def test_upload_download_dedupe_and_audit(client, town, rt) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    assert case["reference"].startswith("20.30/0001/")
    pdf = pdf_bytes("Rechnung RE-1")

    first = upload(client, h, case["id"], pdf, filename="Rechnung März ü.pdf")
    assert first.status_code == 201, first.get_json()
    doc = first.get_json()
    assert doc["version"]["number"] == 1
    assert doc["version"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert doc["version"]["size"] == len(pdf)
    assert doc["version"]["mime_type"] == "application/pdf"
    assert doc["version"]["filename"] == "Rechnung März ü.pdf"
    assert doc["version"]["text_status"] == "pending"  # extracted by a job (run inline in tests)
    assert doc["deduplicated"] is False
    settled = client.get(f"/api/v1/documents/{doc['id']}", headers=h).get_json()
    assert settled["versions"][0]["text_status"] == "done"

    # The same bytes again, as a new document and as a new version: stored once.
    again = upload(client, h, case["id"], pdf, title="Kopie")
    assert again.status_code == 201 and again.get_json()["deduplicated"] is True
    version = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=h,
                          data={"file": (io.BytesIO(pdf), "neu.pdf")}, content_type="multipart/form-data")
    assert version.status_code == 201, version.get_json()
    assert version.get_json()["version"]["number"] == 2
    assert [v["number"] for v in version.get_json()["versions"]] == [1, 2]
    assert len(_blob_files(rt)) == 1

    # Download: byte-identical, right headers, ETag, conditional request.
    resp = client.get(f"/api/v1/documents/{doc['id']}/content?version=1", headers=h)
    assert resp.status_code == 200
    assert resp.data == pdf
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["ETag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    assert "filename*=UTF-8''Rechnung%20M%C3%A4rz%20%C3%BC.pdf" in resp.headers["Content-Disposition"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    not_modified = client.get(f"/api/v1/documents/{doc['id']}/content", headers={
        **h, "If-None-Match": resp.headers["ETag"]})
    assert not_modified.status_code == 304

    # Every step is in the case's audit trail.
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=h).get_json()["items"]
    actions = [e["action"] for e in trail]
    assert actions == ["case.create", "document.create", "document.create", "document.add_version",
                       "document.download", "document.download"]
    assert all(e["actor"] == "anna" for e in trail)
    assert trail[1]["details"]["sha256"] == hashlib.sha256(pdf).hexdigest()

    with rt.db.read() as session:
        text = session.execute(select(ExtractedText.text)).scalars().first()
    assert "Widerspruchsfrist" in text


def test_disguised_executable_is_rejected_and_nothing_stored(client, town, rt) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    resp = upload(client, h, case["id"], EXE, filename="rechnung.pdf", content_type="application/pdf")
    assert resp.status_code == 415
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.get_json()
    assert "not allowed" in body["detail"] and body["status"] == 415
    assert _blob_files(rt) == []
    assert list(rt.tmp_dir.iterdir()) == []
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar() == 0


def test_content_contradicting_claim_is_rejected(client, town, rt) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
           b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    resp = upload(client, h, case["id"], png, filename="scan.pdf", content_type="application/pdf")
    assert resp.status_code == 415, resp.get_json()
    assert "image/png" in resp.get_json()["detail"]
    ok = upload(client, h, case["id"], png, filename="scan.png", content_type="image/png")
    assert ok.status_code == 201 and ok.get_json()["version"]["text_status"] == "unsupported"


def test_empty_and_oversized_files(client, town, rt) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    empty = upload(client, h, case["id"], b"", filename="leer.txt")
    assert empty.status_code == 422 and "empty" in empty.get_json()["detail"]
    missing = client.post(f"/api/v1/cases/{case['id']}/documents", headers=h, data={"title": "x"},
                          content_type="multipart/form-data")
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "file"
    assert _blob_files(rt) == []


def test_size_limit(tmp_path, db_url) -> None:
    from eakte.app import create_app
    from tests.conftest import build_town, make_runtime
    rt = make_runtime(tmp_path, db_url, max_size_mb=1)
    try:
        town = build_town(rt)
        client = create_app(rt).test_client()
        h = town.auth("anna")
        case = create_case(client, h)
        big = b"Zeile mit Text\n" * 80_000  # ~1.2 MB, over the 1 MB limit, under the request limit
        resp = upload(client, h, case["id"], big, filename="gross.txt")
        assert resp.status_code == 413
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert _blob_files(rt) == []
    finally:
        rt.close()


def test_encrypted_pdf_is_stored_and_flagged(client, town, rt) -> None:
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt("geheim")
    out = io.BytesIO()
    writer.write(out)
    h = town.auth("anna")
    case = create_case(client, h)
    resp = upload(client, h, case["id"], out.getvalue(), filename="verschluesselt.pdf")
    assert resp.status_code == 201
    settled = client.get(f"/api/v1/documents/{resp.get_json()['id']}", headers=h).get_json()
    assert settled["versions"][0]["text_status"] == "encrypted"
    got = client.get(f"/api/v1/documents/{resp.get_json()['id']}/content", headers=h)
    assert got.data == out.getvalue()


def test_unknown_document_and_version(client, town) -> None:
    h = town.auth("anna")
    assert client.get("/api/v1/documents/999", headers=h).status_code == 404
    case = create_case(client, h)
    doc = upload(client, h, case["id"], pdf_bytes()).get_json()
    resp = client.get(f"/api/v1/documents/{doc['id']}/content?version=7", headers=h)
    assert resp.status_code == 404 and resp.headers["Content-Type"] == "application/problem+json"
    bad = client.get(f"/api/v1/documents/{doc['id']}/content?version=abc", headers=h)
    assert bad.status_code == 422


def test_closed_case_takes_no_documents(client, town, rt) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=h).status_code == 200
    resp = upload(client, h, case["id"], pdf_bytes())
    assert resp.status_code == 409
    assert _blob_files(rt) == []
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(DocumentVersion)).scalar() == 0
