"""Admin pages of the installation (issue 10, points 6-8): file plan with case counts and new positions, the
installed case types, the system status; every other role gets the 403 page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from eakte.models import Unit
from eakte.services import fileplan, identity
from tests.conftest import OPERATOR, Town
from tests.helpers import create_case
from tests.web.conftest import post_form

PAGES = ("/admin/file-plan", "/admin/case-types", "/admin/status")


@pytest.mark.parametrize("user", ["anna", "bernd", "olga", "rita"])
def test_other_roles_get_403(signed_in, user: str) -> None:
    client = signed_in(user)
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "Keine Berechtigung" in resp.get_data(as_text=True)
    refused = post_form(client, "/admin/file-plan", {"code": "99", "title": "Heimlich", "retention_years": "5",
                                                     "disposal": "destroy"}, token_from="/settings")
    assert refused.status_code == 403


def test_admin_pages_need_a_login(web) -> None:
    for path in PAGES:
        resp = web.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_file_plan_shows_case_counts_and_adds_a_position(signed_in, client, rt, town: Town) -> None:
    for title in ("Rechnung 1", "Rechnung 2"):
        create_case(client, town.auth("anna"), plan="20.30", title=title)
    create_case(client, town.auth("olga"), plan="32.10", title="Gewerbe", unit="32")
    admin = signed_in("admin")
    page = admin.get("/admin/file-plan").get_data(as_text=True)
    counts = dict(re.findall(r'data-cases="([\d.]+)">(\d+)<', page))
    assert counts == {"20": "0", "20.30": "2", "32": "0", "32.10": "1"}
    resp = post_form(admin, "/admin/file-plan", {"code": "20.40", "title": "Zuwendungen", "retention_years": "10",
                                                 "disposal": "destroy"})
    assert resp.status_code == 303
    page = admin.get("/admin/file-plan").get_data(as_text=True)
    assert "Aktenplanposition 20.40 angelegt." in page and "Zuwendungen" in page
    node = next(n for n in fileplan.file_plan(rt) if n.code == "20.40")
    assert (node.retention_years, node.disposal) == (10, "destroy")


def test_file_plan_refusals_at_the_field(signed_in, rt, town: Town) -> None:
    admin = signed_in("admin")
    for data, field, text in [
            ({"code": "20.30", "title": "Doppelt", "retention_years": "5"}, "code", "gibt es bereits"),
            ({"code": "abc", "title": "X", "retention_years": "5"}, "code", "Aktenplankennzeichen"),
            ({"code": "21", "title": "", "retention_years": "5"}, "title", "Bezeichnung"),
            ({"code": "21", "title": "X", "retention_years": "viele"}, "retention_years", "ganzen Jahren"),
            ({"code": "21", "title": "X", "retention_years": "500"}, "retention_years", "retention_years")]:
        resp = post_form(admin, "/admin/file-plan", {"disposal": "archive", **data})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 422, data
        assert f'id="{field}-error"' in body and text in body, data
    assert [n.code for n in fileplan.file_plan(rt)] == ["20", "20.30", "32", "32.10"]
    assert admin.post("/admin/file-plan", data={"code": "21", "title": "X", "retention_years": "5",
                                                "disposal": "archive"}).status_code == 400  # no CSRF token


def test_case_types_page_shows_steps_guards_settings_and_missing_units(signed_in, rt, town: Town) -> None:
    with rt.db.write() as session:  # the personnel and levy types' units, which the town itself does not have
        for code, name in (("11", "Personalamt"), ("11.1", "Beihilfestelle"), ("50", "Amt für Wohnungswesen")):
            identity.create_unit(session, OPERATOR, code, name)
    page = signed_in("admin").get("/admin/case-types").get_data(as_text=True)
    assert "Installierte Aktenarten" in page
    assert "(invoice)" in page and "Vier-Augen-Prinzip" in page
    assert "aus den Angaben der Akte berechnet" in page and "(ohne Angabe: 10 Tage)" in page
    assert "danach eskaliert an" in page and "Wertgrenzen (amount_due)" in page
    assert "Einstellungen" in page and "receipt_unit" in page
    # Every unit the types' settings name exists, so none is warned of; a type naming a missing one is.
    assert "die es nicht gibt" not in page


def test_case_types_page_warns_of_missing_units(signed_in, rt, town: Town) -> None:
    with rt.db.write() as session:  # the Kämmerei's code changes: the invoice type's settings name a missing unit
        session.execute(update(Unit).where(Unit.code == "20").values(code="21"))
    page = signed_in("admin").get("/admin/case-types").get_data(as_text=True)
    assert "die es nicht gibt" in page and "20" in page


def test_status_page(signed_in, client, rt, town: Town) -> None:
    page = signed_in("admin").get("/admin/status").get_data(as_text=True)
    assert rt.db.engine.dialect.name in page
    assert rt.db.head_revision() in page and "(aktuell)" in page
    assert rt.settings.storage.backend in page and rt.settings.search.backend in page
    assert "Ausstehende Änderungen" in page and "Fehlgeschlagen" in page
