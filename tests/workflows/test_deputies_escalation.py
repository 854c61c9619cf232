"""Who may act on a workflow task besides its unit (issue 8, points 3-6): deputies only from the absent person's
own units (or appointed by an admin), only within their dates and only where the absent person could act;
value-tier roles held in the step's unit; escalation targets that can really decide; and restricted case types
(personnel files) that no inbox, count or workflow view shows outside their unit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte.app import create_app
from eakte.clock import set_clock, utcnow
from eakte.models import AuditEvent, Deputy
from eakte.services import fileplan, identity, workflow
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case
from tests.workflows.test_invoice_flow import EXTRA_USERS, INVOICE_SETTINGS, XR, decide, intake, my_task
from workflows.definition import (Actor, CaseType, Decision, DueInDays, GuardContext, Step, Tier, ValueTiers)
from workflows.invoice.case_type import invoice_case_type
from workflows.registry import load_registry

TODAY = dt.date(2030, 3, 4)  # a Monday; the clock is fixed to it, so the deputies' dates mean something
NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)


def _one_step_type(key: str, *, restricted: bool = False) -> CaseType:
    """A case its unit's clerk decides within a day; overdue, it goes to the head of the Hauptamt (unit 10)."""
    return CaseType(key=key, label_de=key, label_en=key, open_schema=True, restricted=restricted,
                    extra_roles=("head_of_unit",), start="pruefen", steps=(
                        Step("pruefen", "Prüfen", "Check", "clerk", due=DueInDays(1),
                             escalate_to=("10", "head_of_unit"),
                             decisions=(Decision("ok", "Erledigt", "Done", None),)),))


MEMO = _one_step_type("memo")
PERSONNEL = _one_step_type("personnel_file", restricted=True)
MORE_USERS = {
    "heidi": [("32", "approver"), ("20", "head_of_unit")],  # heads the Kämmerei, not the Ordnungsamt
    "leiter": [("10", "head_of_unit")],                     # target of overdue memos and personnel files
    "paula": [("11", "clerk"), ("10", "clerk")],            # Personalamt, also in the Hauptamt
    "pia": [("11", "clerk")],
    "hugo": [("10", "clerk")],
}


@pytest.fixture
def env(tmp_path, db_url) -> Iterator[tuple[Any, Any, Any]]:  # type: ignore[no-untyped-def]
    set_clock(lambda: NOW)
    rt = make_runtime(tmp_path, db_url, case_types=INVOICE_SETTINGS)
    rt.__dict__["registry"] = load_registry(INVOICE_SETTINGS, extra={"memo": MEMO, "personnel_file": PERSONNEL})
    town = build_town(rt)
    with rt.db.write() as session:
        identity.create_unit(session, OPERATOR, "11", "Personalamt")
        fileplan.add_node(session, OPERATOR, "11", "Personal", 10, "archive")
        fileplan.add_node(session, OPERATOR, "11.01", "Personalakten", 10, "archive")
        for name, roles in {**EXTRA_USERS, **MORE_USERS}.items():
            user = identity.create_user(session, OPERATOR, name, roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.tokens[name] = identity.issue_token(session, OPERATOR, user)
            town.user_ids[name] = user.id
    try:
        yield rt, town, create_app(rt).test_client()
    finally:
        set_clock(None)
        rt.close()


def deputies(client, town, user: str, *names: str, path: str = "/api/v1/me/deputies",  # type: ignore[no-untyped-def]
             start: dt.date = TODAY, end: dt.date = TODAY + dt.timedelta(days=4)):
    return client.put(path, headers=town.auth(user), json={"deputies": [
        {"user": n, "from": start.isoformat(), "to": end.isoformat()} for n in names]})


def inbox(client, town, user: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/inbox", headers=town.auth(user))
    assert resp.status_code == 200
    return resp.get_json()


def invoice_at_sachlich(client, town, sample: str = "01.01a-INVOICE_ubl.xml") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(case id, task id) of an invoice routed to the Ordnungsamt (32), waiting for "sachlich richtig"."""
    case_id = intake(client, town, XR / sample).get_json()["case"]["id"]
    client.patch(f"/api/v1/cases/{case_id}", json={"metadata": {"ordering_unit": "32"}}, headers=town.auth("anna"))
    assert decide(client, town, "anna", my_task(client, town, "anna", case_id)["id"], "forward").status_code == 200
    task = my_task(client, town, "otto", case_id)
    assert task["step"] == "sachlich"
    return case_id, task["id"]


def task_ids(box: dict[str, Any]) -> set[int]:
    return {t["id"] for t in box["items"]}


def deputy_events(rt) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.details for e in session.execute(select(AuditEvent).where(
            AuditEvent.action == "user.set_deputies").order_by(AuditEvent.id)).scalars()]


# --- point 3: deputies ------------------------------------------------------------------------------------

def test_deputy_from_another_unit_is_refused_and_cannot_decide(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    # otto (Ordnungsamt approver) names kurt (Kämmerei clerk): that would hand approval to another unit.
    refused = deputies(client, town, "otto", "kurt")
    assert refused.status_code == 403 and refused.headers["Content-Type"] == "application/problem+json"
    assert "kurt" in refused.get_json()["detail"] and "admin" in refused.get_json()["detail"]
    assert deputy_events(rt) == []
    # A self-made appointment across units stored before this rule gives kurt nothing either.
    with rt.db.write() as session:
        session.add(Deputy(user_id=town.user_ids["otto"], deputy_id=town.user_ids["kurt"], starts_on=TODAY,
                           ends_on=TODAY + dt.timedelta(days=4)))
    assert task_id not in task_ids(inbox(client, town, "kurt"))
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 403
    assert decide(client, town, "kurt", task_id, "approve").status_code == 403
    assert my_task(client, town, "otto", case_id)["id"] == task_id  # still open, still otto's unit's


def test_deputy_acts_only_within_dates_and_the_shared_units(env) -> None:
    rt, town, client = env
    _, sachlich = invoice_at_sachlich(client, town)
    at_receipt = intake(client, town, XR / "01.02a-INVOICE_ubl.xml").get_json()["case"]["id"]
    eingang = my_task(client, town, "mia", at_receipt)["id"]  # mia is a Kämmerei clerk too
    # mia (approver in 32, clerk in 20) names olga (clerk in 32) from tomorrow for four days.
    start = TODAY + dt.timedelta(days=1)
    assert deputies(client, town, "mia", "olga", start=start, end=start + dt.timedelta(days=3)).status_code == 200
    assert deputy_events(rt)[-1] == {"user": "mia", "by_admin": False, "deputies": [
        {"user": "olga", "from": start.isoformat(), "to": (start + dt.timedelta(days=3)).isoformat()}]}
    assert sachlich not in task_ids(inbox(client, town, "olga"))  # not yet
    assert decide(client, town, "olga", sachlich, "approve").status_code == 403

    set_clock(lambda: NOW + dt.timedelta(days=1))
    box = task_ids(inbox(client, town, "olga"))
    assert sachlich in box
    # mia's clerk role in the Kämmerei is not olga's to use: she shares only the Ordnungsamt with mia.
    assert eingang not in box
    assert decide(client, town, "olga", eingang, "forward").status_code == 404
    done = decide(client, town, "olga", sachlich, "approve")
    assert done.status_code == 200, done.get_json()
    with rt.db.read() as session:
        decided = session.execute(select(AuditEvent).where(AuditEvent.action == "workflow.decide",
                                                           AuditEvent.object_id == str(sachlich))).scalar_one()
    assert decided.actor == "olga" and decided.details["on_behalf_of"] == ["mia"]

    set_clock(lambda: NOW + dt.timedelta(days=5))  # the absence is over
    _, later = invoice_at_sachlich(client, town, "01.03a-INVOICE_ubl.xml")
    assert later not in task_ids(inbox(client, town, "olga"))
    assert decide(client, town, "olga", later, "approve").status_code == 403


def test_deputy_may_not_do_what_the_absent_person_may_not(env) -> None:
    """Four-eyes counts the absent person: mia's deputy cannot order the payment mia confirmed herself."""
    rt, town, client = env
    case_id, sachlich = invoice_at_sachlich(client, town)
    assert decide(client, town, "mia", sachlich, "approve").status_code == 200
    assert decide(client, town, "anna", my_task(client, town, "anna", case_id)["id"], "approve").status_code == 200
    anordnung = my_task(client, town, "otto", case_id)
    assert anordnung["step"] == "anordnung"
    assert deputies(client, town, "mia", "olga").status_code == 200
    offered = {d["key"]: d for d in my_task(client, town, "olga", case_id)["decisions"]}
    assert offered["approve"]["allowed"] is False and "four-eyes" in offered["approve"]["reason"]
    refused = decide(client, town, "olga", anordnung["id"], "approve")
    assert refused.status_code == 403 and "four-eyes" in refused.get_json()["detail"]
    assert decide(client, town, "otto", anordnung["id"], "approve").status_code == 200  # in his own right


def test_admin_appoints_a_deputy_from_another_unit(env) -> None:
    rt, town, client = env
    case_id, task_id = invoice_at_sachlich(client, town)
    path = "/api/v1/users/otto/deputies"
    assert deputies(client, town, "otto", "kurt", path=path).status_code == 403  # not an admin
    assert deputies(client, town, "admin", "kurt", path="/api/v1/users/nobody/deputies").status_code == 404
    assert deputies(client, town, "admin", "ghost", path=path).status_code == 422
    assert deputies(client, town, "admin", "kurt", path=path).status_code == 200
    assert deputy_events(rt)[-1]["by_admin"] is True and deputy_events(rt)[-1]["user"] == "otto"
    assert task_id in task_ids(inbox(client, town, "kurt"))
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("kurt")).status_code == 204
    assert decide(client, town, "kurt", task_id, "approve").status_code == 200
    # otto replacing his own list ends the admin's appointment; he cannot renew it himself.
    assert deputies(client, town, "otto").status_code == 200
    assert deputies(client, town, "otto", "kurt").status_code == 403


def test_personnel_staff_deputies_must_be_allowed_to_see_personnel_files(env) -> None:
    rt, town, client = env
    create_case(client, town.auth("paula"), unit="11", plan="11.01", title="Personalakte Muster",
                case_type="personnel_file")
    # hugo shares the Hauptamt with paula, but may not see the Personalamt's personnel files.
    refused = deputies(client, town, "paula", "hugo")
    assert refused.status_code == 403 and "personnel" in refused.get_json()["detail"]
    assert deputies(client, town, "admin", "olga", path="/api/v1/users/paula/deputies").status_code == 403
    assert deputies(client, town, "paula", "pia").status_code == 200
    assert [e["deputies"][0]["user"] for e in deputy_events(rt)] == ["pia"]


# --- point 4: value tiers per unit ------------------------------------------------------------------------

def test_value_tier_role_must_be_held_in_the_steps_unit(env) -> None:
    rt, town, client = env
    case_id, sachlich = invoice_at_sachlich(client, town, "01.05a-INVOICE_ubl.xml")  # 10,555.30 EUR
    assert decide(client, town, "otto", sachlich, "approve").status_code == 200
    assert decide(client, town, "anna", my_task(client, town, "anna", case_id)["id"], "approve").status_code == 200
    task = my_task(client, town, "heidi", case_id)
    assert task["step"] == "anordnung"
    # heidi heads the Kämmerei (20); the Anordnung is the Ordnungsamt's (32).
    refused = decide(client, town, "heidi", task["id"], "approve")
    assert refused.status_code == 403 and "'head_of_unit' in unit 32" in refused.get_json()["detail"]
    assert decide(client, town, "hans", task["id"], "approve").status_code == 200  # head of the Ordnungsamt


def test_value_tier_may_name_its_unit() -> None:
    """The mayor signs in the mayor's office ("01"), whichever unit's Anordnung it is."""
    guard = ValueTiers("amount", ((Decimal("5000"), "head_of_unit"), Tier(Decimal("50000"), "mayor", "01")))
    big = {"amount": "60000.00"}

    def refused(metadata: dict[str, str], *roles: tuple[str, str]) -> bool:
        return guard.refusal(GuardContext(Actor(1, frozenset(roles)), metadata, {}, "32")) is not None

    assert refused(big, ("32", "mayor"), ("32", "head_of_unit"))
    assert not refused(big, ("01", "mayor"))
    assert refused({"amount": "6000.00"}, ("20", "head_of_unit"))
    assert not refused({"amount": "6000.00"}, ("32", "head_of_unit"))
    assert not refused({"amount": "100.00"})
    built = invoice_case_type({"tiers": [{"above": "50000", "role": "mayor", "unit": "01"}]})
    assert built.step("anordnung").guards[1].tiers == (Tier(Decimal("50000"), "mayor", "01"),)  # type: ignore[attr-defined]


# --- point 5: escalation end to end -----------------------------------------------------------------------

def test_escalation_target_opens_claims_and_decides(env) -> None:
    rt, town, client = env
    case = create_case(client, town.auth("anna"), title="Vorlage Haushalt", case_type="memo")
    task_id = my_task(client, town, "anna", case["id"])["id"]
    assert task_id not in task_ids(inbox(client, town, "leiter"))
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("leiter")).status_code == 404

    assert workflow.escalate_overdue(rt, utcnow() + dt.timedelta(days=2)) == 1
    escalated = my_task(client, town, "leiter", case["id"])
    assert escalated["id"] == task_id and escalated["escalated"] is True
    assert {d["key"]: d["allowed"] for d in escalated["decisions"]} == {"ok": True}
    wf = client.get(f"/api/v1/cases/{case['id']}/workflow", headers=town.auth("leiter"))
    assert wf.status_code == 200 and [t["id"] for t in wf.get_json()["open_tasks"]] == [task_id]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=town.auth("leiter")).status_code == 200
    # Heads of other units are no escalation target: they neither see nor take it.
    for outsider in ("hans", "olga"):
        assert task_id not in task_ids(inbox(client, town, outsider))
        assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth(outsider)).status_code == 404
        assert decide(client, town, outsider, task_id, "ok").status_code == 404

    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=town.auth("leiter")).status_code == 204
    assert decide(client, town, "anna", task_id, "ok").status_code == 409  # claimed by the head now
    done = decide(client, town, "leiter", task_id, "ok")
    assert done.status_code == 200 and done.get_json()["finished"] == "completed"
    history = client.get(f"/api/v1/cases/{case['id']}/workflow", headers=town.auth("leiter")).get_json()["history"]
    assert [(e["action"], e["actor"]) for e in history if e["action"] in ("claimed", "decided")] == [
        ("claimed", "leiter"), ("decided", "leiter")]


# --- point 6: restricted case types never leak through workflows ------------------------------------------

def _personnel_and_memo(client, town) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A personnel file and a memo of the Personalamt (11), both waiting for its clerks."""
    personnel = create_case(client, town.auth("paula"), unit="11", plan="11.01",
                            title="Personalakte Erika Mustermann", case_type="personnel_file")
    memo = create_case(client, town.auth("paula"), unit="11", plan="11.01", title="Vorlage Fortbildung",
                       case_type="memo")
    own = inbox(client, town, "paula")
    assert own["counts"] == {"memo": 1, "personnel_file": 1} and own["total"] == 2
    return personnel, memo


def assert_sees_no_personnel_file(client, town, user: str, personnel: dict[str, Any],  # type: ignore[no-untyped-def]
                                  memo: dict[str, Any]) -> None:
    """`user` sees the memo in their inbox, but of the personnel file neither entry, count, title nor workflow."""
    task = my_task(client, town, "paula", personnel["id"])["id"]
    box = inbox(client, town, user)
    assert [t["case_id"] for t in box["items"]] == [memo["id"]], user
    assert box["total"] == 1 and box["counts"] == {"memo": 1}
    assert personnel["reference"] not in str(box) and "Mustermann" not in str(box)
    assert client.get("/api/v1/inbox?case_type=personnel_file", headers=town.auth(user)).get_json()["total"] == 0
    assert client.get(f"/api/v1/cases/{personnel['id']}/workflow", headers=town.auth(user)).status_code == 404
    assert client.get(f"/api/v1/cases/{personnel['id']}", headers=town.auth(user)).status_code == 404
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=town.auth(user)).status_code == 404
    assert decide(client, town, user, task, "ok").status_code == 404
    assert decide(client, town, "pia", task, "ok").status_code == 200  # its own unit still works it


def test_escalated_personnel_file_shows_nowhere_outside_its_unit(env) -> None:
    rt, town, client = env
    personnel, memo = _personnel_and_memo(client, town)
    assert workflow.escalate_overdue(rt, utcnow() + dt.timedelta(days=2)) == 2
    assert_sees_no_personnel_file(client, town, "leiter", personnel, memo)  # the Hauptamt's head: the target


def appointed_anyway(rt, town, client, absent: str, deputy: str) -> None:  # type: ignore[no-untyped-def]
    """An admin's appointment of an outside deputy for personnel staff is refused, also while the personnel unit
    holds no file yet (`require_deputy_allowed`); the row is written bypassing it, to show it opens nothing."""
    assert deputies(client, town, "admin", deputy, path=f"/api/v1/users/{absent}/deputies").status_code == 403
    with rt.db.write() as session:
        session.add(Deputy(user_id=town.user_ids[absent], deputy_id=town.user_ids[deputy], by_admin=True,
                           starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=4)))


def test_deputy_of_another_unit_sees_no_personnel_file(env) -> None:
    rt, town, client = env
    # hugo (Hauptamt) as paula's deputy while the Personalamt holds no personnel file yet.
    appointed_anyway(rt, town, client, "paula", "hugo")
    personnel, memo = _personnel_and_memo(client, town)
    assert_sees_no_personnel_file(client, town, "hugo", personnel, memo)
