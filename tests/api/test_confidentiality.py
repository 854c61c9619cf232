"""Confidentiality levels (Vertraulichkeitsstufe): who sees a case of each level, the SQL filter and the Python
check agreeing; search, totals, facets and the inbox not leaking; raising, lowering and their audit events."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from eakte.config import DEFAULT_CONFIDENTIALITY_LEVELS, ConfidentialitySettings
from eakte.models import Case, Task, Unit, WorkflowInstance
from eakte.services import identity, workflow
from eakte.services.access import (
    Actor,
    Principal,
    can_view_case,
    level_hidden_cases,
    load_principal,
    own_unit_cases_filter,
    visible_case_rows_filter,
    visible_cases_filter,
    visible_tasks_filter,
)
from tests.conftest import OPERATOR, Town
from tests.helpers import create_case, pdf_bytes, upload

LEVELS = ("open", "restricted", "confidential", "strictly_confidential", "secret")


def _grant(rt: Any, username: str, unit: str, role: str) -> None:
    with rt.db.write() as session:
        identity.grant_role(session, OPERATOR, identity.user_by_name(session, username),
                            identity.UnitRole(unit, role), rt.registry.roles)


def _add_user(rt: Any, town: Town, username: str, roles: list[tuple[str, str]]) -> None:
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                    roles=[identity.UnitRole(u, r) for u, r in roles], known_roles=rt.registry.roles)
        town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
        town.user_ids[username] = user.id


def _set_level(rt: Any, case_id: int, level: str) -> None:
    with rt.db.write() as session:
        session.get(Case, case_id).confidentiality = level


def _task(rt: Any, case_id: int, unit: str, role: str) -> int:
    with rt.db.write() as session:
        unit_id = session.execute(select(Unit.id).where(Unit.code == unit)).scalar_one()
        instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.case_id == case_id)).scalar()
        if instance is None:
            instance = WorkflowInstance(case_id=case_id, case_type="general", current_step="pruefen")
            session.add(instance)
            session.flush()
        task = Task(instance_id=instance.id, case_id=case_id, case_type="general", step="pruefen", unit_id=unit_id,
                    role=role)
        session.add(task)
        session.flush()
        return task.id


# --- the rule: every level × role, SQL and Python agreeing ------------------------------------------------

def test_visibility_per_level_and_role_sql_and_python_agree(client, town, rt) -> None:
    case = create_case(client, town.auth("anna"))
    _task(rt, case["id"], "32", "clerk")     # brings the case to the Ordnungsamt's clerks …
    _task(rt, case["id"], "32", "approver")  # … and approvers
    with rt.db.read() as session:
        units = dict(session.execute(select(Unit.code, Unit.id)).all())
    k, o = units["20"], units["32"]
    people = {
        "clerk": Principal(1, "clerk", {k: frozenset({"clerk"})}),
        "approver": Principal(2, "approver", {k: frozenset({"approver"})}),
        "clerk+approver": Principal(3, "ca", {k: frozenset({"clerk", "approver"})}),
        "head": Principal(4, "head", {k: frozenset({"head_of_unit"})}),
        "mayor only": Principal(5, "mayor", {k: frozenset({"mayor"})}),
        # a clerk standing in for the absent head acts with the head's roles
        "deputy of head": Principal(6, "dep", {k: frozenset({"clerk"})}, {k: frozenset({"head_of_unit"})},
                                    frozenset({99}), deputy_roles_of={99: {k: frozenset({"head_of_unit"})}}),
        "other unit": Principal(7, "other", {units["10"]: frozenset({"clerk"})}),
        "participant clerk": Principal(8, "pc", {o: frozenset({"clerk"})}),
        "participant approver": Principal(9, "pa", {o: frozenset({"approver"})}),
        "auditor": Principal(10, "auditor", {units["14"]: frozenset({"auditor"})}),
        "admin": Principal(11, "admin", {units["10"]: frozenset({"admin"})}),
    }
    expected = {  # open, restricted, confidential, strictly_confidential, secret
        "clerk": "11000", "approver": "11110", "clerk+approver": "11110", "head": "11111", "mayor only": "11000",
        "deputy of head": "11111", "other unit": "00000", "participant clerk": "11000",
        "participant approver": "11110", "auditor": "11111", "admin": "11111",
    }
    for i, level in enumerate(LEVELS):
        _set_level(rt, case["id"], level)
        with rt.db.read() as session:
            row = session.get(Case, case["id"])
            for who, p in people.items():
                python = can_view_case(p, row)
                sql = session.execute(select(Case.id).where(Case.id == row.id, visible_cases_filter(p))).first()
                per_row = session.execute(select(Case.id).where(Case.id == row.id,
                                                                visible_case_rows_filter(p))).first()
                tasks = session.execute(select(Task.id).where(Task.case_id == row.id,
                                                              visible_tasks_filter(p))).first()
                want = expected[who][i] == "1"
                assert python is want, (level, who)
                assert (sql is not None) is want and (per_row is not None) is want, (level, who)
                assert (tasks is not None) is want, (level, who)
                hidden = level_hidden_cases(p)
                hidden_ids = set(session.execute(hidden).scalars()) if hidden is not None else set()
                assert (row.id in hidden_ids) is (not want and who not in ("other unit",)), (level, who)
                mine = session.execute(select(Case.id).where(Case.id == row.id, own_unit_cases_filter(p))).first()
                assert (mine is not None) is (want and k in p.roles_by_unit), (level, who)


def test_unknown_level_counts_as_the_highest(client, town, rt) -> None:
    case = create_case(client, town.auth("anna"))
    _set_level(rt, case["id"], "removed_from_config")
    with rt.db.read() as session:
        k = session.execute(select(Unit.id).where(Unit.code == "20")).scalar_one()
        row = session.get(Case, case["id"])
        for p, want in [(Principal(1, "c", {k: frozenset({"approver"})}), False),
                        (Principal(2, "h", {k: frozenset({"head_of_unit"})}), True)]:
            assert can_view_case(p, row) is want
            assert (session.execute(select(Case.id).where(visible_cases_filter(p))).first() is not None) is want


def test_auditors_can_be_kept_out_of_a_level(client, town, rt) -> None:
    levels = DEFAULT_CONFIDENTIALITY_LEVELS[:-1] + (replace(DEFAULT_CONFIDENTIALITY_LEVELS[-1], auditors=False),)
    c = ConfidentialitySettings(levels=levels)
    case = create_case(client, town.auth("anna"))
    _set_level(rt, case["id"], "secret")
    with rt.db.read() as session:
        units = dict(session.execute(select(Unit.code, Unit.id)).all())
        row = session.get(Case, case["id"])
        auditor = Principal(1, "rita", {units["14"]: frozenset({"auditor"})}, confidentiality=c)
        assert can_view_case(auditor, row) is False
        assert session.execute(select(Case.id).where(visible_cases_filter(auditor))).first() is None
        assert set(session.execute(level_hidden_cases(auditor)).scalars()) == {row.id}
        # an auditor who is also the unit's head sees it as a member
        head = Principal(2, "h", {units["14"]: frozenset({"auditor"}), units["20"]: frozenset({"head_of_unit"})},
                         confidentiality=c)
        assert can_view_case(head, row) is True
        assert session.execute(select(Case.id).where(visible_cases_filter(head))).first() is not None


# --- search, totals and facets --------------------------------------------------------------------------

def test_search_hits_totals_and_facets_do_not_leak(client, town, rt) -> None:
    anna = town.auth("anna")
    _add_user(rt, town, "hans", [("20", "clerk"), ("20", "approver")])
    hidden = create_case(client, anna, title="Vertrauliche Angelegenheit")
    assert upload(client, anna, hidden["id"], pdf_bytes("Akte", "Quastenflosser vertraulich"),
                  title="Vermerk").status_code == 201
    shown = create_case(client, anna, title="Offene Angelegenheit")
    upload(client, anna, shown["id"], pdf_bytes("Akte", "Quastenflosser offen"), title="Brief")
    resp = client.patch(f"/api/v1/cases/{hidden['id']}", json={"confidentiality": "confidential"}, headers=anna)
    assert resp.status_code == 200 and resp.get_json()["confidentiality"] == "confidential"
    found = client.get("/api/v1/search?q=Quastenflosser", headers=anna).get_json()
    assert [h["case_id"] for h in found["items"]] == [shown["id"]]
    assert found["total"] == 1
    assert "Vertrauliche" not in str(found["facets"]) and sum(found["facets"]["case_type"].values()) == 1
    both = client.get("/api/v1/search?q=Quastenflosser", headers=town.auth("hans")).get_json()
    assert both["total"] == 2 and sum(both["facets"]["case_type"].values()) == 2
    assert client.get("/api/v1/search?q=Quastenflosser", headers=town.auth("rita")).get_json()["total"] == 2
    # lists and totals of cases
    assert client.get("/api/v1/cases", headers=anna).get_json()["total"] == 1
    assert client.get("/api/v1/cases", headers=town.auth("hans")).get_json()["total"] == 2
    for url in [f"/api/v1/cases/{hidden['id']}", f"/api/v1/cases/{hidden['id']}/audit",
                f"/api/v1/cases/{hidden['id']}/documents"]:
        assert client.get(url, headers=anna).status_code == 404, url


# --- the inbox --------------------------------------------------------------------------------------------

def _inbox(rt: Any, username: str) -> tuple[list[int], int]:
    """The inbox as the service gives it (the fake tasks name no step of a real case type, which the API's rows
    would need for their labels)."""
    with rt.db.read() as session:
        actor = Actor(load_principal(session, identity.user_by_name(session, username),
                                     rt.registry.restricted, rt.settings.confidentiality))
    page, total, _ = workflow.inbox_page(rt, actor, workflow.InboxFilter(), offset=0, limit=50)
    return [t.id for t in page.tasks], total


def test_inbox_drops_tasks_of_a_case_raised_above_the_user(client, town, rt) -> None:
    anna = town.auth("anna")
    case = create_case(client, anna)
    task_id = _task(rt, case["id"], "20", "clerk")
    ordering = _task(rt, case["id"], "32", "clerk")  # the Ordnungsamt's share (olga)
    assert _inbox(rt, "anna") == ([task_id], 1)
    assert _inbox(rt, "olga") == ([ordering], 1)
    client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "confidential"}, headers=anna)
    assert _inbox(rt, "anna") == ([], 0)
    assert _inbox(rt, "olga") == ([], 0)
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=anna).status_code == 404
    assert client.post(f"/api/v1/tasks/{ordering}/claim", headers=town.auth("olga")).status_code == 404
    _grant(rt, "anna", "20", "approver")  # clerk and approver: the task is hers again
    assert _inbox(rt, "anna") == ([task_id], 1)
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=anna).status_code == 204


# --- changing the level -----------------------------------------------------------------------------------

def _audit(client: Any, town: Town, case_id: int) -> list[dict[str, Any]]:
    return [e for e in client.get(f"/api/v1/cases/{case_id}/audit", headers=town.auth("admin")).get_json()["items"]
            if e["action"] == "case.confidentiality_changed"]


def test_raise_by_clerk_lower_by_head_refused_to_clerk(client, town, rt) -> None:
    anna = town.auth("anna")
    _grant(rt, "anna", "20", "approver")  # anna keeps seeing confidential cases
    _add_user(rt, town, "heike", [("20", "head_of_unit")])
    case = create_case(client, anna)
    assert case["confidentiality"] == "open"
    raised = client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "confidential"}, headers=anna)
    assert raised.status_code == 200 and raised.get_json()["confidentiality"] == "confidential"
    lowered = client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "open"}, headers=anna)
    assert lowered.status_code == 403
    assert lowered.headers["Content-Type"] == "application/problem+json"
    assert "confidentiality" in str(lowered.get_json())
    # the head of unit lowers it, though not a clerk
    ok = client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "restricted"},
                      headers=town.auth("heike"))
    assert ok.status_code == 200 and ok.get_json()["confidentiality"] == "restricted"
    # but a head of unit without the clerk role may not change anything else
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"},
                        headers=town.auth("heike")).status_code == 403
    events = _audit(client, town, case["id"])
    assert [(e["details"]["old"], e["details"]["new"], e["actor"]) for e in events] == [
        ("open", "confidential", "anna"), ("confidential", "restricted", "heike")]
    assert events[0]["details"]["xdomea_code_new"] == "005"
    # the same level again changes nothing
    client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "restricted"}, headers=anna)
    assert len(_audit(client, town, case["id"])) == 2


def test_a_raise_may_lock_the_clerk_out(client, town) -> None:
    anna = town.auth("anna")
    case = create_case(client, anna)
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "secret"},
                        headers=anna).status_code == 200
    assert client.get(f"/api/v1/cases/{case['id']}", headers=anna).status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("admin")).get_json()["confidentiality"] \
        == "secret"


@pytest.mark.parametrize("body", [{"confidentiality": "top_secret"}, {"confidentiality": ""}])
def test_unknown_level_is_refused_naming_the_field(client, town, body) -> None:
    anna = town.auth("anna")
    case = create_case(client, anna)
    resp = client.patch(f"/api/v1/cases/{case['id']}", json=body, headers=anna)
    assert resp.status_code == 422 and "confidentiality" in str(resp.get_json())
    created = client.post("/api/v1/cases", json={"file_plan_code": "20.30", "title": "x", "unit": "20", **body},
                          headers=anna)
    assert created.status_code == 422 and "confidentiality" in str(created.get_json())


def test_denials(client, town, rt) -> None:
    anna = town.auth("anna")
    case = create_case(client, anna)
    for who, status in [("olga", 404), ("rita", 403), ("bernd", 403)]:  # other unit; auditor; approver, no clerk
        resp = client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "confidential"},
                            headers=town.auth(who))
        assert resp.status_code == status, who
    client.post(f"/api/v1/cases/{case['id']}/close", headers=anna)
    closed = client.patch(f"/api/v1/cases/{case['id']}", json={"confidentiality": "confidential"}, headers=anna)
    assert closed.status_code == 409
    assert _audit(client, town, case["id"]) == []


def test_level_set_at_creation(client, town) -> None:
    anna = town.auth("anna")
    case = create_case(client, anna, confidentiality="restricted")
    assert case["confidentiality"] == "restricted"
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=anna).get_json()["items"]
    assert trail[0]["details"]["confidentiality"] == "restricted"
    listed = client.get("/api/v1/cases", headers=anna).get_json()["items"]
    assert listed[0]["confidentiality"] == "restricted"


def test_export_carries_the_level_and_its_xdomea_code(client, town) -> None:
    import io
    import json
    import zipfile
    case = create_case(client, town.auth("anna"), confidentiality="restricted")
    resp = client.post("/api/v1/exports", json={"case_ids": [case["id"]]}, headers=town.auth("rita"))
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        meta = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("/case.json"))))
    assert meta["confidentiality"] == "restricted" and meta["confidentiality_xdomea_code"] == "002"
