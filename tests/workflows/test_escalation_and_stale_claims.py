"""Issue 8, points 5 and 6 (review follow-up): an escalation opens a case only to the escalation role in the
escalation unit (and their deputies), in the SQL filters (lists, inbox, search) and the per-object checks alike;
and a claim counts only while its holder may act on the task, so an ended or withdrawn deputyship never keeps a
task from its unit."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from eakte.clock import set_clock, utcnow
from eakte.models import AuditEvent, Case, Task, User
from eakte.services import workflow
from eakte.services.access import can_view_case, claim_binds, claim_still_binds, load_principal, visible_cases_filter
from eakte.services.search import access_filter
from tests.helpers import create_case
from tests.workflows.test_deputies_escalation import (  # noqa: F401 (env is a fixture)
    NOW,
    TODAY,
    deputies,
    env,
    inbox,
    invoice_at_sachlich,
    task_ids,
)
from tests.workflows.test_invoice_flow import decide, my_task


def _principal(rt, town, name: str):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        user = session.get(User, town.user_ids[name])
        return load_principal(session, user, rt.registry.restricted)


def _sees(rt, town, name: str, case_id: int) -> tuple[bool, bool, bool]:  # type: ignore[no-untyped-def]
    """(SQL list filter, per-object check, search access filter) for `name` and the case: they must agree."""
    p = _principal(rt, town, name)
    with rt.db.read() as session:
        listed = session.execute(select(Case.id).where(Case.id == case_id, visible_cases_filter(p))).first()
        case = session.get(Case, case_id)
        searchable = access_filter(session, p, registry=rt.registry).case_ids
        return listed is not None, can_view_case(p, case), case_id in searchable


def _claim_counts_sql(rt, task_id: int) -> bool:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(Task.id).where(Task.id == task_id, claim_binds())).first() is not None


def _claim_counts_py(rt, task_id: int) -> bool:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return claim_still_binds(session, session.get(Task, task_id), rt.registry.restricted)


def _releases(rt, task_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.details for e in session.execute(select(AuditEvent).where(
            AuditEvent.action == "workflow.release", AuditEvent.object_id == str(task_id))
            .order_by(AuditEvent.id)).scalars()]


def _claimed_by(rt, task_id: int) -> int | None:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(Task.claimed_by).where(Task.id == task_id)).scalar()


# --- point 5: the escalation opens the case to the escalation role only ----------------------------------

def test_escalation_opens_the_case_only_to_the_escalation_role_and_its_deputies(env) -> None:
    rt, town, client = env
    case = create_case(client, town.auth("anna"), title="Vorlage Haushalt", case_type="memo")
    task_id = my_task(client, town, "anna", case["id"])["id"]
    assert workflow.escalate_overdue(rt, utcnow() + dt.timedelta(days=2)) == 1
    # hugo: a plain clerk of the escalation unit. Denied everywhere, by the SQL filters and the object checks.
    assert _sees(rt, town, "hugo", case["id"]) == (False, False, False)
    assert case["id"] not in {c["id"] for c in client.get("/api/v1/cases", headers=town.auth("hugo"))
                              .get_json()["items"]}
    assert task_id not in task_ids(inbox(client, town, "hugo"))
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("hugo")).status_code == 404
    assert decide(client, town, "hugo", task_id, "ok").status_code == 404
    # The head of the unit (the escalation role) sees it in every view.
    assert _sees(rt, town, "leiter", case["id"]) == (True, True, True)
    # Named by the head as deputy (same unit), hugo holds the escalation role for the period: he may decide.
    assert deputies(client, town, "leiter", "hugo").status_code == 200
    assert _sees(rt, town, "hugo", case["id"]) == (True, True, True)
    assert task_id in task_ids(inbox(client, town, "hugo"))
    assert decide(client, town, "hugo", task_id, "ok").status_code == 200


# --- point 6: a claim counts only while its holder may act ----------------------------------------------

def test_claim_by_an_expired_deputy_no_longer_counts_and_is_released_on_takeover(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    assert deputies(client, town, "admin", "kurt", path="/api/v1/users/otto/deputies", end=TODAY).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 204
    # While the deputyship runs the claim binds: the unit's other approver neither sees nor takes the task.
    assert _claim_counts_sql(rt, task_id) and _claim_counts_py(rt, task_id)
    assert task_id not in task_ids(inbox(client, town, "ute"))
    wf = client.get(f"/api/v1/cases/{case_id}/workflow", headers=town.auth("ute")).get_json()
    assert [t["claimed_by"] for t in wf["open_tasks"] if t["id"] == task_id] == ["kurt"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("ute")).status_code == 409
    assert decide(client, town, "ute", task_id, "approve").status_code == 409

    set_clock(lambda: NOW + dt.timedelta(days=1))  # the deputyship is over
    assert not _claim_counts_sql(rt, task_id) and not _claim_counts_py(rt, task_id)
    assert task_id not in task_ids(inbox(client, town, "kurt"))
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code in (403, 404)
    shown = next(t for t in inbox(client, town, "ute")["items"] if t["id"] == task_id)
    assert shown["claimed_by"] is None and {d["key"]: d["allowed"] for d in shown["decisions"]}["approve"] is True
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("ute")).status_code == 204
    assert _claimed_by(rt, task_id) == town.user_ids["ute"]
    assert _releases(rt, task_id) == [{"claimed_by": town.user_ids["kurt"],
                                       "reason": "claimant may no longer act on this task"}]
    # Now ute's claim binds: otto (back from his absence) cannot decide it under her.
    assert decide(client, town, "otto", task_id, "approve").status_code == 409
    assert decide(client, town, "ute", task_id, "approve").status_code == 200
    history = client.get(f"/api/v1/cases/{case_id}/workflow", headers=town.auth("ute")).get_json()["history"]
    assert [(e["action"], e["actor"]) for e in history if e["action"] in ("claimed", "released", "decided")][-4:] \
        == [("claimed", "kurt"), ("released", "ute"), ("claimed", "ute"), ("decided", "ute")]


def test_removing_a_deputy_releases_their_claims_at_once(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    assert deputies(client, town, "admin", "kurt", path="/api/v1/users/otto/deputies").status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 204
    # Replacing the appointment by another deputy keeps nothing for kurt.
    assert deputies(client, town, "otto", "ute").status_code == 200
    assert _claimed_by(rt, task_id) is None
    assert [r["claimed_by"] for r in _releases(rt, task_id)] == [town.user_ids["kurt"]]
    assert decide(client, town, "kurt", task_id, "approve").status_code in (403, 404)
    assert decide(client, town, "ute", task_id, "approve").status_code == 200


def test_changing_deputies_keeps_claims_the_deputy_may_still_act_on(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    assert deputies(client, town, "otto", "ute").status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("ute")).status_code == 204
    assert deputies(client, town, "otto").status_code == 200  # ute is an approver of 32 in her own right
    assert _claimed_by(rt, task_id) == town.user_ids["ute"] and _releases(rt, task_id) == []
    assert decide(client, town, "otto", task_id, "approve").status_code == 409


def test_periodic_job_releases_claims_of_ended_deputyships(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    assert deputies(client, town, "admin", "kurt", path="/api/v1/users/otto/deputies", end=TODAY).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 204
    assert workflow.release_stale_claims(rt) == 0  # still his: the period runs today
    assert _claimed_by(rt, task_id) == town.user_ids["kurt"]
    set_clock(lambda: NOW + dt.timedelta(days=1))
    assert workflow.release_stale_claims(rt) == 1
    assert _claimed_by(rt, task_id) is None
    assert _releases(rt, task_id) == [{"claimed_by": town.user_ids["kurt"], "reason": "deputyship ended"}]
    assert workflow.release_stale_claims(rt) == 0  # idempotent
