"""Follow-ups (Wiedervorlage, issue 11 point 2): they come back in the Postkorb on their date by the one clock,
to their owner or to the members of the case's unit, never on a case the person can no longer see; only those
who may change the case set them, only those they are for settle them; every write is audited."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest
from sqlalchemy import select, text

from eakte.clock import set_clock
from eakte.jobs import jobs_of
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import AuditEvent, Case, FollowUp, Procedure
from eakte.runtime import Runtime
from eakte.services import cases, followups, identity
from eakte.services.access import Actor, load_principal
from tests.conftest import OPERATOR, Town

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)  # Monday, 4 March 2030 in Berlin too
TODAY = dt.date(2030, 3, 4)


@pytest.fixture
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


@pytest.fixture
def office(rt: Runtime, town: Town, clock: None) -> Runtime:
    """The town with a second clerk in the Kämmerei (a colleague of anna's)."""
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR, "carl", roles=[identity.UnitRole("20", "clerk")])
    return rt


def move_clock(days: int) -> None:
    set_clock(lambda: NOW + dt.timedelta(days=days))


def actor(rt: Runtime, username: str) -> Actor:
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, username), rt.registry.restricted))


def new_case(rt: Runtime, unit: str = "20", plan: str = "20.30", by: str = "anna") -> int:
    with rt.db.write() as session:
        return cases.create_case(session, actor(rt, by), cases.NewCase(plan, "Widerspruch Gewerbesteuer", unit),
                                 rt.registry).id


def due_ids(rt: Runtime, username: str) -> list[int]:
    return [e.id for e in followups.inbox_followups(rt, actor(rt, username)).items]


def test_appears_on_its_date_and_overdue_after(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    fu = followups.set_followup(rt, actor(rt, "anna"), case_id,
                                followups.NewFollowUp(TODAY + dt.timedelta(days=2), "Frist prüfen"))
    assert fu.status == "open" and fu.user == "anna" and not fu.for_unit and fu.unit == "20"
    assert due_ids(rt, "anna") == []
    assert followups.due_count(rt, actor(rt, "anna")) == 0
    move_clock(1)
    assert due_ids(rt, "anna") == []
    move_clock(2)  # its day
    due = followups.inbox_followups(rt, actor(rt, "anna"))
    assert [e.id for e in due.items] == [fu.id] and due.total == 1 and due.overdue == 0
    assert not due.items[0].overdue and due.items[0].may_act
    assert followups.count_became_due(rt) == 1  # what the periodic job reports
    assert jobs_of(rt)._periodic()["followups_due"] == 1  # the job's result (huey keeps none: results=False)
    move_clock(3)
    due = followups.inbox_followups(rt, actor(rt, "anna"))
    assert due.items[0].overdue and due.overdue == 1
    assert followups.count_became_due(rt) == 0  # became due yesterday, not today
    # A personal follow-up is its owner's alone.
    assert due_ids(rt, "carl") == []


def test_unit_followups_reach_the_unit_not_other_units(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    fu = followups.set_followup(rt, actor(rt, "anna"), case_id,
                                followups.NewFollowUp(TODAY, "Stellungnahme anfordern", for_unit=True))
    assert fu.for_unit and fu.user is None
    assert due_ids(rt, "anna") == [fu.id]
    assert due_ids(rt, "carl") == [fu.id]  # a colleague in the unit
    assert due_ids(rt, "bernd") == [fu.id]  # the unit's approver is a member too
    assert due_ids(rt, "olga") == []  # another unit
    assert due_ids(rt, "rita") == []  # the auditor reads the case, but the follow-up is not hers
    assert due_ids(rt, "admin") == []  # admins see the case, but are no member of the unit
    done = followups.complete_followup(rt, actor(rt, "carl"), fu.id)
    assert done.status == "done" and done.done_by == "carl" and done.done_at is not None
    assert due_ids(rt, "anna") == [] and due_ids(rt, "carl") == []


def test_never_on_a_case_the_person_can_no_longer_see(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    mine = followups.set_followup(rt, actor(rt, "carl"), case_id, followups.NewFollowUp(TODAY, "nachfassen"))
    assert due_ids(rt, "carl") == [mine.id]
    identity.revoke_role(rt, OPERATOR, "carl", identity.UnitRole("20", "clerk"))  # carl has left the Kämmerei
    assert due_ids(rt, "carl") == []
    assert followups.due_count(rt, actor(rt, "carl")) == 0
    with pytest.raises(NotFound):  # as missing as the case
        followups.complete_followup(rt, actor(rt, "carl"), mine.id)


def test_who_may_set_one(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    note = followups.NewFollowUp(TODAY, "prüfen")
    with pytest.raises(Forbidden):
        followups.set_followup(rt, actor(rt, "rita"), case_id, note)  # the auditor reads, never writes
    with pytest.raises(Forbidden):
        followups.set_followup(rt, actor(rt, "bernd"), case_id, note)  # approver, no clerk role
    with pytest.raises(NotFound):
        followups.set_followup(rt, actor(rt, "olga"), case_id, note)  # another unit's case is invisible
    # An admin may set one for themselves, not for a unit they are no member of.
    assert followups.set_followup(rt, actor(rt, "admin"), case_id, note).user == "admin"
    with pytest.raises(Forbidden) as refused:
        followups.set_followup(rt, actor(rt, "admin"), case_id, followups.NewFollowUp(TODAY, "x", for_unit=True))
    assert refused.value.extra["field"] == "for_unit"
    with pytest.raises(Invalid) as past:
        followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY - dt.timedelta(days=1),
                                                                                     "zu spät"))
    assert past.value.extra["field"] == "due_on"
    with pytest.raises(Invalid) as empty:
        followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY, "   "))
    assert empty.value.extra["field"] == "note"
    with pytest.raises(Invalid):
        followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY, "x" * 2001))
    cases.conclude_case(rt, actor(rt, "anna"), case_id)
    with pytest.raises(Conflict):
        followups.set_followup(rt, actor(rt, "anna"), case_id, note)


def test_procedure_must_belong_to_the_case(office: Runtime) -> None:
    rt = office
    case_id, other_id = new_case(rt), new_case(rt)
    with rt.db.write() as session:
        # Procedures are another part's service; a row of the model is all this needs.
        other = session.get(Case, other_id)
        proc = Procedure(case_id=other_id, number=1, reference=f"{other.reference}-1", title="Anhörung",
                         created_by=identity.user_by_name(session, "anna").id)
        own = Procedure(case_id=case_id, number=1, reference=f"{session.get(Case, case_id).reference}-1",
                        title="Widerspruch", created_by=proc.created_by)
        session.add_all([proc, own])
        session.flush()
        proc_id, own_id = proc.id, own.id
    with pytest.raises(Invalid) as refused:
        followups.set_followup(rt, actor(rt, "anna"), case_id,
                               followups.NewFollowUp(TODAY, "prüfen", procedure_id=proc_id))
    assert refused.value.extra["field"] == "procedure_id"
    fu = followups.set_followup(rt, actor(rt, "anna"), case_id,
                                followups.NewFollowUp(TODAY, "prüfen", procedure_id=own_id))
    assert fu.procedure_id == own_id and fu.procedure_title == "Widerspruch"
    assert fu.procedure_reference and fu.procedure_reference.endswith("-1")


def test_done_and_postpone_only_by_whom_it_is_for(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    fu = followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY, "Akte vorlegen"))
    for other in ("carl", "bernd"):  # colleagues, but it is anna's personal follow-up
        with pytest.raises(Forbidden):
            followups.complete_followup(rt, actor(rt, other), fu.id)
        with pytest.raises(Forbidden):
            followups.postpone_followup(rt, actor(rt, other), fu.id, TODAY + dt.timedelta(days=1))
    with pytest.raises(NotFound):
        followups.complete_followup(rt, actor(rt, "olga"), fu.id)
    with pytest.raises(Forbidden):
        followups.complete_followup(rt, actor(rt, "rita"), fu.id)
    with pytest.raises(Invalid):
        followups.postpone_followup(rt, actor(rt, "anna"), fu.id, TODAY - dt.timedelta(days=1))
    with pytest.raises(NotFound):
        followups.complete_followup(rt, actor(rt, "anna"), 10**9)

    later = followups.postpone_followup(rt, actor(rt, "anna"), fu.id, TODAY + dt.timedelta(days=7))
    assert later.due_on == TODAY + dt.timedelta(days=7)
    assert due_ids(rt, "anna") == []
    move_clock(7)
    assert due_ids(rt, "anna") == [fu.id]
    followups.complete_followup(rt, actor(rt, "anna"), fu.id)
    with pytest.raises(Conflict):
        followups.complete_followup(rt, actor(rt, "anna"), fu.id)
    with pytest.raises(Conflict):
        followups.postpone_followup(rt, actor(rt, "anna"), fu.id, TODAY + dt.timedelta(days=9))

    with rt.db.read() as session:
        trail = session.execute(select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.object_type == "followup", AuditEvent.object_id == str(fu.id)).order_by(AuditEvent.id)).all()
    assert [a for a, _ in trail] == ["followup.created", "followup.postponed", "followup.done"]
    assert trail[0][1]["due_on"] == "2030-03-04" and trail[0][1]["note"] == "Akte vorlegen"
    assert trail[1][1]["due_on"] == {"old": "2030-03-04", "new": "2030-03-11"}


def test_case_list_shows_them_to_whoever_sees_the_case(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    first = followups.set_followup(rt, actor(rt, "anna"), case_id,
                                   followups.NewFollowUp(TODAY + dt.timedelta(days=5), "später"))
    second = followups.set_followup(rt, actor(rt, "carl"), case_id,
                                    followups.NewFollowUp(TODAY, "heute", for_unit=True))
    third = followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY, "erledigt"))
    followups.complete_followup(rt, actor(rt, "anna"), third.id)
    listed = followups.case_followups(rt, actor(rt, "rita"), case_id)  # the auditor reads them
    assert [e.id for e in listed] == [second.id, first.id, third.id]  # open by date, then done
    assert not any(e.may_act for e in listed)
    assert [e.may_act for e in followups.case_followups(rt, actor(rt, "carl"), case_id)] == [True, False, False]
    with pytest.raises(NotFound):
        followups.case_followups(rt, actor(rt, "olga"), case_id)


def test_due_query_reads_the_open_due_index(office: Runtime) -> None:
    rt = office
    case_id = new_case(rt)
    for days in range(3):
        followups.set_followup(rt, actor(rt, "anna"), case_id, followups.NewFollowUp(TODAY + dt.timedelta(days=days),
                                                                                     f"Nr. {days}"))
    with rt.db.read() as session:
        assert session.execute(select(FollowUp).where(FollowUp.status == "open")).scalars().all()
        p = actor(rt, "anna").principal
        rows, total = followups.due_followups(session, p, TODAY + dt.timedelta(days=1), limit=1)
        assert total == 2 and len(rows) == 1 and rows[0].due_on == TODAY  # longest overdue first
        if session.get_bind().dialect.name == "sqlite":
            sql = followups._due_query(p, TODAY).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "ix_followups_open_due" in plan, plan
