"""Deputies (Vertretung) in the browser (issue 9, point 15): list, add, end; the service's rules and refusals."""
from __future__ import annotations

import datetime as dt

from eakte.clock import office_today
from tests.web.conftest import post_form
from tests.web.invoice_town import XR, inbox_rows, invoice_town, rt, upload  # noqa: F401 - fixtures


def _add(client, username: str, starts: dt.date | str, ends: dt.date | str):  # type: ignore[no-untyped-def]
    return post_form(client, "/deputies", {"username": username, "starts_on": str(starts), "ends_on": str(ends)})


def test_add_list_and_end_a_deputy(signed_in, invoice_town) -> None:
    anna, bernd = signed_in("anna"), signed_in("bernd")
    assert upload(anna, XR / "01.01a-INVOICE_ubl.xml").status_code == 303
    assert "Sie haben keine Vertretung eingetragen" in anna.get("/deputies").get_data(as_text=True)
    assert inbox_rows(bernd) == {}  # an approver of the Kämmerei, not a clerk: not his task
    today = office_today()
    resp = _add(anna, "bernd", today - dt.timedelta(days=1), today + dt.timedelta(days=7))
    assert resp.status_code == 303
    page = anna.get("/deputies").get_data(as_text=True)
    assert "Vertretung durch bernd gespeichert" in page
    assert "bernd" in page and (today + dt.timedelta(days=7)).strftime("%d.%m.%Y") in page
    assert len(inbox_rows(bernd)) == 1  # he now acts for anna
    # A second period keeps the first (the page adds, the service replaces the whole list).
    later = (today + dt.timedelta(days=30)).strftime("%d.%m.%Y")  # typed the German way
    assert _add(anna, "kurt", later, today + dt.timedelta(days=40)).status_code == 303
    page = anna.get("/deputies").get_data(as_text=True)
    assert "bernd" in page and "kurt" in page
    ended = post_form(anna, "/deputies/end", {"username": "bernd",
                                              "starts_on": (today - dt.timedelta(days=1)).isoformat()},
                      token_from="/deputies")
    assert ended.status_code == 303
    page = anna.get("/deputies").get_data(as_text=True)
    assert "Vertretung durch bernd beendet" in page and "kurt" in page
    assert inbox_rows(bernd) == {}


def test_refusals_are_shown_at_the_field(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    today = office_today()
    other_unit = _add(anna, "olga", today, today + dt.timedelta(days=3))
    text = other_unit.get_data(as_text=True)
    assert other_unit.status_code == 422
    assert 'id="username-error"' in text and "nicht Mitglied Ihrer Organisationseinheiten" in text
    unknown = _add(anna, "niemand", today, today)
    assert unknown.status_code == 422 and "kein solcher Benutzer" in unknown.get_data(as_text=True)
    herself = _add(anna, "anna", today, today)
    assert herself.status_code == 422 and "Niemand kann sich selbst vertreten" in herself.get_data(as_text=True)
    backwards = _add(anna, "kurt", today, today - dt.timedelta(days=1))
    assert backwards.status_code == 422 and 'id="ends_on-error"' in backwards.get_data(as_text=True)
    garbled = _add(anna, "kurt", "morgen", "")
    assert garbled.status_code == 422 and 'id="starts_on-error"' in garbled.get_data(as_text=True)
    assert "Sie haben keine Vertretung eingetragen" in anna.get("/deputies").get_data(as_text=True)


def test_deputies_need_the_csrf_token(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    today = office_today().isoformat()
    assert anna.post("/deputies", data={"username": "kurt", "starts_on": today, "ends_on": today}).status_code == 400
    assert "Sie haben keine Vertretung eingetragen" in anna.get("/deputies").get_data(as_text=True)
    missing = post_form(anna, "/deputies/end", {"username": "kurt", "starts_on": today}, token_from="/deputies")
    assert missing.status_code == 404
