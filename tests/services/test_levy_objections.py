"""Objections against a levy notice (issue 14 point 6): recorded with their date against the newest sent notice,
the deadline (third day after posting, one month, the next working day in Hesse) and a late flag (a late one is
recorded, not refused); the review ends in a remedy (a new computation, four-eyes and a new notice) or a rejection
forwarded to the objection authority. Only the levy unit's clerks act; the Postkorb cannot decide these steps
without the record."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from eakte.clock import set_clock
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import AuditEvent, LevyAssessment, LevyNotice, LevyObjection
from eakte.runtime import Runtime
from eakte.services.levy import household, objections
from eakte.services.levy.common import current_step
from eakte.models import Procedure
from tests.levy_fixtures import (at_day, build_flat_procedure, build_levy_town, decide_open, flat_metadata, levy_actor,
                                 levy_runtime, levy_runtime_at, members, run_to_running)

D = dt.date.fromisoformat


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc), town=True) as runtime:
        yield runtime


def new_flat(rt: Runtime, income: str = "27000.00") -> int:
    """A flat of its own (a new flat_id) with its survey procedure in Erhebung."""
    with rt.db.read() as session:
        n = len(session.execute(select(Procedure.id)).all()) + 1
    _, pid = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), flat_metadata(flat_id=f"GWH-{n:04d}"),
                                  household=members(income))
    return pid


def running(rt: Runtime, income: str = "27000.00") -> tuple[int, int]:
    """A procedure in "laufend" (notice sent today); (procedure id, notice id)."""
    pid = new_flat(rt, income)
    return pid, run_to_running(rt, pid)


def step(rt: Runtime, pid: int) -> str | None:
    with rt.db.read() as session:
        return current_step(session, session.get(Procedure, pid))


def test_an_objection_in_time_is_recorded_and_opens_the_review(rt: Runtime) -> None:
    pid, notice_id = running(rt)
    at_day("2026-04-20")
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-17"), "  Mein Einkommen ist "
                                      "geringer.  ")
    # Posted 2 Apr, notified 5 Apr, one month: 5 May 2026 (a Tuesday).
    assert (entry.notice_id, entry.deadline, entry.late, entry.status) == (notice_id, D("2026-05-05"), False, "open")
    assert entry.grounds == "Mein Einkommen ist geringer."
    assert step(rt, pid) == "widerspruch"
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "levy.objection.file")).scalar_one()
        assert event.details["late"] is False and event.details["notified_on"] == "2026-04-05"
        decided = session.execute(select(AuditEvent).where(AuditEvent.action == "workflow.decide")
                                  .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        assert decided.details["decision"] == "objection" and decided.details["entered"] == "widerspruch"
    assert objections.objection_deadline(rt, levy_actor(rt, "rita"), pid).deadline == D("2026-05-05")


def test_a_late_objection_is_flagged_not_refused(rt: Runtime) -> None:
    pid, _ = running(rt)
    at_day("2026-05-07")
    on_last_day = D("2026-05-05")
    entry = objections.file_objection(rt, levy_actor(rt, "lena"), pid, D("2026-05-06"), "Zu spät, aber begründet")
    assert entry.late is True and entry.deadline == on_last_day
    assert step(rt, pid) == "widerspruch"
    with rt.db.read() as session:
        assert session.execute(select(LevyObjection.late)).scalar_one() is True
        assert session.execute(select(AuditEvent.details).where(AuditEvent.action == "levy.objection.file")
                               ).scalar_one()["late"] is True


def test_the_deadline_moves_over_a_hessian_holiday(rt: Runtime) -> None:
    at_day("2026-05-01")  # posted on 1 May: notified Monday 4 May; 4 June is Corpus Christi (Hesse) → Friday 5 June
    pid, _ = running(rt)
    at_day("2026-06-08")
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-06-05"), "Einwände")
    assert (entry.deadline, entry.late) == (D("2026-06-05"), False)


def test_the_deadline_moves_over_a_weekend(rt: Runtime) -> None:
    at_day("2026-03-30")  # notified 2 Apr; 2 May 2026 is a Saturday → Monday 4 May
    pid, _ = running(rt)
    at_day("2026-05-05")
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-05-04"), "Einwände")
    assert (entry.deadline, entry.late) == (D("2026-05-04"), False)


def test_bad_dates_and_missing_grounds_are_refused_naming_the_field(rt: Runtime) -> None:
    pid, _ = running(rt)
    wilhelm = levy_actor(rt, "wilhelm")
    for received, grounds, field in [(D("2026-04-03"), "x", "received_on"),    # in the future
                                     (D("2026-04-01"), "x", "received_on"),    # before the notice was sent
                                     (D("2026-04-02"), " \u200b ", "grounds")]:
        with pytest.raises(Invalid) as exc:
            objections.file_objection(rt, wilhelm, pid, received, grounds)
        assert exc.value.extra["field"] == field
    assert step(rt, pid) == "laufend"
    with rt.db.read() as session:
        assert session.execute(select(LevyObjection)).first() is None


def test_no_objection_before_the_notice_runs_nor_twice(rt: Runtime) -> None:
    early = new_flat(rt)
    with pytest.raises(Conflict):  # still in Erhebung
        objections.file_objection(rt, levy_actor(rt, "wilhelm"), early, D("2026-04-02"), "x")
    pid, _ = running(rt)
    objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "x")
    with pytest.raises(Conflict):  # in the review now
        objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "noch einer")


def test_only_the_levy_units_clerks_file_and_decide(rt: Runtime) -> None:
    pid, _ = running(rt)
    with pytest.raises(NotFound):  # a clerk of another unit sees nothing
        objections.file_objection(rt, levy_actor(rt, "anna"), pid, D("2026-04-02"), "x")
    with pytest.raises(Forbidden):  # the auditor reads, never writes
        objections.file_objection(rt, levy_actor(rt, "rita"), pid, D("2026-04-02"), "x")
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "x")
    with pytest.raises(NotFound):
        objections.decide_objection(rt, levy_actor(rt, "anna"), entry.id, False, "unbegründet")
    with pytest.raises(NotFound):
        objections.read_objection(rt, levy_actor(rt, "anna"), entry.id)
    with pytest.raises(Forbidden):
        objections.decide_objection(rt, levy_actor(rt, "rita"), entry.id, False, "unbegründet")
    assert objections.read_objection(rt, levy_actor(rt, "rita"), entry.id).status == "open"
    assert step(rt, pid) == "widerspruch"


def test_the_postkorb_cannot_decide_without_the_record(rt: Runtime) -> None:
    pid, _ = running(rt)
    with pytest.raises(Conflict):
        decide_open(rt, "wilhelm", pid, "objection")
    assert step(rt, pid) == "laufend"
    objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "Einwände")
    with rt.db.read() as session:  # the check the step effects call (objections.check_decision)
        procedure = session.get(Procedure, pid)
        for decision in ("remedy", "reject"):
            with pytest.raises(Conflict):
                objections.check_decision(session, procedure, "widerspruch", decision)
        objections.check_decision(session, procedure, "laufend", "period_end")  # not this check's business


def test_the_postkorb_cannot_decide_the_review_without_the_decision_record(rt: Runtime) -> None:
    pid, _ = running(rt)
    objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "Einwände")
    for decision in ("remedy", "reject"):
        with pytest.raises(Conflict):
            decide_open(rt, "lena", pid, decision)
    assert step(rt, pid) == "widerspruch"


def test_a_remedy_computes_anew_and_issues_a_new_notice(rt: Runtime) -> None:
    pid, first = running(rt)
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "Einkommen geringer")
    decided = objections.decide_objection(rt, levy_actor(rt, "lena"), entry.id, True, "Nachweis überzeugt")
    assert (decided.status, decided.decision_note) == ("remedied", "Nachweis überzeugt")
    assert step(rt, pid) == "berechnung"
    with rt.db.read() as session:
        meta = session.get(Procedure, pid).metadata_
        assert meta["pending"] == {"kind": "remedy", "effective_from": "2026-04-01", "reason": "Nachweis überzeugt",
                                   "objection_id": entry.id}
    # The clerk corrects the income, computes, a colleague confirms, the new notice goes out.
    household.record_household(rt, levy_actor(rt, "wilhelm"), pid, {"members": members("24000.00"),
                                                                     "temporary_use": False})
    run_from_computation(rt, pid)
    assert step(rt, pid) == "laufend"
    with rt.db.read() as session:
        notices = session.execute(select(LevyNotice).where(LevyNotice.procedure_id == pid)
                                  .order_by(LevyNotice.id)).scalars().all()
        assert [n.id for n in notices][0] == first and len(notices) == 2
        old, new = notices
        assert new.kind == "change" and new.effective_from == D("2026-04-01") and new.sent_on == D("2026-04-02")
        assert old.superseded_from == D("2026-04-01")  # replaced from its first day
        assert float(new.monthly_levy) < float(old.monthly_levy)
        kinds = session.execute(select(LevyAssessment.kind).where(LevyAssessment.procedure_id == pid)
                                .order_by(LevyAssessment.number)).scalars().all()
        assert kinds == ["initial", "remedy"]
        assert "pending" not in session.get(Procedure, pid).metadata_
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "levy.objection.remedy")).first()


def run_from_computation(rt: Runtime, pid: int) -> None:
    from eakte.services.levy import assessment
    assessment.compute(rt, levy_actor(rt, "wilhelm"), pid)
    decide_open(rt, "wilhelm", pid, "computed")
    decide_open(rt, "lena", pid, "confirm")
    decide_open(rt, "wilhelm", pid, "sent")


def test_a_rejection_is_forwarded_to_the_objection_authority(rt: Runtime) -> None:
    pid, _ = running(rt)
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "Einwände")
    with pytest.raises(Invalid) as exc:
        objections.decide_objection(rt, levy_actor(rt, "lena"), entry.id, False, "  ")
    assert exc.value.extra["field"] == "note"
    decided = objections.decide_objection(rt, levy_actor(rt, "lena"), entry.id, False, "Einkommen belegt")
    assert (decided.status, decided.forwarded_to) == ("rejected", "Anhörungsausschuss des Kreises Musterkreis")
    assert step(rt, pid) == "laufend"
    with pytest.raises(Conflict):  # decided once
        objections.decide_objection(rt, levy_actor(rt, "lena"), entry.id, True, "doch")
    # A second objection later in the period: forwarded where the clerk says.
    second = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), "Noch einmal")
    decided = objections.decide_objection(rt, levy_actor(rt, "wilhelm"), second.id, False, "wie zuvor",
                                          forwarded_to="Regierungspräsidium Darmstadt")
    assert decided.forwarded_to == "Regierungspräsidium Darmstadt"
    with rt.db.read() as session:
        events = session.execute(select(AuditEvent.details).where(AuditEvent.action == "levy.objection.reject")
                                 ).scalars().all()
        assert [e["forwarded_to"] for e in events] == ["Anhörungsausschuss des Kreises Musterkreis",
                                                       "Regierungspräsidium Darmstadt"]


def test_without_a_configured_authority_the_rejection_names_it(tmp_path: Path, db_url: str) -> None:
    runtime = levy_runtime(tmp_path, db_url, objection_authority="")
    try:
        build_levy_town(runtime)
        at_day("2026-04-02")
        pid, _ = running(runtime)
        entry = objections.file_objection(runtime, levy_actor(runtime, "wilhelm"), pid, D("2026-04-02"), "x")
        with pytest.raises(Invalid) as exc:
            objections.decide_objection(runtime, levy_actor(runtime, "lena"), entry.id, False, "unbegründet")
        assert exc.value.extra["field"] == "forwarded_to"
        assert objections.decide_objection(runtime, levy_actor(runtime, "lena"), entry.id, False, "unbegründet",
                                           forwarded_to="Kreisausschuss").status == "rejected"
    finally:
        set_clock(None)
        runtime.close()
