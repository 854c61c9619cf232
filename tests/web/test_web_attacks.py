"""Attacks on the web interface, by an insider who wants to cheat and by an outsider: seeing other units' cases,
changing what one may only read, skipping the workflow's rules, CSRF, session fixation, open redirects, XSS,
user files rendered in our origin, odd input, rate-limit bypasses. Each test asserts the attack FAILS."""
from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from eakte.clock import office_today
from eakte.models import AuditEvent, Case, Deputy, Document, DocumentVersion, Task
from eakte.services import identity, workflow
from eakte.services.access import Actor
from eakte.services.logins import session_principal  # noqa: F401 - the session rows are the service's
from tests.conftest import OPERATOR, SQLITE_ONLY
from tests.helpers import create_case, pdf_bytes, upload as api_upload
from tests.web.conftest import PASSWORD, csrf_token, log_in, post_form
from tests.web.invoice_town import (XR, decide, inbox_rows, invoice_town, reference_of, rt,  # noqa: F401
                                    task_of, upload)

SECRET = "GEHEIM-Kaemmerei-Vorgang"
SECRET_DOC = "GEHEIM-Dokument-Kaemmerei"
XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
# werkzeug's test client writes a file name into the quoted header as it is: without the double quote.
FILE_XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
RAW_XSS = ("<script>alert(1)", "<img src=x onerror")


def _count(rt, model) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


def _text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _no_raw_xss(text: str) -> None:
    for raw in RAW_XSS:
        assert raw not in text


def _anna_case(client, town, title: str = SECRET) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A unit-20 case with one PDF document: (case id, document id)."""
    case_id = create_case(client, town.auth("anna"), title=title)["id"]
    resp = api_upload(client, town.auth("anna"), case_id, pdf_bytes(), filename="geheim.pdf", title=SECRET_DOC)
    assert resp.status_code == 201, resp.get_json()
    return case_id, resp.get_json()["id"]


# --- access: no trace of another unit's case --------------------------------------------------------------

def test_olga_sees_no_trace_of_a_unit_20_case(app, client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id, doc_id = _anna_case(client, town)
    olga = signed_in("olga")
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/audit", f"/cases/{case_id}/close",
                 f"/documents/{doc_id}", f"/documents/{doc_id}/preview", f"/documents/{doc_id}/preview?version=1",
                 f"/documents/{doc_id}/preview?version=2", f"/documents/{doc_id}/versions/1/download",
                 f"/documents/{doc_id}/versions/1/download?inline=1", f"/documents/{doc_id}/versions/0/download",
                 f"/documents/{doc_id}/versions/99/download", f"/invoices/{case_id}/fields"):
        for headers in ({}, {"HX-Request": "true"}):
            resp = olga.get(path, headers=headers)
            assert resp.status_code == 404, path
            assert SECRET not in _text(resp) and SECRET_DOC not in _text(resp) and "%PDF" not in _text(resp)
    # Lists and counts: nothing of it, however filtered.
    for path in ("/", "/inbox", "/cases", "/cases?unit=20", "/cases?q=GEHEIM", "/cases?file_plan_code=20.30",
                 "/cases?reference=20.30", "/cases?status=open&unit=20", "/file-plan"):
        resp = olga.get(path)
        assert resp.status_code == 200, path
        assert SECRET not in _text(resp) and SECRET_DOC not in _text(resp), path
    # Posting to it: refused before anything is read or stored, and nothing changes.
    before = (_count(rt, Document), _count(rt, DocumentVersion))
    token = csrf_token(olga, "/cases")
    up = olga.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                   data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "x.pdf")})
    ver = olga.post(f"/documents/{doc_id}/versions", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes("v2")), "x.pdf")})
    close = olga.post(f"/cases/{case_id}/close", data={"csrf_token": token})
    fields = olga.post(f"/invoices/{case_id}/fields", data={"csrf_token": token, "seller_name": "x"})
    assert (up.status_code, ver.status_code, close.status_code, fields.status_code) == (404, 404, 404, 404)
    for resp in (up, ver, close, fields):
        assert SECRET not in _text(resp)
    assert (_count(rt, Document), _count(rt, DocumentVersion)) == before
    with rt.db.read() as session:
        assert session.get(Case, case_id).status == "open"


def test_the_downloaded_bytes_are_not_reached_through_any_other_id(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    """Guessing: neighbouring ids and version numbers of an invisible document are all 404, never 403 (which
    would say that the id exists)."""
    _case_id, doc_id = _anna_case(client, town)
    olga = signed_in("olga")
    statuses = {olga.get(f"/documents/{i}/versions/{n}/download").status_code
                for i in (doc_id - 1, doc_id, doc_id + 1) for n in (1, 2)}
    assert statuses == {404}


def test_outsider_sees_no_trace_of_an_invoice_task(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna, paul = signed_in("anna"), signed_in("paul")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    reference = reference_of(anna.get(resp.headers["Location"]))
    with rt.db.read() as session:
        case_id = session.get(Task, task_id).case_id
    for path in (f"/tasks/{task_id}", f"/invoices/{case_id}/fields", f"/cases/{case_id}"):
        for headers in ({}, {"HX-Request": "true"}):
            page = paul.get(path, headers=headers)
            assert page.status_code == 404 and reference not in _text(page), path
    token = csrf_token(paul, "/inbox")
    for action in ("claim", "release", "decide"):
        for headers in ({}, {"HX-Request": "true"}):
            resp = paul.post(f"/tasks/{task_id}/{action}", headers=headers,
                             data={"csrf_token": token, "decision": "forward", "confirm": "1"})
            assert resp.status_code == 404 and reference not in _text(resp), action
    for path in ("/", "/inbox", "/inbox?case_type=invoice", "/cases?case_type=invoice"):
        assert reference not in _text(paul.get(path)), path
    assert task_id in inbox_rows(anna)  # still open, unclaimed
    with rt.db.read() as session:
        assert session.get(Task, task_id).claimed_by is None


# --- an auditor reads, never changes ------------------------------------------------------------------------

def test_the_auditor_can_change_nothing(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id, doc_id = _anna_case(client, town)
    rita = signed_in("rita")
    assert rita.get(f"/cases/{case_id}").status_code == 200  # the auditor reads every case
    before = (_count(rt, Document), _count(rt, DocumentVersion))
    token = csrf_token(rita, f"/cases/{case_id}")
    up = rita.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                   data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "x.pdf")})
    ver = rita.post(f"/documents/{doc_id}/versions", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes("v2")), "x.pdf")})
    close = rita.post(f"/cases/{case_id}/close", data={"csrf_token": token})
    new = rita.post("/cases/new", data={"csrf_token": token, "case_type": "general", "title": "x",
                                        "unit": "20", "file_plan_code": "20.30"})
    assert up.status_code == 403 and ver.status_code == 403 and close.status_code == 403
    assert new.status_code in (403, 422)
    assert (_count(rt, Document), _count(rt, DocumentVersion)) == before
    with rt.db.read() as session:
        assert session.get(Case, case_id).status == "open"
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 1


def test_the_auditor_cannot_decide_claim_or_type_invoice_fields(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna, rita = signed_in("anna"), signed_in("rita")
    resp = upload(anna, content=pdf_bytes("Rechnung 4711"), name="scan.pdf")
    fields_path = resp.headers["Location"]
    case_id = int(fields_path.split("/")[2])
    assert rita.get(fields_path).status_code == 200  # she may look
    saved = post_form(rita, fields_path, {"invoice_number": "R-EVIL"}, token_from="/inbox")
    assert saved.status_code == 403
    with rt.db.read() as session:
        assert "invoice_number" not in session.get(Case, case_id).metadata_
        [task] = session.execute(select(Task).where(Task.case_id == case_id)).scalars().all()
    token = csrf_token(rita, "/inbox")
    for action in ("claim", "decide"):
        resp = rita.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token, "decision": "reject",
                                                              "comment": "nein", "confirm": "1"})
        assert resp.status_code == 403, action
    with rt.db.read() as session:
        task = session.get(Task, task.id)
        assert task.status == "open" and task.claimed_by is None


# --- invoice intake and fields ---------------------------------------------------------------------------

def test_a_non_clerk_of_the_receipt_unit_cannot_take_in_invoices(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    for name in ("olga", "bernd", "rita", "paul"):
        client = signed_in(name)
        assert client.get("/invoices/intake").status_code == 403, name
        token = csrf_token(client, "/inbox")
        resp = client.post("/invoices/intake", content_type="multipart/form-data",
                           data={"csrf_token": token,
                                 "file": (io.BytesIO((XR / "01.01a-INVOICE_ubl.xml").read_bytes()), "r.xml")})
        assert resp.status_code == 403, name
    assert _count(rt, Case) == 0


def _paper_invoice(anna) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    resp = upload(anna, content=pdf_bytes("Rechnung 4711"), name="scan.pdf")
    path = resp.headers["Location"]
    saved = post_form(anna, path, {"invoice_number": "R-4711", "issue_date": "2026-11-02",
                                   "seller_name": "Büro Müller", "currency": "EUR", "total_gross": "119.00",
                                   "amount_due": "119.00", "iban": "DE89370400440532013000", "ordering_unit": "32"})
    assert saved.status_code == 303, _text(saved)[:3000]
    return path, int(path.split("/")[2])


def test_read_only_fields_cannot_be_set_by_extra_form_keys(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    path, case_id = _paper_invoice(anna)
    resp = post_form(anna, path, {"invoice_number": "R-4711", "source": "xrechnung-ubl",
                                  "checks": '[{"rule": "x", "ok": true}]', "metadata.source": "xrechnung-ubl",
                                  "skonto": "[]", "status": "closed", "unit": "10"})
    assert resp.status_code in (303, 422)
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case.metadata_.get("source") == "paper"
        assert "checks" not in case.metadata_ or case.metadata_["checks"] != [{"rule": "x", "ok": True}]
        assert case.status == "open" and case.unit.code == "20"


def test_e_invoice_fields_read_from_the_xml_cannot_be_overwritten(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with rt.db.read() as session:
        case = session.get(Task, task_id).case
        case_id, iban, total = case.id, case.metadata_.get("iban"), case.metadata_.get("amount_due")
    resp = post_form(anna, f"/invoices/{case_id}/fields",
                     {"iban": "DE02120300000000202051", "amount_due": "99999.00"})
    assert resp.status_code in (303, 409, 422)
    with rt.db.read() as session:
        md = session.get(Case, case_id).metadata_
        assert (md.get("iban"), md.get("amount_due")) == (iban, total)


def test_fields_are_frozen_after_sachlich_richtig(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna, otto = signed_in("anna"), signed_in("otto")
    path, case_id = _paper_invoice(anna)
    with rt.db.read() as session:
        reference = session.get(Case, case_id).reference
    assert decide(anna, task_of(anna, reference), "forward").status_code == 303
    assert decide(otto, task_of(otto, reference), "approve").status_code == 303
    resp = post_form(anna, path, {"invoice_number": "R-4711", "issue_date": "2026-11-02", "seller_name": "Betrug GmbH",
                                  "currency": "EUR", "total_gross": "9119.00", "amount_due": "9119.00",
                                  "iban": "DE02120300000000202051", "ordering_unit": "32"})
    assert resp.status_code in (303, 409, 422)
    with rt.db.read() as session:
        md = session.get(Case, case_id).metadata_
    assert md["amount_due"] in ("119.00", "119") and md["iban"] == "DE89370400440532013000"
    assert md["seller_name"] == "Büro Müller"


# --- deciding ----------------------------------------------------------------------------------------------

def test_deciding_twice_decides_once(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(anna, f"/tasks/{task_id}")
    data = {"csrf_token": token, "decision": "forward", "confirm": "1"}
    first = anna.post(f"/tasks/{task_id}/decide", data=data)
    second = anna.post(f"/tasks/{task_id}/decide", data=data)
    assert first.status_code == 303
    assert second.status_code in (409, 422), second.status_code
    with rt.db.read() as session:
        case_id = session.get(Task, task_id).case_id
        done = session.execute(select(func.count()).select_from(Task).where(
            Task.case_id == case_id, Task.status == "done")).scalar()
        steps = session.execute(select(func.count()).select_from(Task).where(Task.case_id == case_id)).scalar()
    assert done == 1 and steps == 2  # one decision, one next step: not two sachlich tasks


@SQLITE_ONLY
@pytest.mark.parametrize("key", ["approve", "__class__", "", "forward ", "FORWARD", "x" * 10_000])
def test_a_decision_not_offered_is_refused(signed_in, invoice_town, rt, key) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp = decide(anna, task_id, key, comment="Begründung")
    assert resp.status_code == 422
    with rt.db.read() as session:
        assert session.get(Task, task_id).status == "open"


def test_a_giant_comment_is_a_form_error(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    resp = decide(anna, task_id, "reject", comment="x" * 200_000)
    assert resp.status_code == 422 and 'id="comment-error"' in _text(resp)
    for invisible in ("\u00a0\u200b \t\n", "\u200b", "\u2060\ufeff", "\u200e"):  # no visible reason
        resp = decide(anna, task_id, "reject", comment=invisible)
        assert resp.status_code == 422, repr(invisible)
    with rt.db.read() as session:
        assert session.get(Task, task_id).status == "open"


def test_a_user_who_only_sees_a_task_cannot_decide_it(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    """bernd (approver of unit 20) sees the receipt task's case (his unit) but the step is for clerks."""
    anna, bernd = signed_in("anna"), signed_in("bernd")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert bernd.get(f"/tasks/{task_id}").status_code == 200
    resp = decide(bernd, task_id, "forward")
    assert resp.status_code == 403
    claim = post_form(bernd, f"/tasks/{task_id}/claim", token_from="/inbox")
    assert claim.status_code == 403
    with rt.db.read() as session:
        task = session.get(Task, task_id)
        assert task.status == "open" and task.claimed_by is None


# --- deputies -------------------------------------------------------------------------------------------

def _deputy(client, username: str, starts: dt.date, ends: dt.date):  # type: ignore[no-untyped-def]
    return post_form(client, "/deputies", {"username": username, "starts_on": starts.isoformat(),
                                           "ends_on": ends.isoformat()})


def test_no_deputy_from_another_unit_nor_for_someone_else(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    today = office_today()
    resp = _deputy(anna, "olga", today, today + dt.timedelta(days=3))
    assert resp.status_code == 422
    # An extra "user" or "for_user" key does not make it someone else's list.
    resp = post_form(anna, "/deputies", {"username": "bernd", "starts_on": today.isoformat(),
                                         "ends_on": today.isoformat(), "user": "olga", "for_user": "olga"})
    assert resp.status_code == 303
    with rt.db.read() as session:
        rows = session.execute(select(Deputy.user_id, Deputy.deputy_id)).all()
    assert rows == [(town.user_ids["anna"], town.user_ids["bernd"])]


def test_nobody_ends_someone_elses_deputy(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna, bernd = signed_in("anna"), signed_in("bernd")
    today = office_today()
    assert _deputy(bernd, "anna", today, today + dt.timedelta(days=3)).status_code == 303
    # anna is bernd's deputy: she tries to end that appointment (bernd's, not hers) from her page.
    resp = post_form(anna, "/deputies/end", {"username": "anna", "starts_on": today.isoformat()},
                     token_from="/deputies")
    assert resp.status_code == 404
    bad_date = post_form(anna, "/deputies/end", {"username": "bernd", "starts_on": "31.02.2026"},
                         token_from="/deputies")
    assert bad_date.status_code == 404
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Deputy)).scalar() == 1


def _admin_appoints(rt, town, absent: str, deputy: str, days: int = 5) -> None:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        from eakte.models import User
        admin = session.execute(select(User).where(User.username == "admin")).scalar_one()
        from eakte.services.access import load_principal
        principal = load_principal(session, admin, rt.registry.restricted)
    today = office_today()
    workflow.set_deputies(rt, Actor(principal), [workflow.DeputyPeriod(deputy, today, today + dt.timedelta(days=days))],
                          for_user=absent)


def test_a_user_cannot_erase_or_narrow_an_admin_appointed_deputy(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    """The admin made olga (Ordnungsamt) anna's deputy across units. anna adding her own colleague must neither
    fail because of it, nor silently turn the admin's appointment into her own (narrower) one, nor drop it."""
    _admin_appoints(rt, town, "anna", "olga")
    anna = signed_in("anna")
    today = office_today()
    resp = _deputy(anna, "bernd", today, today + dt.timedelta(days=2))
    assert resp.status_code == 303, _text(resp)[:2000]
    with rt.db.read() as session:
        rows = {(d, by_admin) for d, by_admin in session.execute(
            select(Deputy.deputy_id, Deputy.by_admin).where(Deputy.user_id == town.user_ids["anna"])).all()}
    assert rows == {(town.user_ids["olga"], True), (town.user_ids["bernd"], False)}
    # Ending her own appointment leaves the admin's as the admin made it.
    ended = post_form(anna, "/deputies/end", {"username": "bernd", "starts_on": today.isoformat()},
                      token_from="/deputies")
    assert ended.status_code == 303
    with rt.db.read() as session:
        rows = session.execute(select(Deputy.deputy_id, Deputy.by_admin)).all()
    assert rows == [(town.user_ids["olga"], True)]


# --- CSRF, session, cookies, redirects -----------------------------------------------------------------------

def _post_rules(app) -> list[str]:  # type: ignore[no-untyped-def]
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.rule.startswith("/api/"):
            continue
        paths.append(re.sub(r"<(?:int:)?\w+>", "1", rule.rule))
    return sorted(set(paths))


def test_every_page_post_needs_the_csrf_token(app, client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    _anna_case(client, town)
    anna = signed_in("anna")
    paths = _post_rules(app)
    assert {"/login", "/logout", "/language", "/cases/1/documents", "/deputies"} <= set(paths)
    audit_before = _count(rt, AuditEvent)
    others = csrf_token(signed_in("olga"), "/")
    audit_before = _count(rt, AuditEvent)
    for path in paths:
        for token in (None, "wrong", others):  # missing, made up, another session's
            data: dict[str, Any] = {"username": "anna", "password": PASSWORD, "decision": "forward", "confirm": "1",
                                    "locale": "en", "starts_on": "2026-12-01", "ends_on": "2026-12-02"}
            if token:
                data["csrf_token"] = token
            resp = anna.post(path, data=data)
            assert resp.status_code == 400, (path, token, resp.status_code)
    assert _count(rt, AuditEvent) == audit_before
    assert _count(rt, Document) == 1
    assert anna.get("/").status_code == 200  # still signed in: /logout without a token did nothing


def test_login_needs_the_csrf_token_and_replaces_the_session(app, web, town) -> None:  # type: ignore[no-untyped-def]
    assert web.post("/login", data={"username": "anna", "password": PASSWORD}).status_code == 400
    assert web.get("/").status_code == 302  # not signed in
    web.get("/login")
    before = web.get_cookie("eakte_session")
    assert before is not None
    assert log_in(web, "anna").status_code == 303
    after = web.get_cookie("eakte_session")
    assert after.value != before.value
    # The cookie from before the login (an attacker's planted one) is no session.
    planted = app.test_client()
    planted.set_cookie("eakte_session", before.value)
    assert planted.get("/").status_code == 302
    # Cookie flags.
    assert after.http_only and after.same_site == "Lax"


def test_logout_ends_only_ones_own_session_and_the_old_cookie_is_dead(app, signed_in, town) -> None:  # type: ignore[no-untyped-def]
    anna, olga = signed_in("anna"), signed_in("olga")
    stolen = anna.get_cookie("eakte_session").value
    assert post_form(anna, "/logout", token_from="/").status_code == 303
    assert olga.get("/").status_code == 200
    replay = app.test_client()
    replay.set_cookie("eakte_session", stolen)
    assert replay.get("/").status_code == 302


EVIL_NEXT = ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
             "/\n/evil.example", " //evil.example", "http:evil.example", "/%2F%2Fevil.example", "javascript:alert(1)",
             "/\x00/evil.example", "///evil.example", "/\r\n/evil.example"]


def _local(location: str) -> bool:
    # What a browser would do with it: it drops tabs and newlines, and reads a backslash as a slash.
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").lstrip()
    return (cleaned.startswith("/") and not cleaned.startswith("//")) or cleaned.startswith("http://localhost/")


@SQLITE_ONLY
@pytest.mark.parametrize("target", EVIL_NEXT)
def test_no_open_redirect_through_next(web, signed_in, invoice_town, target) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(web, "/login")
    resp = web.post("/login", data={"csrf_token": token, "username": "anna", "password": PASSWORD, "next": target})
    assert _no_redirect_away(resp)
    page_with_form = "/" if resp.status_code == 303 else "/login"  # signed in, or the login was refused
    resp = web.get("/login", query_string={"next": target})
    assert resp.status_code < 500 and _local(resp.headers.get("Location", "/")), resp.headers.get("Location")
    resp = post_form(web, "/language", {"locale": "de", "next": target}, token_from=page_with_form)
    assert _no_redirect_away(resp)
    anna = signed_in("anna")
    task_id = int(upload(anna, XR / "01.01a-INVOICE_ubl.xml").headers["Location"].rsplit("/", 1)[1])
    for action in ("claim", "release"):
        resp = post_form(anna, f"/tasks/{task_id}/{action}", {"next": target}, token_from="/inbox")
        assert _no_redirect_away(resp)


def _no_redirect_away(resp: Any) -> bool:
    """A form's `next` leads back into the site, or (a NUL in it) the form is refused as input."""
    if resp.status_code == 422:
        return "enthält ein unzulässiges Zeichen" in resp.get_data(as_text=True)
    return resp.status_code == 303 and _local(resp.headers["Location"])


# --- XSS ------------------------------------------------------------------------------------------------

def test_hostile_strings_come_out_escaped_everywhere(app, client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR, "eve", password=PASSWORD, display_name=XSS,
                             roles=[identity.UnitRole("20", "clerk")])
    eve = signed_in("eve")
    case_id = create_case(client, town.auth("anna"), title=XSS)["id"]
    token = csrf_token(eve, f"/cases/{case_id}")
    name = FILE_XSS + ".txt"
    resp = eve.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                    data={"csrf_token": token, "title": XSS, "file": (io.BytesIO(b"Text " + XSS.encode()), name)})
    assert resp.status_code == 303
    flashed = eve.get("/cases").get_data(as_text=True)  # the flash names the file
    _no_raw_xss(flashed)
    bad = eve.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                   data={"csrf_token": token, "file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), FILE_XSS + ".exe")})
    assert bad.status_code == 303
    _no_raw_xss(_text(eve.get("/cases")))  # the refusal's flash names the file too
    with rt.db.read() as session:
        doc_id = session.execute(select(Document.id)).scalar_one()
    # A comment on a decision and a deputy name are checked by the task/deputy tests; here the pages of data.
    for path in ("/", "/cases", f"/cases?q={XSS}", f"/cases/{case_id}", f"/cases/{case_id}/audit",
                 f"/cases/{case_id}/close", f"/documents/{doc_id}", f"/documents/{doc_id}/preview", "/inbox",
                 "/deputies", "/file-plan", f"/cases?reference={XSS}&unit={XSS}&status={XSS}",
                 f"/inbox?case_type={XSS}&sort={XSS}", f"/cases/new?case_type={XSS}"):
        page = eve.get(path)
        assert page.status_code in (200, 422), path
        _no_raw_xss(_text(page))
    deputy = post_form(eve, "/deputies", {"username": XSS, "starts_on": "2026-12-01", "ends_on": "2026-12-02"})
    _no_raw_xss(_text(deputy))
    ended = post_form(eve, "/deputies/end", {"username": XSS, "starts_on": "2026-12-01"}, token_from="/deputies")
    _no_raw_xss(_text(ended))


def test_a_nul_character_in_any_web_form_is_a_clear_refusal(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses NUL in text: every page's form is refused before its view runs (a 500 before), on
    every form alike, with the German message, and nothing is written."""
    anna = signed_in("anna")
    case_id = create_case(client, town.auth("anna"), title="Akte")["id"]
    token = csrf_token(anna, f"/cases/{case_id}")
    with rt.db.read() as session:
        before = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    posts = [
        anna.post("/cases/new", data={"csrf_token": token, "title": "a\x00b", "file_plan_code": "20.30"}),
        anna.post(f"/cases/{case_id}/notes", data={"csrf_token": token, "text": "Notiz\x00"}),
        anna.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
                  data={"csrf_token": token, "title": "Titel",
                        "file": (io.BytesIO(b"Text"), "no\x00tiz.txt")}),
        anna.post("/deputies", data={"csrf_token": token, "username": "x\x00"}),
        anna.post(f"/cases/{case_id}/notes", data={"csrf_token": token, "te\x00xt": "Notiz"}),
        post_form(client, "/login", {"username": "anna\x00", "password": PASSWORD}),
    ]
    for resp in posts:
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, html[:300]
        assert "enthält ein unzulässiges Zeichen" in html and "\x00" not in html
    assert "Abmelden" in posts[0].get_data(as_text=True)  # the page still shows who is signed in
    assert "Abmelden" not in posts[-1].get_data(as_text=True)
    assert client.post("/login", data={"username": "anna\x00", "password": PASSWORD}).status_code == 400  # CSRF
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before


def test_a_hostile_seller_name_from_an_e_invoice_is_escaped(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    escaped = XSS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    xml = (XR / "01.01a-INVOICE_ubl.xml").read_text().replace("[Seller name]", escaped) \
        .replace("[Seller trading name]", escaped)
    resp = upload(anna, content=xml.encode(), name=FILE_XSS + ".xml")
    assert resp.status_code == 303
    task_page = anna.get(resp.headers["Location"])
    _no_raw_xss(_text(task_page))
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with rt.db.read() as session:
        case = session.get(Task, task_id).case
        assert XSS in (case.metadata_.get("seller_name") or "")
        case_id = case.id
    for path in ("/", "/inbox", "/cases", f"/cases/{case_id}", f"/invoices/{case_id}/fields",
                 f"/cases/{case_id}/audit"):
        _no_raw_xss(_text(anna.get(path)))
    rejected = decide(anna, task_id, "reject", comment=XSS)
    assert rejected.status_code == 303
    _no_raw_xss(_text(anna.get(f"/tasks/{task_id}")))
    _no_raw_xss(_text(anna.get(f"/cases/{case_id}")))


# --- user files never run as this site ---------------------------------------------------------------------

HOSTILE_FILES = [
    ("x.html", b"<html><body><script>alert(document.cookie)</script></body></html>", "text/html"),
    ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    ("x.xml", b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
     "application/xml"),
    ("x.txt", b"<html><script>alert(1)</script></html>", "text/plain"),
    ("x.png", b"<html><script>alert(1)</script></html>", "image/png"),
]


@SQLITE_ONLY
@pytest.mark.parametrize("name,content,claimed", HOSTILE_FILES)
def test_a_hostile_file_is_never_rendered_in_our_origin(client, signed_in, town, rt, name, content, claimed) -> None:  # type: ignore[no-untyped-def]
    case_id = create_case(client, town.auth("anna"))["id"]
    anna = signed_in("anna")
    token = csrf_token(anna, f"/cases/{case_id}")
    anna.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
              data={"csrf_token": token, "file": (io.BytesIO(content), name, claimed)})
    with rt.db.read() as session:
        doc = session.execute(select(Document)).scalar()
        if doc is None:
            return  # refused at upload: nothing to render
        doc_id, mime = doc.id, doc.versions[0].mime_type
    assert mime not in ("text/html", "image/svg+xml", "application/xhtml+xml")
    for query in ("", "?inline=1"):
        resp = anna.get(f"/documents/{doc_id}/versions/1/download{query}")
        assert resp.status_code == 200
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.mimetype not in ("text/html", "image/svg+xml", "application/xhtml+xml")
    preview = anna.get(f"/documents/{doc_id}/preview")
    assert preview.status_code == 200
    _no_raw_xss(_text(preview))
    assert "<script>alert" not in _text(preview)


# --- odd input: never a 500 ---------------------------------------------------------------------------------

ODD_QUERIES = ["page=-1", "page=0", "page=abc", "page=99999999999999999999999", "page=1e9", "sort=../../etc",
               "status=%00", "unit=%27%20OR%201%3D1--", "case_type=%FF%FE", "q=" + "x" * 5000, "version=abc",
               "version=-1", "version=0", "version=99999999999999999999", "mine=1&overdue=1", "inline=1",
               "file_plan_code=99.99.99", "reference=%25", "q=%25_%5C", "next=%0d%0aSet-Cookie:x=1", "page=1&page=2"]

SQL_QUERIES = ["page=99999999999999999999999", "version=99999999999999999999", "unit=%27%20OR%201%3D1--",
               "q=" + "x" * 5000, "reference=%25", "q=%25_%5C", "case_type=%FF%FE"]


def _get_rules(app) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.rule.startswith(("/api/", "/static")):
            out.append(rule.rule)
    return sorted(set(out))


def test_every_page_survives_odd_query_strings_and_ids(app, client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id, doc_id = _anna_case(client, town)
    anna = signed_in("anna")
    rules = _get_rules(app)
    # Every odd query on the pages of real records; odd ids (out of range for the database) with a few queries
    # only: an id is parsed before the query string is read, so all queries on them would test the same path.
    real_ids = [str(case_id), str(doc_id)]
    odd_ids = ["0", "2147483648", "9223372036854775808", "99999999999999999999999"]
    # On PostgreSQL only what reaches SQL as a value can fail differently (integer ranges, LIKE escapes, long
    # text); the parsing of the rest is the same code on both databases and is walked on SQLite.
    queries = SQL_QUERIES if rt.settings.database_url.startswith("postgresql") else ODD_QUERIES
    failures = []
    for rule in rules:
        checks: list[tuple[str, list[str]]] = [(rule, queries)]
        if "<" in rule:
            checks = [(re.sub(r"<(?:int:)?\w+>", i, rule), queries) for i in real_ids]
            checks += [(re.sub(r"<(?:int:)?\w+>", i, rule), ODD_QUERIES[:3]) for i in odd_ids]
        for path, queries in checks:
            for query in queries:
                resp = anna.get(f"{path}?{query}")
                resp.close()  # a download streams: end it here
                if resp.status_code >= 500:
                    failures.append((path, query, resp.status_code))
    assert not failures, failures[:20]


def test_odd_form_posts_never_500(app, client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id, doc_id = _anna_case(client, town)
    anna = signed_in("anna")
    failures = []
    bodies: list[Any] = [
        b"csrf_token=%s&username=%%FF%%FE&starts_on=%%FF&ends_on=2026-13-45&title=%%C3%%28&decision=%%FF",
        b"csrf_token=%s&starts_on=99999-01-01&ends_on=0001-01-01&username=anna&case_type=general&unit=%%FF",
        b"csrf_token=%s&starts_on=2026-12-01&ends_on=9999-12-31&username=" + b"x" * 200 + b"&file_plan_code=20.30",
    ]
    token = csrf_token(anna, "/")  # one per session: a form post does not use it up
    for path in _post_rules(app):
        if path in ("/logout",):
            continue
        real = path.replace("/cases/1", f"/cases/{case_id}").replace("/documents/1", f"/documents/{doc_id}")
        for body in bodies:
            resp = anna.post(real, data=body % token.encode(), content_type="application/x-www-form-urlencoded")
            if resp.status_code >= 500:
                failures.append((real, resp.status_code))
        # A multipart form without the file field, and with an empty file.
        for data in ({"csrf_token": token}, {"csrf_token": token, "file": (io.BytesIO(b""), "")}):
            resp = anna.post(real, data=data, content_type="multipart/form-data")
            if resp.status_code >= 500:
                failures.append((real, "multipart", resp.status_code))
    assert not failures, failures


# --- the login rate limit ---------------------------------------------------------------------------------

def test_the_login_limit_is_not_bypassed_by_forwarded_headers_or_name_variants(web, town) -> None:  # type: ignore[no-untyped-def]
    variants = ["anna", "Anna", " anna", "ANNA ", "anna\t"]
    for i in range(6):
        token = csrf_token(web, "/login")
        web.post("/login", data={"csrf_token": token, "username": variants[i % len(variants)], "password": "falsch"},
                 headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.1.{i}"})
    token = csrf_token(web, "/login")
    resp = web.post("/login", data={"csrf_token": token, "username": "anna", "password": PASSWORD},
                    headers={"X-Forwarded-For": "10.9.9.9"})
    assert resp.status_code == 429


# --- more insider tricks ------------------------------------------------------------------------------------

def test_no_case_in_a_unit_one_is_no_clerk_of(signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = post_form(anna, "/cases/new", {"case_type": "general", "title": "Untergeschoben", "unit": "32",
                                          "file_plan_code": "32.10"}, token_from="/cases/new")
    assert resp.status_code in (403, 422)
    assert _count(rt, Case) == 0


def test_the_invoice_document_cannot_be_swapped_after_sachlich_richtig(signed_in, invoice_town, rt) -> None:  # type: ignore[no-untyped-def]
    """The approver confirmed what the invoice document shows; a new version afterwards would put other amounts
    before the next approvers under the same approval."""
    anna, otto = signed_in("anna"), signed_in("otto")
    path, case_id = _paper_invoice(anna)
    with rt.db.read() as session:
        reference = session.get(Case, case_id).reference
        doc_id = session.execute(select(Document.id).where(Document.case_id == case_id,
                                                           Document.kind == "invoice")).scalar_one()
    assert decide(anna, task_of(anna, reference), "forward").status_code == 303
    assert decide(otto, task_of(otto, reference), "approve").status_code == 303
    token = csrf_token(anna, f"/documents/{doc_id}")
    resp = anna.post(f"/documents/{doc_id}/versions", content_type="multipart/form-data",
                     data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes("Rechnung 4711 - 9.119,00 EUR")),
                                                         "scan2.pdf")})
    assert resp.status_code in (303, 409)
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(DocumentVersion)
                               .where(DocumentVersion.document_id == doc_id)).scalar() == 1


def test_an_undeclared_document_kind_is_not_stored(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    case_id = create_case(client, town.auth("anna"))["id"]
    anna = signed_in("anna")
    token = csrf_token(anna, f"/cases/{case_id}")
    anna.post(f"/cases/{case_id}/documents", content_type="multipart/form-data",
              data={"csrf_token": token, "kind": "<b>x</b>" * 50, "file": (io.BytesIO(pdf_bytes()), "a.pdf")})
    with rt.db.read() as session:
        kinds = session.execute(select(Document.kind)).scalars().all()
    assert all(k != "<b>x</b>" * 50 for k in kinds)


def test_paging_links_take_no_url_for_options_from_the_query(client, signed_in, town, rt) -> None:  # type: ignore[no-untyped-def]
    """The next-page link is built from the query string: `_scheme`, `_external`, `_anchor` are url_for's own
    options and must not come from it (a javascript: link, a link to another scheme)."""
    for i in range(rt.settings.web.page_size + 1):
        create_case(client, town.auth("anna"), title=f"Akte {i}")
    anna = signed_in("anna")
    for path in ("/cases", "/inbox"):
        page = anna.get(path, query_string={"_external": "1", "_scheme": "javascript", "_anchor": "\nalert(1)",
                                            "_method": "POST"})
        assert page.status_code == 200
        text = _text(page)
        assert "javascript://" not in text and "\nalert(1)" not in text and "#%0Aalert" not in text
    text = _text(anna.get("/cases", query_string={"_external": "1", "_scheme": "javascript"}))
    assert re.search(r'href="/cases\?[^"]*page=2"', text)


def test_the_session_cookie_is_secure_over_https(app, town) -> None:  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([^"]+)"', _text(page)).group(1)
    resp = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                       data={"csrf_token": token, "username": "anna", "password": PASSWORD})
    assert resp.status_code == 303
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies if c.startswith("eakte_session="))
