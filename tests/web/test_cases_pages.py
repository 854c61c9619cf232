"""The overview, the file plan, the case list and the case page (with closing) through the browser interface."""
from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from eakte.services import cases as case_service
from tests.conftest import Town
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import post_form
from workflows.definition import CaseType, Decision, Step
from workflows.fields import Field
from workflows.registry import load_registry

PERMIT = CaseType(
    key="permit", label_de="Genehmigung", label_en="Permit", start="check",
    fields=(Field("applied_on", "Antrag vom", "Applied on", "date"),
            Field("fee", "Gebühr", "Fee", "money"),
            Field("kind", "Art", "Kind", "enum", choices=("neu", "verlängert")),
            Field("urgent", "Eilig", "Urgent", "boolean"),
            Field("note", "Vermerk", "Note")),
    steps=(Step("check", "Antrag prüfen", "Check application", "clerk",
                decisions=(Decision("ok", "In Ordnung", "OK", None),)),),
)
HOSTILE = '<script>alert(1)</script>"onmouseover="x'


@pytest.fixture(autouse=True)
def _permit_type(rt):  # type: ignore[no-untyped-def]
    rt.__dict__["registry"] = load_registry(extra={"permit": PERMIT})


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _case_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/cases/(\d+)"', html)}


def _permit(client: Any, town: Town, **metadata: Any) -> dict[str, Any]:
    return create_case(client, town.auth("anna"), title="Gaststättenerlaubnis", case_type="permit",
                       metadata=metadata)


def test_pages_render_for_the_owner(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = _permit(client, town, applied_on="2026-03-04", fee="1234.56", kind="verlängert", urgent=True)
    assert upload(client, town.auth("anna"), case["id"], pdf_bytes(), title="Antrag").status_code == 201
    anna = signed_in("anna")

    overview = _text(anna.get("/"))
    assert "Meine offenen Akten" in overview and "kern-card" in overview
    assert case["reference"] in overview and "Antrag" in overview  # my case and the recently filed document
    assert "Antrag prüfen" in overview and re.search(r'href="/tasks/\d+"', overview)  # my open task

    plan = _text(anna.get("/file-plan"))
    assert "Rechnungen" in plan and "Aufbewahrung: 10 Jahre" in plan and "archivieren" in plan
    assert 'href="/cases?file_plan_code=20.30"' in plan
    # nested: 20.30 sits in the list under 20
    assert re.search(r"Finanzen.*?<ul[^>]*>.*?20\.30", plan, re.S)

    listing = _text(anna.get("/cases"))
    assert "Akten" in listing and case["reference"] in listing and 'href="/cases/new"' in listing

    page = anna.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    html = _text(page)
    for word in ("Aktenzeichen", "Federführung", "Kämmerei", "offen", "Genehmigung", "Dokumente", "Antrag prüfen",
                 "Geschäftsgang", "Verlauf"):
        assert word in html, word
    assert "04.03.2026" in html  # date field
    assert "1.234,56\xa0€" in html or "1.234,56 €" in unescape(html)  # money field
    assert "verlängert" in html and ">Ja<" in html  # enum, boolean
    assert "<details><summary>SHA-256 anzeigen</summary>" in html  # the hash on request
    assert "rechnung.pdf" in html and ">anna<" in html  # version with uploader

    trail = anna.get(f"/cases/{case['id']}/audit")
    assert trail.status_code == 200 and "Akte angelegt" in _text(trail) and "Dokument abgelegt" in _text(trail)
    assert 'aria-current="page">Protokoll' in _text(trail)


def test_workflow_history_after_a_decision(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = _permit(client, town)
    task_id = int(re.search(r'href="/tasks/(\d+)"', _text(signed_in("anna").get(f"/cases/{case['id']}"))).group(1))
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "ok"}, headers=town.auth("anna"))
    assert done.status_code == 200, done.get_json()
    html = _text(signed_in("anna").get(f"/cases/{case['id']}"))
    assert "entschieden: In Ordnung" in html and "abgeschlossen" in html and "Keine offenen Aufgaben." in html


def test_list_filters_and_pages_with_exact_total(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    for i in range(28):
        create_case(client, town.auth("anna"), title=f"Beleg {i:02d}")
    create_case(client, town.auth("anna"), plan="20", title="Haushaltsplan")
    create_case(client, town.auth("olga"), unit="32", plan="32.10", title="Gewerbe Müller")
    anna = signed_in("anna")

    first = _text(anna.get("/cases"))
    assert "29 Akten" in first and "1–25 von 29" in first and "Seite 1 von 2" in first
    assert "Gewerbe Müller" not in first
    second = _text(anna.get("/cases?page=2"))
    assert "26–29 von 29" in second and len(_case_ids(second)) == 4

    by_title = _text(anna.get("/cases?q=Beleg+0"))
    assert "10 Akten" in by_title and 'value="Beleg 0"' in by_title  # the form keeps what was asked
    by_node = _text(anna.get("/cases?file_plan_code=20"))
    assert "1 Akte" in by_node and "Haushaltsplan" in by_node
    paged = _text(anna.get("/cases?file_plan_code=20.30&page=2"))
    assert "26–28 von 28" in paged
    assert 'href="/cases?file_plan_code=20.30&amp;page=1"' in paged  # paging keeps the filter
    assert "0 Akten" in _text(anna.get("/cases?status=closed")) or "Keine Akten gefunden" in _text(
        anna.get("/cases?status=closed"))
    assert "Keine Akten gefunden" in _text(anna.get("/cases?unit=32"))  # olga's unit: nothing for anna


def test_other_units_case_is_invisible(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = _permit(client, town, note="vertraulich")
    assert upload(client, town.auth("anna"), case["id"], pdf_bytes(), title="Geheimes Gutachten").status_code == 201
    olga = signed_in("olga")
    for path in (f"/cases/{case['id']}", f"/cases/{case['id']}/audit", f"/cases/{case['id']}/close"):
        resp = olga.get(path)
        assert resp.status_code == 404, path
        assert "Seite nicht gefunden" in _text(resp) and "site-nav" in _text(resp)  # the error page in the layout
        assert "Gaststättenerlaubnis" not in _text(resp)
    listing = _text(olga.get("/cases"))
    assert case["reference"] not in listing and case["id"] not in _case_ids(listing)
    overview = _text(olga.get("/"))
    assert case["reference"] not in overview and "Geheimes Gutachten" not in overview
    resp = post_form(olga, f"/cases/{case['id']}/close", token_from="/cases")
    assert resp.status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("anna")).get_json()["status"] == "open"


def test_closing_needs_confirmation_and_csrf(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    path = f"/cases/{case['id']}/close"
    anna = signed_in("anna")

    confirm = anna.get(path)
    assert confirm.status_code == 200 and "Akte wirklich schließen?" in _text(confirm)
    assert "Aufbewahrungsfrist" in _text(confirm)
    assert anna.post(path, data={}).status_code == 400  # no CSRF token
    state = client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("anna")).get_json()
    assert state["status"] == "open"  # neither the GET nor the rejected POST closed it

    # bernd (approver, no clerk role) sees the case but may not close it: the service's German reason
    bernd = signed_in("bernd")
    denied = post_form(bernd, path)
    assert denied.status_code == 403 and "Rolle Sachbearbeitung" in _text(denied)

    done = post_form(anna, path)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/cases/{case['id']}")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "wurde geschlossen" in page and "geschlossen (z.d.A.)" in page
    assert f'href="{path}"' not in page  # no close button any more
    again = post_form(anna, path, token_from=f"/cases/{case['id']}")
    assert again.status_code == 409 and "geschlossen" in _text(again)


def test_hostile_strings_are_escaped(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"), title=HOSTILE, case_type="permit", metadata={"note": HOSTILE})
    assert upload(client, town.auth("anna"), case["id"], pdf_bytes(), title=HOSTILE).status_code == 201
    anna = signed_in("anna")
    for path in ("/cases", f"/cases/{case['id']}", "/", f"/cases/{case['id']}/close",
                 f"/cases?q={HOSTILE}"):
        html = _text(anna.get(path))
        assert "<script>alert(1)" not in html, path
        assert '"onmouseover="x' not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_my_open_cases_are_mine(rt, town: Town, client) -> None:  # type: ignore[no-untyped-def]
    """The overview's service: open cases of my units or created by me, never another unit's, never closed."""
    mine = create_case(client, town.auth("anna"))
    closed = create_case(client, town.auth("anna"))
    create_case(client, town.auth("olga"), unit="32", plan="32.10")
    client.post(f"/api/v1/cases/{closed['id']}/close", headers=town.auth("anna"))
    from eakte.services.access import Actor, load_principal
    from eakte.services.identity import user_by_name
    with rt.db.read() as session:
        anna = Actor(load_principal(session, user_by_name(session, "anna"), {}))
    rows, total = case_service.my_open_cases(rt, anna, limit=10)
    assert [c.id for c in rows] == [mine["id"]] and total == 1
