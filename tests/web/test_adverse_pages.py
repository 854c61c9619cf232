"""The section "Nachteilige Vorgänge (Anhörung)" of a personnel file's page (issue 12, point 6): the personnel
clerk files an item with its document, records that the employee declined, takes it into the file, removes an
unfounded one; a step the rules refuse is a message, not an error page; only readers of the whole file see it."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.app import create_app
from eakte.clock import set_clock
from eakte.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import pdf_bytes
from tests.personnel import PersonnelOffice, build_personnel_office
from tests.web.conftest import csrf_token, log_in, post_form

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
HEADING = "Nachteilige Vorgänge (Anhörung)"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
    set_clock(lambda: NOW)
    rt = make_runtime(tmp_path, db_url)
    app = create_app(rt)
    app.config["WTF_CSRF_ENABLED"] = True
    office = build_personnel_office(rt, app.test_client())

    def signed_in(username: str) -> FlaskClient:
        client = app.test_client()
        assert log_in(client, username).status_code == 303
        return client
    try:
        yield rt, signed_in, office
    finally:
        rt.close()
        set_clock(None)


def _page(client: FlaskClient, case_id: int) -> str:
    resp = client.get(f"/cases/{case_id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _row(page: str, item_id: int) -> str:
    match = re.search(rf'<tr class="kern-table__row" id="adverse-{item_id}">.*?</tr>', page, re.S)
    assert match, f"no row of item {item_id}"
    return match.group(0)


def _new_item(client: FlaskClient, case_id: int, token_from: str | None = None, **more: Any) -> Any:
    data = {"csrf_token": csrf_token(client, token_from or f"/cases/{case_id}"), "title": "Abmahnung Verspätung",
            "kind": "warning", "file": (io.BytesIO(pdf_bytes("Abmahnung", "Verspätet")), "abmahnung.pdf",
                                        "application/pdf"), **more}
    return client.post(f"/cases/{case_id}/adverse-items", data=data, content_type="multipart/form-data")


def test_clerk_files_hears_and_files_an_item_on_the_case_page(env) -> None:  # type: ignore[no-untyped-def]
    _rt, signed_in, office = env
    case_id = office.file.case["id"]
    petra = signed_in("petra")
    page = _page(petra, case_id)
    assert HEADING in page and "Nachteiligen Vorgang ablegen" in page
    # A plain upload's kinds no longer offer the managed ones.
    upload = page.split('id="upload-kind-')[1].split("</select>")[0]
    assert 'value="warning"' not in upload and 'value="statement"' not in upload

    resp = _new_item(petra, case_id, title="")
    assert resp.status_code == 422 and 'id="adverse-title-error"' in resp.get_data(as_text=True)
    resp = _new_item(petra, case_id)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cases/{case_id}#adverse-heading")
    page = _page(petra, case_id)
    item_id = int(re.search(r'id="adverse-(\d+)"', page).group(1))  # type: ignore[union-attr]
    row = _row(page, item_id)
    assert "Abmahnung Verspätung" in row and "Anhörung läuft" in row and "18.03.2030" in row  # 14 days
    assert "Verzicht vermerken" in row and "In die Akte aufnehmen" not in row

    # Filing before the hearing is refused by the rules: a message on the page, not an error page.
    resp = post_form(petra, f"/adverse-items/{item_id}/file", token_from=f"/cases/{case_id}")
    assert resp.status_code == 303
    assert "zuerst anzuhören" in _page(petra, case_id)

    resp = post_form(petra, f"/adverse-items/{item_id}/statement", {"declined": "true"},
                     token_from=f"/cases/{case_id}")
    assert resp.status_code == 303
    row = _row(_page(petra, case_id), item_id)
    assert "Verzicht vermerkt" in row and "In die Akte aufnehmen" in row
    assert post_form(petra, f"/adverse-items/{item_id}/file", token_from=f"/cases/{case_id}").status_code == 303
    row = _row(_page(petra, case_id), item_id)
    assert "in die Akte aufgenommen" in row and "04.03.2032" in row  # removal from two years on
    assert 'value="unfounded"' in row and 'value="application"' not in row  # before its date: unfounded only

    resp = post_form(petra, f"/adverse-items/{item_id}/remove", {"ground": "unfounded"},
                     token_from=f"/cases/{case_id}")
    assert resp.status_code == 303
    page = _page(petra, case_id)
    row = _row(page, item_id)
    assert "entfernt" in row and "Abmahnung Verspätung" not in page


def test_section_only_for_readers_of_the_whole_file(env) -> None:  # type: ignore[no-untyped-def]
    _rt, signed_in, office = env
    case_id = office.file.case["id"]
    assert _new_item(signed_in("petra"), case_id).status_code == 303
    bea = signed_in("bea")  # sees the file for its Beihilfe sub-file only
    assert HEADING not in _page(bea, case_id)
    assert _new_item(bea, case_id).status_code == 404
    anna = signed_in("anna")
    assert anna.get(f"/cases/{case_id}").status_code == 404
    assert _new_item(anna, case_id, token_from="/").status_code == 404
