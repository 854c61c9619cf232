"""Check-out on the document page (issue 11 point 3): who has it since when, the buttons each person gets, the
notice instead of the upload form for colleagues, the badge on the case page; and the document kind checked at
upload with its German message at the field (point 6)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from eakte.models import Document, DocumentVersion
from eakte.services import identity
from tests.conftest import OPERATOR, Town
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import csrf_token, post_form

HOSTILE_NAME = "<script>alert(1)</script> Anna"


@pytest.fixture
def office(rt, town: Town) -> Town:  # type: ignore[no-untyped-def]
    """anton: a second clerk of the Kämmerei; hanna: its head. anna gets a hostile display name."""
    with rt.db.write() as session:
        for username, roles in [("anton", [("20", "clerk")]), ("hanna", [("20", "head_of_unit")])]:
            identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                 roles=[identity.UnitRole(u, r) for u, r in roles], known_roles=rt.registry.roles)
        identity.user_by_name(session, "anna").display_name = HOSTILE_NAME
    return town


def _document(client, town: Town) -> int:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    return upload(client, town.auth("anna"), case["id"], pdf_bytes()).get_json()["id"]


def _versions(rt, doc_id: int) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(DocumentVersion)
                               .where(DocumentVersion.document_id == doc_id)).scalar()


def _new_version(client, doc_id: int, endpoint: str = "versions"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/documents/{doc_id}")
    return client.post(f"/documents/{doc_id}/{endpoint}", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes("neu")), "neu.pdf")})


def test_check_out_shows_the_holder_refuses_colleagues_and_checks_in(client, signed_in, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc_id = _document(client, office)
    anna = signed_in("anna")
    page = anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Das Dokument ist nicht ausgecheckt." in page and ">Auschecken<" in page and "Neue Version hochladen" in page

    resp = post_form(anna, f"/documents/{doc_id}/checkout", token_from=f"/documents/{doc_id}")
    assert resp.status_code == 303
    page = anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Sie haben das Dokument ausgecheckt." in page
    assert "Ausgecheckt von &lt;script&gt;alert(1)&lt;/script&gt; Anna seit" in page and "<script>alert" not in page
    assert ">Einchecken<" in page and "Auschecken abbrechen" in page and "Neue Version hochladen" not in page
    assert "Sperre aufheben" not in page  # her own check-out: she cancels it

    anton = signed_in("anton")
    page = anton.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Ausgecheckt von &lt;script&gt;" in page
    assert "Eine neue Version kann erst hochgeladen werden, wenn &lt;script&gt;" in page
    assert "Neue Version hochladen" not in page and ">Auschecken<" not in page and ">Einchecken<" not in page
    assert "Sperre aufheben" not in page  # a clerk may not break it
    case_page = anton.get(f"/cases/{_case_id(rt, doc_id)}").get_data(as_text=True)
    assert "ausgecheckt von anna" in case_page

    # A colleague's upload (an old form, a script) is refused with the holder's name; nothing stored.
    refused = _new_version(anton, doc_id)
    assert refused.status_code == 303
    assert "ausgecheckt" in anton.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert _versions(rt, doc_id) == 1
    assert post_form(anton, f"/documents/{doc_id}/checkout/break",
                     token_from=f"/documents/{doc_id}").status_code == 403

    assert _new_version(anna, doc_id, "checkin").status_code == 303
    page = anna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Version 2 (neu.pdf) wurde eingecheckt; das Dokument ist wieder frei." in page
    assert "Das Dokument ist nicht ausgecheckt." in page and _versions(rt, doc_id) == 2
    assert "ausgecheckt von" not in anton.get(f"/cases/{_case_id(rt, doc_id)}").get_data(as_text=True)


def _case_id(rt, doc_id: int) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.get(Document, doc_id).case_id


def test_cancel_and_break_by_the_head_with_a_reason(client, signed_in, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc_id = _document(client, office)
    anna = signed_in("anna")
    post_form(anna, f"/documents/{doc_id}/checkout", token_from=f"/documents/{doc_id}")
    assert post_form(anna, f"/documents/{doc_id}/checkout/cancel",
                     token_from=f"/documents/{doc_id}").status_code == 303
    assert "Das Auschecken wurde abgebrochen" in anna.get(f"/documents/{doc_id}").get_data(as_text=True)

    post_form(anna, f"/documents/{doc_id}/checkout", token_from=f"/documents/{doc_id}")
    hanna = signed_in("hanna")
    page = hanna.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Sperre aufheben" in page and 'name="reason"' in page
    too_long = post_form(hanna, f"/documents/{doc_id}/checkout/break", {"reason": "x" * 501},
                         token_from=f"/documents/{doc_id}")
    assert too_long.status_code == 422
    html = too_long.get_data(as_text=True)
    assert 'id="checkout-reason-error"' in html and "höchstens 500 Zeichen" in html
    broke = post_form(hanna, f"/documents/{doc_id}/checkout/break", {"reason": "Krank"},
                      token_from=f"/documents/{doc_id}")
    assert broke.status_code == 303
    assert "Die Sperre wurde aufgehoben" in hanna.get(f"/documents/{doc_id}").get_data(as_text=True)
    with rt.db.read() as session:
        assert session.get(Document, doc_id).checked_out_by is None


def test_auditor_sees_the_state_but_gets_no_buttons(client, signed_in, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc_id = _document(client, office)
    rita = signed_in("rita")
    page = rita.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Das Dokument ist nicht ausgecheckt." in page and ">Auschecken<" not in page
    assert post_form(rita, f"/documents/{doc_id}/checkout", token_from=f"/documents/{doc_id}").status_code == 403
    olga = signed_in("olga")
    assert post_form(olga, f"/documents/{doc_id}/checkout", token_from="/cases/new").status_code == 404
    with rt.db.read() as session:
        assert session.get(Document, doc_id).checked_out_by is None


def test_checkout_needs_the_csrf_token(client, signed_in, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc_id = _document(client, office)
    assert signed_in("anna").post(f"/documents/{doc_id}/checkout").status_code == 400
    with rt.db.read() as session:
        assert session.get(Document, doc_id).checked_out_by is None


def test_upload_form_offers_the_declared_kinds_and_refuses_others_at_the_field(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id = create_case(client, town.auth("anna"))["id"]
    anna = signed_in("anna")
    page = anna.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'value="letter"' in page and ">Schreiben</option>" in page and ">Bescheid</option>" in page
    token = csrf_token(anna, f"/cases/{case_id}")
    resp = anna.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                     data={"csrf_token": token, "kind": "spreadsheet", "file": (io.BytesIO(pdf_bytes()), "a.pdf")})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'id="upload-kind-{case_id}-error"' in html
    assert "Diese Art von Dokument ist für diese Akte nicht vorgesehen; möglich sind: Dokument, Schreiben" in html
    assert 'aria-invalid="true"' in html
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar() == 0
    # The script's request gets the message as JSON.
    resp = anna.post(f"/cases/{case_id}/documents", headers={"Accept": "application/json"},
                     content_type="multipart/form-data",
                     data={"csrf_token": token, "kind": "spreadsheet", "file": (io.BytesIO(pdf_bytes()), "a.pdf")})
    assert resp.status_code == 422 and "nicht vorgesehen" in resp.get_json()["message"]
