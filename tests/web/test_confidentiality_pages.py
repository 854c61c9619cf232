"""The confidentiality level on the web pages: the case page's form (raising for clerks, lowering for the head of
unit only), the badge in lists, the level chosen on the new-case form, and the denials."""
from __future__ import annotations

import re
from typing import Any

from eakte.services import identity
from tests.conftest import OPERATOR, Town
from tests.helpers import create_case
from tests.web.conftest import post_form


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _grant(rt: Any, username: str, unit: str, role: str) -> None:
    with rt.db.write() as session:
        identity.grant_role(session, OPERATOR, identity.user_by_name(session, username),
                            identity.UnitRole(unit, role), rt.registry.roles)


def _options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*id="confidentiality".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)"', select.group(0)) if select else []


def test_clerk_raises_and_sees_the_badge_but_cannot_lower(client, town: Town, rt, signed_in) -> None:
    _grant(rt, "anna", "20", "approver")  # so that she keeps seeing a confidential case
    case = create_case(client, town.auth("anna"), title="Personalangelegenheit")
    anna = signed_in("anna")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "Vertraulichkeit" in page and _options(page) == ["open", "restricted", "confidential",
                                                            "strictly_confidential", "secret"]
    resp = post_form(anna, f"/cases/{case['id']}/confidentiality", {"confidentiality": "confidential"},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/cases/{case['id']}")
    page = _text(anna.get(f"/cases/{case['id']}"))
    assert "ist jetzt „vertraulich“" in page
    assert _options(page) == ["confidential", "strictly_confidential", "secret"]  # no lowering offered
    listing = _text(anna.get("/cases"))
    assert re.search(r"Personalangelegenheit.*?kern-badge--warning.*?vertraulich", listing, re.S)
    assert "vertraulich" in _text(anna.get("/"))  # the overview's open cases
    # a hand-made lowering is refused at the field
    refused = post_form(anna, f"/cases/{case['id']}/confidentiality", {"confidentiality": "open"},
                        token_from=f"/cases/{case['id']}")
    assert refused.status_code == 403 and "Amtsleitung" in _text(refused)
    assert 'aria-invalid="true"' in _text(refused)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("anna")).get_json()["confidentiality"] \
        == "confidential"


def test_head_of_unit_lowers(client, town: Town, rt, signed_in) -> None:
    case = create_case(client, town.auth("anna"), confidentiality="secret")
    _grant(rt, "bernd", "20", "head_of_unit")
    bernd = signed_in("bernd")
    page = _text(bernd.get(f"/cases/{case['id']}"))
    assert _options(page) == ["open", "restricted", "confidential", "strictly_confidential", "secret"]
    resp = post_form(bernd, f"/cases/{case['id']}/confidentiality", {"confidentiality": "open"},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 303
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("anna")).get_json()["confidentiality"] \
        == "open"


def test_a_raise_above_ones_role_says_so(client, town: Town, signed_in) -> None:
    case = create_case(client, town.auth("anna"), title="Geheimsache")
    anna = signed_in("anna")
    resp = post_form(anna, f"/cases/{case['id']}/confidentiality", {"confidentiality": "secret"},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/cases")
    listing = _text(anna.get("/cases"))
    assert "Sie sehen die Akte nicht mehr" in listing and "Geheimsache" not in listing.split("</h1>", 1)[-1] \
        .split("Sie sehen die Akte nicht mehr", 1)[-1]
    assert anna.get(f"/cases/{case['id']}").status_code == 404


def test_others_get_no_form_and_no_change(client, town: Town, signed_in) -> None:
    case = create_case(client, town.auth("anna"))
    rita = signed_in("rita")  # auditor: reads, never writes
    page = _text(rita.get(f"/cases/{case['id']}"))
    assert "Vertraulichkeitsstufe:" in page and _options(page) == []
    refused = post_form(rita, f"/cases/{case['id']}/confidentiality", {"confidentiality": "secret"},
                        token_from=f"/cases/{case['id']}")
    assert refused.status_code == 403
    olga = signed_in("olga")  # another unit: the case does not exist for her
    assert olga.get(f"/cases/{case['id']}/confidentiality").status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("anna")).get_json()["confidentiality"] \
        == "open"


def test_unknown_level_is_shown_at_the_field(client, town: Town, signed_in) -> None:
    case = create_case(client, town.auth("anna"))
    anna = signed_in("anna")
    resp = post_form(anna, f"/cases/{case['id']}/confidentiality", {"confidentiality": "<b>streng</b>"},
                     token_from=f"/cases/{case['id']}")
    assert resp.status_code == 422
    html = _text(resp)
    assert "Unbekannte Vertraulichkeitsstufe" in html and "<b>streng</b>" not in html


def test_new_case_form_sets_the_level(town: Town, signed_in) -> None:
    anna = signed_in("anna")
    form = _text(anna.get("/cases/new?case_type=general"))
    assert _options(form)[0] == "open" and "sichtbar ab Freigabe" in form
    resp = post_form(anna, "/cases/new", {"case_type": "general", "title": "Eingestuft", "file_plan_code": "20.30",
                                          "unit": "20", "confidentiality": "restricted"},
                     token_from="/cases/new?case_type=general")
    assert resp.status_code == 303
    page = _text(anna.get(resp.headers["Location"]))
    assert "VS – Nur für den Dienstgebrauch" in page
    bad = post_form(anna, "/cases/new", {"case_type": "general", "title": "x", "file_plan_code": "20.30",
                                         "unit": "20", "confidentiality": "nope"},
                    token_from="/cases/new?case_type=general")
    assert bad.status_code == 422 and 'href="#confidentiality"' in _text(bad)
