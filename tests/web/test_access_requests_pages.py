"""The page "Akteneinsicht" (issue 12 point 4): the auditor asks by reference with a reason (German errors at the
fields), the head of personnel grants or refuses (a refusal needs a reason), the auditor's list shows the status
and until when; the navigation offers the page only to those who ask or decide."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.app import create_app
from eakte.clock import set_clock
from tests.conftest import make_runtime
from tests.personnel import PersonnelOffice, build_personnel_office
from tests.web.conftest import log_in, post_form

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
PAGE = "/access-requests"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[Any, PersonnelOffice]]:
    set_clock(lambda: NOW)
    rt = make_runtime(tmp_path, db_url)
    app = create_app(rt)
    try:
        office = build_personnel_office(rt, app.test_client())
        app.config["WTF_CSRF_ENABLED"] = True
        yield app, office
    finally:
        set_clock(None)
        rt.close()


def _signed_in(app: Any, username: str) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, username).status_code == 303
    return client


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _row(html: str, request_id: int) -> str:
    match = re.search(rf'<tr id="access-request-{request_id}".*?</tr>', html, re.S)
    assert match, f"no row for request {request_id}"
    return match.group(0)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="access-request-(\d+)"', html)]


def test_ask_grant_refuse_in_the_browser(env) -> None:  # type: ignore[no-untyped-def]
    app, office = env
    reference, title = office.file.case["reference"], office.file.case["title"]
    rita = _signed_in(app, "rita")
    page = _text(rita.get(PAGE))
    assert "Einsicht beantragen" in page and 'href="/access-requests"' in page  # the navigation offers it

    empty = post_form(rita, PAGE, {"reference": "", "reason": ""})
    assert empty.status_code == 422
    html = _text(empty)
    assert 'id="access-reference-error"' in html and "Bitte geben Sie das Aktenzeichen der Akte an." in html
    assert "Bitte begründen Sie, wozu Sie die Akte einsehen." in html
    unknown = post_form(rita, PAGE, {"reference": "99.99/0001/2030", "reason": "Prüfauftrag"})
    assert unknown.status_code == 422 and "Keine Akte 99.99/0001/2030" in _text(unknown)
    assert 'value="99.99/0001/2030"' in _text(unknown)  # kept as typed

    asked = post_form(rita, PAGE, {"reference": reference, "reason": "Prüfauftrag 14/7"})
    assert asked.status_code == 303
    html = _text(rita.get(PAGE))
    assert f"Antrag auf Einsicht in {reference} gestellt." in html
    [request_id] = _ids(html)
    row = _row(html, request_id)
    assert reference in row and "offen" in row and "Prüfauftrag 14/7" in row
    assert title not in html  # the name on the file stays hidden until she may read it
    again = post_form(rita, PAGE, {"reference": reference, "reason": "noch einmal"})
    assert again.status_code == 422 and "liegt bereits zur Entscheidung vor" in _text(again)

    hanna = _signed_in(app, "hanna")
    html = _text(hanna.get(PAGE))
    assert "Offene Anträge" in html and "Einsicht beantragen" not in html  # she decides, she does not ask
    assert title in _row(html, request_id) and "Gewähren" in _row(html, request_id)
    no_reason = post_form(hanna, f"{PAGE}/{request_id}/refuse", {"comment": ""}, token_from=PAGE)
    assert no_reason.status_code == 422
    assert f'id="refuse-comment-{request_id}-error"' in _text(no_reason)
    assert "Bitte begründen Sie die Ablehnung." in _text(no_reason)
    granted = post_form(hanna, f"{PAGE}/{request_id}/grant", {}, token_from=PAGE)
    assert granted.status_code == 303
    assert "gewährt bis 04.03.2030, 18:00 Uhr" in _text(hanna.get(PAGE))  # 8 hours, in the office's time

    row = _row(_text(rita.get(PAGE)), request_id)
    assert "gewährt" in row and "04.03.2030, 18:00 Uhr" in row and title in row and "Einsicht beenden" in row
    assert rita.get(f"/cases/{office.file.case['id']}").status_code == 200


def test_not_offered_to_others(env) -> None:  # type: ignore[no-untyped-def]
    app, office = env
    for user in ("anna", "petra"):  # a clerk of another unit, and a reader of the file who is not its head
        client = _signed_in(app, user)
        assert 'href="/access-requests"' not in _text(client.get("/"))
        assert client.get(PAGE).status_code == 403
        assert post_form(client, PAGE, {"reference": office.file.case["reference"], "reason": "x"},
                         token_from="/").status_code == 403
    assert 'href="/access-requests"' in _text(_signed_in(app, "hanna").get("/"))
