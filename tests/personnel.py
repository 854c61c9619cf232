"""A personnel office for the personnel-file tests (issue 12): the town of tests.conftest plus the personnel
unit 11, the Beihilfe unit 11.1, their people, an employee with an account, and one personnel file whose
Grundakte and Beihilfe sub-file each hold a word found nowhere else. Built through the API, as a client would."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from eakte.runtime import Runtime
from eakte.services import fileplan, identity
from tests.conftest import OPERATOR, Town, build_town
from tests.helpers import pdf_bytes

PERSONNEL_UNIT, BEIHILFE_UNIT = "11", "11.1"
# Words that occur only in the personnel file: one in its Grundakte, one in its Beihilfe sub-file.
GRUNDAKTE_WORD, BEIHILFE_WORD = "Zwergpinscherzucht", "Heilpraktikerrechnung"
PERSONNEL_USERS = {
    "petra": [(PERSONNEL_UNIT, "clerk")],                                  # personnel clerk (reader)
    "hanna": [(PERSONNEL_UNIT, "clerk"), (PERSONNEL_UNIT, "head_of_unit")],  # head of the personnel office
    "paul": [(PERSONNEL_UNIT, "approver")],                                # in the unit, without the reader role
    "bea": [(BEIHILFE_UNIT, "clerk")],                                     # Beihilfe clerk
    "lars": [("32", "approver"), ("32", "head_of_unit")],                  # the employee's line manager
    "emil": [],                                                            # the employee: no unit at all
}
EMPLOYEE = "emil"


@dataclass
class PersonnelFile:
    case: dict[str, Any]
    subfiles: dict[str, int]  # sub-file key → procedure id
    grundakte_document: int
    beihilfe_document: int


@dataclass
class PersonnelOffice:
    town: Town
    file: PersonnelFile
    extra: dict[str, Any] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return self.town.auth(username)


def personnel_metadata(number: str = "P-1001", name: str = "Muster, Erika", user: str | None = EMPLOYEE,
                       **more: Any) -> dict[str, Any]:
    meta = {"personnel_number": number, "name": name, "birth_date": "1980-04-12", "status_group": "Beamte",
            "entry_date": "2010-08-01", "employing_unit": "32", **more}
    if user:
        meta["employee_user"] = user
    return meta


def create_personnel_file(client: FlaskClient, town: Town, **metadata: Any) -> dict[str, Any]:
    meta = personnel_metadata(**metadata)
    resp = client.post("/api/v1/cases", headers=town.auth("petra"), json={
        "file_plan_code": "11.10", "unit": PERSONNEL_UNIT, "case_type": "personnel",
        "title": f"Personalakte {meta['name']} ({meta['personnel_number']})", "metadata": meta})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def upload_document(client: FlaskClient, town: Town, user: str, case_id: int, text: str, *,
                    procedure_id: int | None = None, kind: str = "document", title: str = "Dokument") -> dict:  # type: ignore[type-arg]
    url = f"/api/v1/procedures/{procedure_id}/documents" if procedure_id else f"/api/v1/cases/{case_id}/documents"
    resp = client.post(url, headers=town.auth(user), content_type="multipart/form-data", data={
        "file": (io.BytesIO(pdf_bytes(title, text)), "dokument.pdf", "application/pdf"), "title": title,
        "kind": kind})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def subfile_ids(client: FlaskClient, town: Town, user: str, case_id: int) -> dict[str, int]:
    resp = client.get(f"/api/v1/cases/{case_id}/procedures", headers=town.auth(user))
    assert resp.status_code == 200, resp.get_json()
    return {p["subfile"]: p["id"] for p in resp.get_json()["items"] if p.get("subfile")}


def build_personnel_office(rt: Runtime, client: FlaskClient) -> PersonnelOffice:
    town = build_town(rt)
    with rt.db.write() as session:
        identity.create_unit(session, OPERATOR, PERSONNEL_UNIT, "Personalamt")
        identity.create_unit(session, OPERATOR, BEIHILFE_UNIT, "Beihilfestelle")
        fileplan.add_node(session, OPERATOR, "11", "Personal", 5, "archive")
        fileplan.add_node(session, OPERATOR, "11.10", "Personalakten", 5, "archive")
        for username, roles in PERSONNEL_USERS.items():
            user = identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                        roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.user_ids[username] = user.id
            town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
    case = create_personnel_file(client, town)
    # The Beihilfe clerk files into the Beihilfe sub-file, the personnel clerk into the Grundakte.
    subs = subfile_ids(client, town, "petra", case["id"]) | subfile_ids(client, town, "bea", case["id"])
    grund = upload_document(client, town, "petra", case["id"], f"Dienstliche Beurteilung {GRUNDAKTE_WORD}",
                            title="Ernennungsurkunde", kind="contract")
    beihilfe = upload_document(client, town, "bea", case["id"], f"Beihilfeantrag {BEIHILFE_WORD}",
                               procedure_id=subs["beihilfe"], title="Beihilfeantrag", kind="beihilfe")
    return PersonnelOffice(town, PersonnelFile(case, subs, grund["id"], beihilfe["id"]))
