"""People come and go (issue 8 point 15): admins deactivate users, revoke their tokens and remove roles, from
the API and the CLI; each is audited, takes effect on the very next request, and claimed tasks are handed back.
Non-admins are refused every one of these."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from eakte.cli import main
from eakte.errors import Forbidden, Unauthorized
from eakte.models import ApiToken, AuditEvent, Membership, Task, User
from eakte.services import cases, identity, workflow
from eakte.services.access import Actor, load_principal
from tests.conftest import OPERATOR, Town, build_town
from tests.helpers import create_case
from workflows.definition import CaseType, Decision, Step
from workflows.registry import load_registry

CHECK = CaseType(key="check", label_de="Prüfung", label_en="Check", start="check", open_schema=True, steps=(
    Step("check", "Prüfen", "Check", "clerk", decisions=(Decision("ok", "OK", "OK", None),)),
))


@pytest.fixture
def town(rt) -> Town:  # type: ignore[no-untyped-def]
    rt.__dict__["registry"] = load_registry(extra={"check": CHECK})
    town = build_town(rt)
    with rt.db.write() as session:  # anna's colleague, who takes over what anna leaves behind
        clara = identity.create_user(session, OPERATOR, "clara", roles=[identity.UnitRole("20", "clerk")])
        town.tokens["clara"] = identity.issue_token(session, OPERATOR, clara, "test")
        town.user_ids["clara"] = clara.id
    return town


def _actor(rt, name: str) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, name), {}))


def _claimed_task(rt, client, town: Town, user: str = "anna") -> int:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth(user), case_type="check", title="Prüfauftrag")
    with rt.db.read() as session:
        task_id = session.execute(select(Task.id).where(Task.case_id == case["id"])).scalar_one()
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth(user)).status_code == 204
    return task_id


def _inbox_ids(client, town: Town, user: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [t["id"] for t in client.get("/api/v1/inbox", headers=town.auth(user)).get_json()["items"]]


def _audit(rt, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())


# --- deactivation -------------------------------------------------------------------------------------------

def test_deactivated_user_is_locked_out_at_once_and_claims_are_released(rt, client, town) -> None:
    task_id = _claimed_task(rt, client, town)
    assert task_id not in _inbox_ids(client, town, "clara")  # anna's claim hides it from her colleague
    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 200

    resp = client.post("/api/v1/users/anna/deactivate", headers=town.auth("admin"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"username": "anna", "is_active": False, "revoked_tokens": 0,
                               "released_tasks": [task_id]}

    denied = client.get("/api/v1/me", headers=town.auth("anna"))  # the very next request
    assert denied.status_code == 401 and denied.mimetype == "application/problem+json"
    with rt.db.read() as session, pytest.raises(Unauthorized):
        identity.check_password(session, "anna", "correct horse battery", {})
    assert task_id in _inbox_ids(client, town, "clara")
    with rt.db.read() as session:
        assert session.get(Task, task_id).claimed_by is None  # type: ignore[union-attr]
    [event] = _audit(rt, "user.deactivate")
    assert event.actor == "admin" and event.object_id == str(town.user_ids["anna"])
    [released] = _audit(rt, "workflow.release")
    assert released.case_id is not None and released.details["reason"] == "user deactivated"
    # Reactivation lets anna in again with her (unrevoked) token.
    assert client.post("/api/v1/users/anna/activate", headers=town.auth("admin")).status_code == 200
    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 200
    assert len(_audit(rt, "user.activate")) == 1


@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/users/anna/deactivate"),
    ("post", "/api/v1/users/anna/activate"),
    ("delete", "/api/v1/users/anna/tokens"),
    ("delete", "/api/v1/users/anna/roles/20/clerk"),
])
def test_non_admins_are_refused(rt, client, town, method: str, path: str) -> None:
    for user in ("bernd", "rita", "anna"):  # an approver, an auditor, and the user herself
        resp = getattr(client, method)(path, headers=town.auth(user))
        assert resp.status_code == 403, (user, resp.get_json())
        assert resp.mimetype == "application/problem+json"
    assert getattr(client, method)(path).status_code == 401
    with rt.db.read() as session:
        anna = identity.user_by_name(session, "anna")
        assert anna.is_active
        assert session.execute(select(Membership).where(Membership.user_id == anna.id)).scalar() is not None
        assert session.execute(select(ApiToken).where(ApiToken.user_id == anna.id,
                                                      ApiToken.revoked_at.is_(None))).scalar() is not None
    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 200
    assert not [e for e in _audit(rt, "user.deactivate") + _audit(rt, "token.revoke_all")
                + _audit(rt, "user.revoke_role")]


def test_non_admin_service_call_is_refused(rt, town) -> None:
    with pytest.raises(Forbidden):
        identity.deactivate_user(rt, _actor(rt, "bernd"), "anna")
    with pytest.raises(Forbidden):
        identity.revoke_tokens(rt, _actor(rt, "rita"), "anna")
    with pytest.raises(Forbidden):
        identity.revoke_role(rt, _actor(rt, "anna"), "anna", identity.UnitRole("20", "clerk"))


def test_admin_cannot_lock_themselves_out_through_the_api(client, town) -> None:
    assert client.post("/api/v1/users/admin/deactivate", headers=town.auth("admin")).status_code == 409
    assert client.delete("/api/v1/users/admin/roles/10/admin", headers=town.auth("admin")).status_code == 409
    assert client.get("/api/v1/me", headers=town.auth("admin")).get_json()["is_admin"]


def test_unknown_user_unit_or_role_is_404(client, town) -> None:
    admin = town.auth("admin")
    assert client.post("/api/v1/users/nobody/deactivate", headers=admin).status_code == 404
    assert client.delete("/api/v1/users/nobody/tokens", headers=admin).status_code == 404
    assert client.delete("/api/v1/users/anna/roles/99/clerk", headers=admin).status_code == 404
    resp = client.delete("/api/v1/users/anna/roles/20/approver", headers=admin)  # a role anna does not hold
    assert resp.status_code == 404 and "approver" in resp.get_json()["detail"]


# --- tokens -------------------------------------------------------------------------------------------------

def test_revoking_all_tokens_takes_effect_on_the_next_request(rt, client, town) -> None:
    with rt.db.write() as session:
        second = identity.issue_token(session, OPERATOR, identity.user_by_name(session, "anna"), "laptop")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200

    resp = client.delete("/api/v1/users/anna/tokens", headers=town.auth("admin"))
    assert resp.status_code == 200 and resp.get_json()["revoked_tokens"] == 2

    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert client.get("/api/v1/me", headers=town.auth("bernd")).status_code == 200  # others keep theirs
    [event] = _audit(rt, "token.revoke_all")
    assert len(event.details["token_ids"]) == 2
    # Nothing left to revoke: no change, no event.
    assert client.delete("/api/v1/users/anna/tokens", headers=town.auth("admin")).get_json()["revoked_tokens"] == 0
    assert len(_audit(rt, "token.revoke_all")) == 1


# --- roles --------------------------------------------------------------------------------------------------

def test_removing_a_role_takes_effect_and_releases_only_tasks_out_of_reach(rt, client, town) -> None:
    with rt.db.write() as session:
        identity.grant_role(session, OPERATOR, identity.user_by_name(session, "anna"),
                            identity.UnitRole("20", "approver"))
    task_id = _claimed_task(rt, client, town)

    kept = client.delete("/api/v1/users/anna/roles/20/approver", headers=town.auth("admin"))
    assert kept.status_code == 200 and kept.get_json()["released_tasks"] == []  # a clerk task: still hers
    gone = client.delete("/api/v1/users/anna/roles/20/clerk", headers=town.auth("admin"))
    assert gone.status_code == 200 and gone.get_json()["released_tasks"] == [task_id]

    me = client.get("/api/v1/me", headers=town.auth("anna")).get_json()
    assert me["roles"] == []
    refused = client.post("/api/v1/cases", headers=town.auth("anna"),
                          json={"file_plan_code": "20.30", "title": "Neu", "unit": "20"})
    assert refused.status_code == 403
    assert task_id in _inbox_ids(client, town, "clara")
    assert [e.details for e in _audit(rt, "user.revoke_role")] == [{"unit": "20", "role": "approver"},
                                                                  {"unit": "20", "role": "clerk"}]


# --- the CLI ------------------------------------------------------------------------------------------------

@pytest.fixture
def run(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    env = {"EAKTE_DATA_DIR": str(tmp_path / "data"), "EAKTE_DATABASE_URL": db_url}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    invoke.env = env  # type: ignore[attr-defined]
    return invoke


def test_cli_deactivate_revoke_and_remove_role(run) -> None:
    assert run("init", "--admin", "chef").exit_code == 0
    assert run("unit", "create", "20", "Kämmerei").exit_code == 0
    assert run("user", "create", "anna", "--unit", "20", "--role", "clerk", "--unit", "20", "--role",
               "approver").exit_code == 0
    run("user", "token", "anna")
    run("user", "token", "anna", "--name", "laptop")

    out = run("user", "role", "anna", "--unit", "20", "--remove", "approver")
    assert out.exit_code == 0 and "-approver" in out.output
    out = run("user", "token", "anna", "--revoke-all")
    assert out.exit_code == 0 and out.output.strip() == "2 tokens of anna revoked."
    out = run("user", "deactivate", "anna")
    assert out.exit_code == 0 and "anna deactivated" in out.output

    from eakte.config import load_settings
    from eakte.bootstrap import build_runtime
    rt = build_runtime(load_settings(environ=run.env))
    try:
        with rt.db.read() as session:
            anna = session.execute(select(User).where(User.username == "anna")).scalar_one()
            assert not anna.is_active
            assert session.execute(select(Membership.role).where(Membership.user_id == anna.id)).scalars().all() \
                == ["clerk"]
            assert all(t.revoked_at for t in session.execute(select(ApiToken).where(ApiToken.user_id == anna.id))
                       .scalars())
            actions = session.execute(select(AuditEvent.action, AuditEvent.actor)
                                      .where(AuditEvent.object_id == str(anna.id))).all()
    finally:
        rt.close()
    assert {a for a, _ in actions} >= {"user.revoke_role", "token.revoke_all", "user.deactivate"}
    assert all(actor.startswith("cli:") for a, actor in actions)

    # Acting in anna's name is refused once she is deactivated; errors are one line and exit 1.
    refused = run("export", "--case-id", "1", "--out", "x.zip", "--user", "anna")
    assert refused.exit_code == 1 and refused.stderr.strip() == "eakte: error: user anna is deactivated"
    for args in (("user", "deactivate", "nobody"), ("user", "role", "anna", "--unit", "20", "--remove", "admin"),
                 ("user", "role", "anna", "--unit", "20")):
        bad = run(*args)
        assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1, (args, bad.output)


def test_service_releases_claims_on_deactivation(rt, town) -> None:
    anna = _actor(rt, "anna")
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Prüfung", "20", "check"), rt.registry)
        workflow.start_workflow(rt, session, anna, case)
        case_id = case.id
    with rt.db.read() as session:
        task_id = session.execute(select(Task.id).where(Task.case_id == case_id)).scalar_one()
    workflow.claim_task(rt, anna, task_id)
    change = identity.deactivate_user(rt, OPERATOR, "anna")
    assert change.released_tasks == (task_id,)
    assert identity.deactivate_user(rt, OPERATOR, "anna").released_tasks == ()  # idempotent
    assert len(_audit(rt, "user.deactivate")) == 1
    with rt.db.read() as session:
        _, _, events = workflow.workflow_of(session, OPERATOR, case_id)
    assert [e.action for e in events][-1] == "released"
