"""Notes (Vermerke) and the timeline (Verlauf) on the case page: adding, correcting, errors at the fields,
refusals, escaping, the search page's note hits."""
from __future__ import annotations

from typing import Any

from tests.conftest import Town
from tests.helpers import create_case, pdf_bytes, upload
from tests.web.conftest import post_form

HOSTILE = '<script>alert(1)</script>"onmouseover="x'


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def test_add_a_note_and_see_it_in_list_and_timeline(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    upload(client, town.auth("anna"), case["id"], pdf_bytes("Angebot"), title="Angebot Papier")
    anna = signed_in("anna")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "Vermerk hinzufügen" in page and "Zu dieser Akte gibt es noch keine Vermerke." in page
    resp = post_form(anna, f"/cases/{case['id']}/notes", {"text": "Rückruf bei Frau Kranich", "noted_on": ""},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cases/{case['id']}#notes-heading")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "Der Vermerk wurde gespeichert." in page and "Rückruf bei Frau Kranich" in page
    assert "Verlauf der Akte" in page and "Dokument abgelegt" in page and "Angebot Papier" in page
    tab = _text(anna.get(f"/cases/{case['id']}/timeline"))
    assert tab.index("Rückruf bei Frau Kranich") < tab.index("Angebot Papier")  # newest first
    assert 'aria-current="page">Verlauf<' in tab


def test_a_correction_marks_the_corrected_note(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    old = client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "Termin am 3.", "noted_on": "2026-03-01"},
                      headers=town.auth("anna")).get_json()
    anna = signed_in("anna")
    form = _text(anna.get(f"/cases/{case['id']}/notes/new?corrects={old['id']}"))
    assert f'<option value="{old["id"]}" selected' in form and "Berichtigt Vermerk" in form
    resp = post_form(anna, f"/cases/{case['id']}/notes", {"text": "Termin am 4.", "corrects": str(old["id"])},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 303
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "berichtigt durch Vermerk vom" in page and "berichtigt Vermerk vom 01.03.2026" in page
    assert "Termin am 3." in page  # the old note stays as it was


def test_errors_are_shown_at_the_fields(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    anna = signed_in("anna")
    resp = post_form(anna, f"/cases/{case['id']}/notes", {"text": "", "noted_on": "kein Datum"},
                     token_from=f"/cases/{case['id']}")
    html = _text(resp)
    assert resp.status_code == 422
    assert 'id="note-text-error"' in html and "Bitte geben Sie den Text des Vermerks ein." in html
    assert 'id="note-noted_on-error"' in html and 'value="kein Datum"' in html
    resp = post_form(anna, f"/cases/{case['id']}/notes", {"text": "zu früh", "noted_on": "31.12.2999"},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 422 and "nicht in der Zukunft" in _text(resp)


def test_refusals(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    rita = signed_in("rita")  # auditor: reads, never writes
    page = _text(rita.get(f"/cases/{case['id']}"))
    assert "Vermerke" in page and "Vermerk hinzufügen" not in page
    assert post_form(rita, f"/cases/{case['id']}/notes", {"text": "x"}, token_from="/").status_code == 403
    olga = signed_in("olga")  # another unit: the case is not there
    assert olga.get(f"/cases/{case['id']}/timeline").status_code == 404
    assert post_form(olga, f"/cases/{case['id']}/notes", {"text": "x"}, token_from="/").status_code == 404
    anna = signed_in("anna")
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=town.auth("anna")).status_code == 200
    assert "Vermerk hinzufügen" not in _text(anna.get(f"/cases/{case['id']}"))
    assert post_form(anna, f"/cases/{case['id']}/notes", {"text": "x"}, token_from="/").status_code == 409
    assert client.post(f"/cases/{case['id']}/notes", data={"text": "x"}).status_code in (400, 302, 303)  # no CSRF


def test_hostile_text_is_escaped(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    assert client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": HOSTILE + " Quastenflosser"},
                       headers=town.auth("anna")).status_code == 201
    anna = signed_in("anna")
    for path in (f"/cases/{case['id']}", f"/cases/{case['id']}/timeline", "/search?q=Quastenflosser"):
        html = _text(anna.get(path))
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html, path


def test_search_page_shows_a_note_hit(client, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"), title="Rechnung Büromaterial")
    client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "Lieferant Quastenflosser angerufen"},
                headers=town.auth("anna"))
    html = _text(signed_in("anna").get("/search?q=Quastenflosser"))
    assert "1 Treffer" in html and "Vermerk vom" in html and f'href="/cases/{case["id"]}#note-' in html
    assert "Vermerk" in _text(signed_in("anna").get("/search?q=Quastenflosser"))
    assert "Keine Treffer." in _text(signed_in("olga").get("/search?q=Quastenflosser"))
