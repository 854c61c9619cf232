"""Procedures in the web interface: the case page's tree and its form, the procedure page (upload into it, rename,
close/reopen), moving a document from its page — and the denials (other unit, auditor, missing CSRF token),
hostile titles escaped."""
from __future__ import annotations

import io

from sqlalchemy import select

from eakte.models import Document, Procedure
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import csrf_token, post_form

HOSTILE = '"><script>alert(1)</script>'


def _procedure(rt, case_id: int) -> Procedure:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(Procedure).where(Procedure.case_id == case_id)
                               .order_by(Procedure.id.desc())).scalars().first()


def test_open_procedure_upload_into_it_and_move_back(signed_in, town, rt, client) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    case = create_case(client, town.auth("anna"))
    page = anna.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Vorgang anlegen" in page and "Vorgänge und Teilakten" in page

    empty = post_form(anna, f"/cases/{case['id']}/procedures", {"title": "  "}, token_from=f"/cases/{case['id']}")
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.get_data(as_text=True)

    made = post_form(anna, f"/cases/{case['id']}/procedures", {"title": HOSTILE}, token_from=f"/cases/{case['id']}")
    assert made.status_code == 303
    proc = _procedure(rt, case["id"])
    assert made.headers["Location"].endswith(f"/procedures/{proc.id}") and proc.reference == case["reference"] + "-1"
    shown = anna.get(f"/procedures/{proc.id}").get_data(as_text=True)
    assert "Aktenzeichen des Vorgangs" in shown and proc.reference in shown
    assert HOSTILE not in shown and "&lt;script&gt;" in shown

    token = csrf_token(anna, f"/procedures/{proc.id}")
    sent = anna.post(f"/cases/{case['id']}/documents", content_type="multipart/form-data",
                     data={"csrf_token": token, "kind": "document", "procedure_id": str(proc.id),
                           "file": [(io.BytesIO(pdf_bytes()), "bescheid.pdf")]})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/procedures/{proc.id}")
    with rt.db.read() as session:
        doc = session.execute(select(Document)).scalars().one()
    assert doc.procedure_id == proc.id
    assert "bescheid.pdf" in anna.get(f"/procedures/{proc.id}").get_data(as_text=True)
    tree = anna.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert proc.reference in tree and "bescheid.pdf" in tree

    doc_page = anna.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Dokument verschieben" in doc_page and "Akte (ohne Vorgang)" in doc_page
    moved = post_form(anna, f"/documents/{doc.id}/move", {"procedure_id": "case"}, token_from=f"/documents/{doc.id}")
    assert moved.status_code == 303
    with rt.db.read() as session:
        assert session.get(Document, doc.id).procedure_id is None
    assert "Abgelegt auf Ebene der Akte." in anna.get(f"/documents/{doc.id}").get_data(as_text=True)

    closed = post_form(anna, f"/procedures/{proc.id}", {"status": "closed"})
    assert closed.status_code == 303
    after = anna.get(f"/procedures/{proc.id}").get_data(as_text=True)
    assert "Vorgang wieder öffnen" in after and "Dokument hochladen" not in after
    renamed = post_form(anna, f"/procedures/{proc.id}", {"title": "Widerspruch"})
    assert renamed.status_code == 303 and _procedure(rt, case["id"]).title == "Widerspruch"


def test_denials(signed_in, town, rt, client) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    proc = client.post(f"/api/v1/cases/{case['id']}/procedures", json={"title": "Mahnung"},
                       headers=town.auth("anna")).get_json()
    doc = upload(client, town.auth("anna"), case["id"], pdf_bytes()).get_json()
    olga, rita = signed_in("olga"), signed_in("rita")
    assert olga.get(f"/procedures/{proc['id']}").status_code == 404
    audit_view = rita.get(f"/procedures/{proc['id']}")
    assert audit_view.status_code == 200 and "Vorgang abschließen" not in audit_view.get_data(as_text=True)
    assert "Vorgang anlegen" not in rita.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert post_form(rita, f"/cases/{case['id']}/procedures", {"title": "x"},
                     token_from=f"/cases/{case['id']}").status_code == 403
    assert post_form(rita, f"/documents/{doc['id']}/move", {"procedure_id": str(proc["id"])},
                     token_from=f"/documents/{doc['id']}").status_code == 403
    anna = signed_in("anna")
    no_token = anna.post(f"/cases/{case['id']}/procedures", data={"title": "x"})
    assert no_token.status_code == 400
    with rt.db.read() as session:
        assert session.execute(select(Procedure)).scalars().all().__len__() == 1
