"""The personnel office's pages (issue 12): the form for a new personnel file with its fields grouped and the
errors at their fields, and the file's page with its personal data, Grundakte and sub-files' retention."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from eakte.app import create_app
from eakte.models import Case
from eakte.runtime import Runtime
from tests.conftest import make_runtime
from tests.personnel import PERSONNEL_UNIT, PersonnelOffice, build_personnel_office
from tests.web.conftest import log_in, post_form

NEW = "/cases/new"
FORM = NEW + "?case_type=personnel"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
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


def _fields(**more: str) -> dict[str, str]:
    return {"case_type": "personnel", "file_plan_code": "11.10", "unit": PERSONNEL_UNIT,
            "metadata.personnel_number": "P-8008", "metadata.name": "Neu, Nora", "metadata.birth_date": "1990-01-02",
            "metadata.status_group": "Tarifbeschäftigte", "metadata.entry_date": "2030-01-01", **more}


def _error(page: str, control: str) -> str:
    match = re.search(rf'id="{re.escape(control)}-error"><span[^>]*></span><span class="kern-body">([^<]*)<', page)
    assert match, f"no error at {control}"
    return match.group(1)


def test_the_form_groups_the_fields(env) -> None:  # type: ignore[no-untyped-def]
    _rt, signed_in, _office = env
    page = signed_in("petra").get(FORM).get_data(as_text=True)
    legends = re.findall(r'<legend class="kern-label">([^<]*)</legend>', page)
    assert legends == ["Person", "Beschäftigung", "Konto"]
    person = page.split(">Person</legend>")[1].split("</fieldset>")[0]
    assert 'id="metadata-personnel_number"' in person and 'id="metadata-birth_date"' in person
    assert 'id="metadata-employee_user"' in page.split(">Konto</legend>")[1].split("</fieldset>")[0]
    unit = re.search(r'<select[^>]*id="unit".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'value="11" selected', unit)
    assert re.search(r'for="title">Betreff <span class="kern-label__optional">', page)  # made from the fields


def test_errors_sit_at_their_fields(env) -> None:  # type: ignore[no-untyped-def]
    rt, signed_in, _office = env
    petra = signed_in("petra")
    resp = post_form(petra, NEW, _fields(**{"metadata.personnel_number": "P-1001"}), token_from=FORM)
    assert resp.status_code == 422
    message = _error(resp.get_data(as_text=True), "metadata-personnel_number")
    assert "Personalnummer" in message and "bereits" in message
    resp = post_form(petra, NEW, _fields(**{"metadata.employee_user": "niemand"}), token_from=FORM)
    assert resp.status_code == 422
    assert "kein Benutzerkonto »niemand«" in _error(resp.get_data(as_text=True), "metadata-employee_user")
    with rt.db.read() as session:
        assert session.execute(select(Case.id).where(Case.title.like("%Neu, Nora%"))).first() is None
    # anna (clerk in 20) may not create one: the form offers her no personnel unit, the service refuses.
    anna = signed_in("anna")
    resp = post_form(anna, NEW, _fields(unit="20"), token_from=FORM)
    assert resp.status_code == 422 and "11" in _error(resp.get_data(as_text=True), "unit")


def test_created_without_title_and_shown_with_its_sections(env) -> None:  # type: ignore[no-untyped-def]
    rt, signed_in, _office = env
    petra = signed_in("petra")
    resp = post_form(petra, NEW, _fields(), token_from=FORM)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    with rt.db.read() as session:
        case = session.execute(select(Case).where(Case.case_type == "personnel", Case.id > 1)).scalar_one()
    assert case.title == "Personalakte Neu, Nora (P-8008)"
    page = petra.get(resp.headers["Location"]).get_data(as_text=True)
    for heading in ("Person", "Beschäftigung", "Konto"):
        assert '<h3 class="kern-heading-small" id="metadata-group-' in page and f">{heading}</h3>" in page
    assert 'id="documents-heading">Grundakte</h2>' in page
    retention = page.split('id="retention-heading"')[1].split("</section>")[0]
    assert re.search(r"Urlaub</th>\s*<td[^>]*>3 Jahre</td>", retention)
    assert re.search(r"Entgelt/Besoldung</th>\s*<td[^>]*>6 Jahre</td>", retention)
    assert "Beihilfe" not in retention  # the personnel clerk does not see that sub-file
