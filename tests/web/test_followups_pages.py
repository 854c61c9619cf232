"""Follow-ups (Wiedervorlagen) in the browser interface (issue 11 point 2): set on the case page, shown in the
Postkorb on their date (overdue ones marked), Erledigt and Verschieben without script, the navigation's count,
German messages at the fields, hostile notes escaped."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterator

import pytest

from eakte.clock import set_clock
from tests.conftest import Town
from tests.helpers import create_case
from tests.web.conftest import post_form

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
HOSTILE = '<script>alert(1)</script>"onmouseover="x'


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


def _move(days: int) -> None:
    set_clock(lambda: NOW + dt.timedelta(days=days))


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _followup_rows(html: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(0) for m in re.finditer(r'<tr id="followup-(\d+)".*?</tr>', html, re.S)}


def _inbox_count(html: str) -> int:
    match = re.search(r'id="inbox-count"><span class="kern-label kern-label--small">(\d+)<', html)
    assert match, "no Postkorb count in the navigation"
    return int(match.group(1))


def _set(client: Any, case_id: int, **form: str) -> Any:
    data = {"due_on": "2030-03-06", "note": "Stellungnahme anmahnen", "target": "me", **form}
    return post_form(client, f"/cases/{case_id}/followups", data, token_from=f"/cases/{case_id}")


def test_set_on_the_case_page_then_due_in_the_postkorb(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"), title="Widerspruch Müller")
    anna = signed_in("anna")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "Wiedervorlagen" in page and "Wiedervorlage setzen" in page and 'value="unit"' in page
    resp = _set(anna, case["id"], note=HOSTILE)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cases/{case['id']}#followups-heading")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "Wiedervorlage zum 06.03.2030 gesetzt." in page
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "06.03.2030" in page and "offen" in page

    inbox = _text(anna.get("/inbox"))
    assert "Heute sind keine Wiedervorlagen fällig." in inbox and _followup_rows(inbox) == {}
    assert _inbox_count(inbox) == 0
    _move(2)  # its day: the session has expired meanwhile, as it would overnight
    anna = signed_in("anna")
    inbox = _text(anna.get("/inbox"))
    rows = _followup_rows(inbox)
    assert len(rows) == 1
    row = next(iter(rows.values()))
    assert case["reference"] in row and "Widerspruch Müller" in row and "persönlich" in row
    assert "überfällig" not in row and HOSTILE not in row
    assert _inbox_count(inbox) == 1  # the navigation counts it with the tasks
    assert _inbox_count(_text(anna.get("/"))) == 1  # on every page
    _move(3)
    anna = signed_in("anna")
    row = next(iter(_followup_rows(_text(anna.get("/inbox"))).values()))
    assert "überfällig" in row and "kern-badge--danger" in row and 'class="is-overdue"' in row
    # Another unit's clerk sees nothing of it.
    assert _followup_rows(_text(signed_in("olga").get("/inbox"))) == {}


def test_done_removes_it_and_postpone_moves_it(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    anna = signed_in("anna")
    assert _set(anna, case["id"], due_on="04.03.2030", note="erstens").status_code == 303  # typed as TT.MM.JJJJ
    assert _set(anna, case["id"], due_on="2030-03-04", note="zweitens", target="unit").status_code == 303
    rows = _followup_rows(_text(anna.get("/inbox")))
    assert len(rows) == 2
    first, second = sorted(rows)
    assert "Kämmerei" in rows[second]  # the unit's follow-up names the unit
    # The unit's approver sees the unit's, not anna's personal one.
    assert set(_followup_rows(_text(signed_in("bernd").get("/inbox")))) == {second}

    done = post_form(anna, f"/followups/{first}/done", {"next": "/inbox"}, token_from="/inbox")
    assert done.status_code == 303 and done.headers["Location"].endswith("/inbox")
    page = _text(anna.get("/inbox"))
    assert set(_followup_rows(page)) == {second} and "erledigt" in page

    bad = post_form(anna, f"/followups/{second}/postpone", {"due_on": "2030-03-01", "next": "/inbox"},
                    token_from="/inbox")
    assert bad.status_code == 422
    assert "Das Datum darf nicht in der Vergangenheit liegen" in _text(bad) and 'aria-invalid="true"' in _text(bad)
    moved = post_form(anna, f"/followups/{second}/postpone", {"due_on": "2030-03-08", "next": "/inbox"},
                      token_from="/inbox")
    assert moved.status_code == 303
    page = _text(anna.get("/inbox"))
    assert _followup_rows(page) == {} and "auf den 08.03.2030 verschoben" in page
    case_page = _text(anna.get(f"/cases/{case['id']}"))
    assert "08.03.2030" in case_page and "erledigt am 04.03.2030 von anna" in case_page
    _move(4)
    assert set(_followup_rows(_text(signed_in("anna").get("/inbox")))) == {second}


def test_messages_at_the_fields_and_refusals(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    anna = signed_in("anna")
    resp = _set(anna, case["id"], due_on="", note="")
    html = _text(resp)
    assert resp.status_code == 422 and "error-summary" in html
    assert "Bitte geben Sie das Datum der Wiedervorlage an" in html and "Bitte geben Sie einen Hinweis ein." in html
    assert re.search(r'id="followup-due_on"[^>]*aria-invalid="true"', html.replace("\n", " "))
    past = _set(anna, case["id"], due_on="2030-03-03")
    assert past.status_code == 422 and "Das Datum darf nicht in der Vergangenheit liegen" in _text(past)
    assert 'value="Stellungnahme anmahnen"' not in _text(past) and "Stellungnahme anmahnen" in _text(past)  # kept

    # The auditor reads the case and its follow-ups but is offered no form, and a forged POST is refused.
    rita = signed_in("rita")
    page = _text(rita.get(f"/cases/{case['id']}"))
    assert "Wiedervorlagen" in page and 'action="/cases/%d/followups"' % case["id"] not in page
    assert _set(rita, case["id"]).status_code == 403
    assert _set(signed_in("olga"), case["id"]).status_code == 404
    # A personal follow-up offers its buttons to its owner only, and refuses everyone else.
    assert _set(anna, case["id"], due_on="2030-03-04").status_code == 303
    fu_id = next(iter(_followup_rows(_text(anna.get("/inbox")))))
    bernd_page = _text(signed_in("bernd").get(f"/cases/{case['id']}"))
    assert f'action="/followups/{fu_id}/done"' not in bernd_page
    bernd = signed_in("bernd")
    assert post_form(bernd, f"/followups/{fu_id}/done", token_from="/inbox").status_code == 403
    # Without the CSRF token nothing happens.
    assert anna.post(f"/followups/{fu_id}/done").status_code == 400
    assert set(_followup_rows(_text(anna.get("/inbox")))) == {fu_id}


def test_postpone_page_without_the_inline_form(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    anna = signed_in("anna")
    assert _set(anna, case["id"], due_on="2030-03-04").status_code == 303
    fu_id = next(iter(_followup_rows(_text(anna.get("/inbox")))))
    page = _text(anna.get(f"/followups/{fu_id}/postpone"))
    assert "Wiedervorlage verschieben" in page and 'value="2030-03-11"' in page  # a week on, by the clock
    empty = post_form(anna, f"/followups/{fu_id}/postpone", {"due_on": ""}, token_from=f"/followups/{fu_id}/postpone")
    assert empty.status_code == 422 and "Bitte geben Sie das neue Datum an" in _text(empty)
    assert signed_in("olga").get(f"/followups/{fu_id}/postpone").status_code == 404
