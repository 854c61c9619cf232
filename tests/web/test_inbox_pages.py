"""The Postkorb in the browser (issue 9, point 13): counts per case type, filters, both sort orders, overdue and
escalated tasks marked, claim/release with and without htmx, paging with the exact total."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

from eakte.services import workflow
from tests.web.conftest import csrf_token
from tests.web.invoice_town import XR, inbox_rows, invoice_town, rt, upload  # noqa: F401 - fixtures

SAMPLES = ("01.01a-INVOICE_ubl.xml", "01.02a-INVOICE_ubl.xml", "01.07a-INVOICE_ubl.xml")


def _take_in_all(client) -> None:  # type: ignore[no-untyped-def]
    for name in SAMPLES:
        assert upload(client, XR / name).status_code == 303


def _api(client, town, query: str = "") -> dict:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/inbox" + query, headers=town.auth("anna")).get_json()


def test_counts_filters_sorting_and_overdue(app, signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _take_in_all(anna)
    page = anna.get("/inbox").get_data(as_text=True)
    assert re.search(r'href="/inbox\?case_type=invoice"[^>]*>Rechnung: 3<', page)  # the count links to its filter
    api = _api(app.test_client(), invoice_town)
    assert api["total"] == 3
    rows = inbox_rows(anna)
    # Default order: soonest due first, as the service (and the API) sort.
    assert list(rows) == [t["id"] for t in api["items"]]
    assert list(inbox_rows(anna, "?sort=arrival")) == sorted(rows)
    overdue = {t["id"] for t in api["items"] if t["overdue"]}
    assert overdue  # 01.07a was due in 2016
    for task_id, row in rows.items():
        marked = "überfällig" in row and "kern-badge--danger" in row
        assert marked == (task_id in overdue)
    assert 'class="is-overdue"' in page
    assert set(inbox_rows(anna, "?overdue=1")) == overdue
    assert inbox_rows(anna, "?case_type=general") == {}
    assert "Keine Aufgaben für diese Auswahl" in anna.get("/inbox?case_type=general").get_data(as_text=True)
    # Unknown values fall back to no filter rather than an error.
    assert len(inbox_rows(anna, "?sort=nonsense&overdue=maybe")) == 3
    # The API offers the same sort order and refuses an unknown one.
    assert [t["id"] for t in _api(app.test_client(), invoice_town, "?sort=arrival")["items"]] == sorted(rows)
    assert app.test_client().get("/api/v1/inbox?sort=nonsense",
                                 headers=invoice_town.auth("anna")).status_code == 422


def test_escalated_tasks_are_marked(rt, signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    assert upload(anna, XR / "01.07a-INVOICE_ubl.xml").status_code == 303
    (row,) = inbox_rows(anna).values()
    assert "eskaliert" not in row
    assert workflow.escalate_overdue(rt, dt.datetime(2030, 1, 1)) == 1
    (row,) = inbox_rows(anna).values()
    assert "eskaliert" in row and "überfällig" in row


def test_claim_and_release_from_the_inbox(app, signed_in, invoice_town) -> None:
    anna, kurt = signed_in("anna"), signed_in("kurt")
    _take_in_all(anna)
    first, *_ = inbox_rows(anna)
    token = csrf_token(anna, "/inbox")
    # Without JavaScript: a POST form, answered with a redirect back to the inbox as it was.
    resp = anna.post(f"/tasks/{first}/claim", data={"csrf_token": token, "next": "/inbox?sort=arrival"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/inbox?sort=arrival"
    mine = inbox_rows(anna, "?mine=1")
    assert list(mine) == [first] and "anna" in mine[first] and "Zurückgeben" in mine[first]
    assert _api(app.test_client(), invoice_town, "?claimed_by_me=true")["total"] == 1
    assert first not in inbox_rows(kurt) and len(inbox_rows(kurt)) == 2  # claimed: no longer his colleagues'
    assert inbox_rows(kurt, "?mine=1") == {}
    # An outside redirect target is ignored.
    again = anna.post(f"/tasks/{first}/release", data={"csrf_token": token, "next": "//evil.example/x"})
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/tasks/{first}")
    assert inbox_rows(anna, "?mine=1") == {}
    # With htmx: only the row comes back, already showing the new state.
    swapped = anna.post(f"/tasks/{first}/claim", data={"csrf_token": token}, headers={"HX-Request": "true"})
    body = swapped.get_data(as_text=True)
    assert swapped.status_code == 200 and "<html" not in body
    assert body.strip().startswith(f'<tr id="task-{first}"') and "Zurückgeben" in body
    # Claim without the CSRF token: refused, nothing changed.
    assert kurt.post(f"/tasks/{first}/release").status_code == 400
    assert "anna" in inbox_rows(anna)[first]


def test_paging_shows_the_exact_total(rt, monkeypatch, signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _take_in_all(anna)
    monkeypatch.setattr(rt, "settings", dataclasses.replace(
        rt.settings, web=dataclasses.replace(rt.settings.web, page_size=2)))
    page1 = anna.get("/inbox?sort=arrival").get_data(as_text=True)
    assert "1–2 von 3" in page1 and "Seite 1 von 2" in page1
    assert len(inbox_rows(anna, "?sort=arrival")) == 2
    page2 = inbox_rows(anna, "?sort=arrival&page=2")
    assert len(page2) == 1 and set(page2).isdisjoint(inbox_rows(anna, "?sort=arrival"))
    assert "sort=arrival" in re.search(r'href="([^"]*)" rel="next"', page1).group(1)  # paging keeps the filter


def test_counts_never_reveal_what_the_caller_cannot_see(signed_in, invoice_town) -> None:
    anna, olga, paul = signed_in("anna"), signed_in("olga"), signed_in("paul")
    _take_in_all(anna)
    for outsider in (olga, paul):
        page = outsider.get("/inbox").get_data(as_text=True)
        assert "Rechnung: " not in page and "Sie haben keine offenen Aufgaben" in page
        assert inbox_rows(outsider) == {} and inbox_rows(outsider, "?case_type=invoice") == {}
