"""Documents in the web interface: upload of several files (each on its own), versions, download, preview —
and the denials: other units, missing CSRF token, hostile names."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from eakte.models import Document, DocumentVersion
from tests.conftest import SQLITE_ONLY
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import csrf_token

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
      b"\x00" * 64 + b"PE\x00\x00L\x01\x03\x00" + b"\x00" * 200
HOSTILE = '"><script>.pdf'
# werkzeug's test client writes the name into the quoted header as it is; escaped, the server reads HOSTILE.
HOSTILE_ON_THE_WIRE = HOSTILE.replace('"', '\\"')
HOSTILE_TITLE = '"><script>alert(1)</script>'


def _count(rt, model) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


def _case(client, town, unit: str = "20", plan: str = "20.30") -> int:  # type: ignore[no-untyped-def]
    user = "anna" if unit == "20" else "olga"
    return create_case(client, town.auth(user), unit=unit, plan=plan)["id"]


def _post_files(client, case_id: int, files, token: str | None, **extra):  # type: ignore[no-untyped-def]
    data = {"file": [(io.BytesIO(b), name) for name, b in files], "kind": "document", **extra}
    if token:
        data["csrf_token"] = token
    return client.post(f"/cases/{case_id}/documents", data=data, content_type="multipart/form-data")


def _flashes(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/cases/new").get_data(as_text=True)  # any page shows (and clears) the flashed messages


def test_two_files_one_refused(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    token = csrf_token(anna, f"/cases/{case_id}")
    resp = _post_files(anna, case_id, [("bescheid.pdf", pdf_bytes()), ("x.exe", EXE), ("leer.txt", b"")], token)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    with rt.db.read() as session:
        [doc] = session.execute(select(Document)).scalars().all()
        assert doc.title == "bescheid.pdf" and doc.versions[0].mime_type == "application/pdf"
    page = _flashes(anna)
    assert "Die Datei bescheid.pdf wurde gespeichert." in page
    assert re.search(r"Die Datei x\.exe wurde nicht angenommen: Dateityp nicht zulässig", page)
    assert re.search(r"Die Datei leer\.txt wurde nicht angenommen: .*Datei ist leer", page)
    case_page = anna.get(f"/cases/{case_id}")
    assert case_page.status_code == 200 and "bescheid.pdf" in case_page.get_data(as_text=True)


def test_upload_answers_json_for_the_script(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    token = csrf_token(anna, f"/cases/{case_id}")
    resp = anna.post(f"/cases/{case_id}/documents", headers={"Accept": "application/json"},
                     data={"csrf_token": token, "kind": "letter", "title": "Antwortschreiben",
                           "file": (io.BytesIO(b"Sehr geehrte Damen und Herren"), "antwort.txt")},
                     content_type="multipart/form-data")
    assert resp.status_code == 200
    [result] = resp.get_json()["files"]
    assert result["ok"] and result["name"] == "antwort.txt" and result["document_url"].startswith("/documents/")
    with rt.db.read() as session:
        doc = session.execute(select(Document)).scalar_one()
        assert (doc.title, doc.kind) == ("Antwortschreiben", "letter")
    resp = anna.post(f"/cases/{case_id}/documents", headers={"Accept": "application/json"},
                     data={"csrf_token": token, "file": (io.BytesIO(EXE), "x.exe")}, content_type="multipart/form-data")
    [refused] = resp.get_json()["files"]
    assert not refused["ok"] and "x.exe wurde nicht angenommen" in refused["message"]


def test_other_unit_cannot_upload_or_download(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    doc_id = upload(anna, town.auth("anna"), case_id, pdf_bytes()).get_json()["id"]
    olga = signed_in("olga")
    token = csrf_token(olga, "/cases/new")
    resp = _post_files(olga, case_id, [("fremd.pdf", pdf_bytes())], token)
    assert resp.status_code == 404 and "Seite nicht gefunden" in resp.get_data(as_text=True)
    assert _count(rt, Document) == 1
    assert olga.get(f"/documents/{doc_id}/versions/1/download").status_code == 404
    assert olga.get(f"/documents/{doc_id}").status_code == 404
    assert olga.get(f"/documents/{doc_id}/preview").status_code == 404
    # bernd sees the case (approver in 20) but is no clerk: no upload, nothing stored
    bernd = signed_in("bernd")
    resp = _post_files(bernd, case_id, [("b.pdf", pdf_bytes())], csrf_token(bernd, f"/cases/{case_id}"))
    assert resp.status_code == 403
    assert _count(rt, Document) == 1


def test_upload_without_csrf_token_stores_nothing(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    resp = _post_files(anna, case_id, [("a.pdf", pdf_bytes())], None)
    assert resp.status_code == 400
    assert _count(rt, Document) == 0


def test_download_exact_bytes_and_safe_filename(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    data = pdf_bytes("Bescheid")
    token = csrf_token(anna, f"/cases/{case_id}")
    assert _post_files(anna, case_id, [(HOSTILE_ON_THE_WIRE, data)], token, title=HOSTILE_TITLE).status_code == 303
    with rt.db.read() as session:
        doc_id, filename = session.execute(select(Document.id, DocumentVersion.filename).join(
            DocumentVersion, DocumentVersion.document_id == Document.id)).one()
    assert filename == HOSTILE
    resp = anna.get(f"/documents/{doc_id}/versions/1/download")
    assert resp.status_code == 200 and resp.data == data
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"")
    ascii_part = re.match(r'attachment; filename="([^"]*)"', disposition).group(1)
    # the quoted name cannot end the header's quoting or add a parameter; the exact name travels percent-encoded
    assert not set(ascii_part) & set('"\\;\r\n') and disposition.endswith("filename*=UTF-8''%22%3E%3Cscript%3E.pdf")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert anna.get(f"/documents/{doc_id}/versions/2/download").status_code == 404
    # the document page escapes the hostile title and file name
    page = anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;script&gt;.pdf" in page or "&quot;&gt;&lt;script&gt;.pdf" in page
    assert "<details" in page and re.search(r"[0-9a-f]{64}", page)
    assert f'/documents/{doc_id}/versions/1/download' in page and 'name="csrf_token"' in page


def test_new_version_and_frozen_reason(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    first = pdf_bytes("v1")
    doc_id = upload(anna, town.auth("anna"), case_id, first).get_json()["id"]
    token = csrf_token(anna, f"/documents/{doc_id}")
    resp = anna.post(f"/documents/{doc_id}/versions", data={"csrf_token": token,
                     "file": (io.BytesIO(b"zweite Fassung"), "v2.txt")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    page = anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Version 2 (v2.txt) wurde gespeichert." in page
    assert anna.get(f"/documents/{doc_id}/versions/2/download").data == b"zweite Fassung"
    assert anna.get(f"/documents/{doc_id}/versions/1/download").data == first
    # a refused version says why and stores nothing
    resp = anna.post(f"/documents/{doc_id}/versions", data={"csrf_token": token,
                     "file": (io.BytesIO(EXE), "v3.exe")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert "Die neue Version wurde nicht angenommen: Dateityp nicht zulässig" in \
        anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert _count(rt, DocumentVersion) == 2
    # without the token: nothing
    assert anna.post(f"/documents/{doc_id}/versions", data={"file": (io.BytesIO(b"x"), "x.txt")},
                     content_type="multipart/form-data").status_code == 400
    assert _count(rt, DocumentVersion) == 2


def test_preview_pdf_inline_and_text(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    pdf_id = upload(anna, town.auth("anna"), case_id, pdf_bytes()).get_json()["id"]
    txt_id = upload(anna, town.auth("anna"), case_id, "Widerspruch <b>fristgerecht</b> eingelegt".encode(),
                    filename="notiz.txt").get_json()["id"]
    page = anna.get(f"/documents/{pdf_id}/preview").get_data(as_text=True)
    src = re.search(r'<iframe[^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert src.endswith("inline=1")
    inline = anna.get(src)
    assert inline.status_code == 200 and inline.mimetype == "application/pdf" and inline.data[:5] == b"%PDF-"
    assert inline.headers["Content-Disposition"].startswith("inline; ")
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    assert inline.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert inline.headers["X-Frame-Options"] == "SAMEORIGIN"
    text_page = anna.get(f"/documents/{txt_id}/preview").get_data(as_text=True)
    assert "Widerspruch &lt;b&gt;fristgerecht&lt;/b&gt; eingelegt" in text_page and "<iframe" not in text_page
    # a text file is never served inline, even when asked
    forced = anna.get(f"/documents/{txt_id}/versions/1/download?inline=1")
    assert forced.headers["Content-Disposition"].startswith("attachment; ") and forced.data.startswith(b"Widerspruch")
    assert forced.headers["Content-Security-Policy"].startswith("sandbox")


def test_upload_form_partial_on_the_case_page(signed_in, town) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case_id = _case(anna, town)
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/cases/%d/documents"[^>]*>.*?</form>' % case_id, page, re.S)
    assert form, page[:3000]
    html = form.group(0)
    assert 'enctype="multipart/form-data"' in html or 'enctype="multipart/form-data"' in page
    assert re.search(r'<input[^>]*name="file"[^>]*type="file"[^>]*multiple', html, re.S)
    assert 'name="kind"' in html and 'aria-live="polite"' in html
    assert "/static/upload.js" in page
