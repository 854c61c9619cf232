"""§8 FBAG changes of a running levy (issue 14 point 6): a change from the 1st of a month computes anew (four-eyes)
and issues a change notice that replaces the earlier one from that day; a cancellation files the cancellation
notice, ends the earlier notice's amounts and the workflow. Only the levy unit's clerks; the Postkorb cannot
decide either without the record."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import AuditEvent, Document, LevyNotice, Procedure, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services.levy import changes, household, objections, payments
from tests.conftest import SQLITE_ONLY
from tests.levy_fixtures import (build_flat_procedure, decide_open, levy_actor, levy_runtime_at, members,
                                 run_to_running)
from tests.services.test_levy_objections import run_from_computation, step

# Changes and cancellations take the same locks and queries as the objections, whose tests run on both databases
# (test_levy_objections); these run on SQLite.
pytestmark = SQLITE_ONLY

D = dt.date.fromisoformat


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc), town=True) as runtime:
        yield runtime


@pytest.fixture
def pid(rt: Runtime) -> int:
    _, procedure_id = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), household=members("27000.00"))
    run_to_running(rt, procedure_id)
    return procedure_id


def notices_of(rt: Runtime, pid: int) -> list[LevyNotice]:
    with rt.db.read() as session:
        return list(session.execute(select(LevyNotice).where(LevyNotice.procedure_id == pid)
                                    .order_by(LevyNotice.id)).scalars())


def test_a_change_computes_anew_and_replaces_the_notice_from_its_day(rt: Runtime, pid: int) -> None:
    result = changes.request_change(rt, levy_actor(rt, "lena"), pid, D("2027-01-01"), "Einkommen gestiegen")
    assert (result.kind, result.step, result.notice_id) == ("change", "berechnung", None)
    with rt.db.read() as session:
        assert session.get(Procedure, pid).metadata_["pending"] == {
            "kind": "change", "effective_from": "2027-01-01", "reason": "Einkommen gestiegen", "objection_id": None}
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "levy.change.request")).first()
    household.record_household(rt, levy_actor(rt, "wilhelm"), pid, {"members": members("32000.00"),
                                                                     "temporary_use": False})
    run_from_computation(rt, pid)
    assert step(rt, pid) == "laufend"
    old, new = notices_of(rt, pid)
    assert (new.kind, new.effective_from, new.effective_to) == ("change", D("2027-01-01"), D("2029-03-31"))
    assert old.superseded_from == D("2027-01-01")
    with rt.db.read() as session:
        due = payments.schedule(session, session.get(Procedure, pid))
    assert [d.due_on for d in due][:10] == [D(f"2026-{m:02d}-01") for m in range(4, 13)] + [D("2027-01-01")]
    assert {d.amount for d in due if d.due_on < D("2027-01-01")} == {Decimal(old.monthly_levy)}
    assert {d.amount for d in due if d.due_on >= D("2027-01-01")} == {Decimal(new.monthly_levy)}
    assert Decimal(new.monthly_levy) > Decimal(old.monthly_levy)
    assert len(due) == 36  # one amount a month, the whole period, no month twice


@pytest.mark.parametrize("day, why", [("2026-07-15", "first day"), ("2026-03-01", "period"),
                                      ("2029-04-01", "period")])
def test_the_effective_day_is_checked(rt: Runtime, pid: int, day: str, why: str) -> None:
    with pytest.raises(Invalid) as exc:
        changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D(day), "Umzug")
    assert exc.value.extra["field"] == "effective_from"
    assert step(rt, pid) == "laufend"


def test_not_before_the_current_notice(rt: Runtime, pid: int) -> None:
    changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D("2027-01-01"), "Einkommen gestiegen")
    run_from_computation(rt, pid)
    with pytest.raises(Invalid) as exc:
        changes.cancel(rt, levy_actor(rt, "wilhelm"), pid, D("2026-10-01"), "Auszug")
    assert exc.value.extra["field"] == "effective_from" and "2027" in exc.value.detail_de
    with pytest.raises(Invalid) as exc:
        changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D("2026-10-01"), "Einkommen")
    with pytest.raises(Invalid) as exc:
        changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D("2027-02-01"), "   ")
    assert exc.value.extra["field"] == "reason"


def test_a_cancellation_ends_the_levy_from_its_day(rt: Runtime, pid: int) -> None:
    applied = changes.cancel(rt, levy_actor(rt, "wilhelm"), pid, D("2026-10-01"), "Haushalt ausgezogen")
    assert (applied.kind, applied.step, applied.notice_id) == ("cancellation", "laufend", None)
    assert len(notices_of(rt, pid)) == 1  # nothing filed before the second clerk confirms
    result = changes.confirm_cancellation(rt, levy_actor(rt, "lena"), pid)
    assert (result.kind, result.step) == ("cancellation", None)
    old, cancellation = notices_of(rt, pid)
    assert result.notice_id == cancellation.id
    assert (cancellation.kind, cancellation.assessment_id, cancellation.monthly_levy) == ("cancellation", None,
                                                                                          "0.00")
    assert cancellation.sent_on == D("2026-04-02") and old.superseded_from == D("2026-10-01")
    with rt.db.read() as session:
        procedure = session.get(Procedure, pid)
        assert procedure.status == "closed"
        assert session.execute(select(WorkflowInstance.status).where(WorkflowInstance.procedure_id == pid)
                               ).scalar_one() == "completed"
        doc = session.get(Document, cancellation.document_id)
        assert doc.kind == "notice" and doc.procedure_id == pid
        due = payments.schedule(session, procedure)
        event = session.execute(select(AuditEvent.details).where(AuditEvent.action == "levy.cancel")).scalar_one()
    assert [d.due_on for d in due] == [D(f"2026-{m:02d}-01") for m in range(4, 10)]
    assert event["reason"] == "Haushalt ausgezogen" and event["notice_id"] == cancellation.id
    assert event["requested_by"] == levy_actor(rt, "wilhelm").principal.user_id


def test_whoever_applies_for_a_cancellation_cannot_confirm_it(rt: Runtime, pid: int) -> None:
    """Four eyes on ending a levy: not the applicant, and the Postkorb cannot decide "cancel" on the application
    alone; a withdrawn application leaves the levy running and a new one may be made."""
    changes.cancel(rt, levy_actor(rt, "wilhelm"), pid, D("2026-05-01"), "Auszug")
    with pytest.raises(Conflict) as exc:
        changes.confirm_cancellation(rt, levy_actor(rt, "wilhelm"), pid)
    assert "Vier-Augen" in exc.value.detail_de
    with pytest.raises(Conflict):
        decide_open(rt, "wilhelm", pid, "cancel")  # no cancellation notice: the step check refuses
    with pytest.raises(Conflict):
        changes.request_change(rt, levy_actor(rt, "lena"), pid, D("2027-01-01"), "x")  # one application at a time
    with pytest.raises(Forbidden):
        changes.confirm_cancellation(rt, levy_actor(rt, "rita"), pid)
    changes.withdraw_cancellation(rt, levy_actor(rt, "lena"), pid)
    assert step(rt, pid) == "laufend" and len(notices_of(rt, pid)) == 1
    with pytest.raises(Conflict):
        changes.confirm_cancellation(rt, levy_actor(rt, "lena"), pid)  # nothing applied for any more
    with rt.db.read() as session:
        assert "pending" not in session.get(Procedure, pid).metadata_
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.action.like("levy.cancel%")))
                      .scalars())
    assert actions == {"levy.cancel.request", "levy.cancel.withdraw"}


def test_no_objection_is_recorded_over_a_pending_cancellation(rt: Runtime, pid: int) -> None:
    """The review would decide on a notice about to be cancelled, and its remedy would replace the application:
    the cancellation is confirmed or withdrawn first; the objection keeps its day of receipt."""
    changes.cancel(rt, levy_actor(rt, "wilhelm"), pid, D("2026-05-01"), "Auszug")
    with pytest.raises(Conflict) as exc:
        objections.file_objection(rt, levy_actor(rt, "lena"), pid, D("2026-04-02"), "Die Abgabe ist zu hoch")
    assert "Aufhebung beantragt" in exc.value.detail_de
    with rt.db.read() as session:
        assert session.get(Procedure, pid).metadata_["pending"]["kind"] == "cancellation"
    assert step(rt, pid) == "laufend"
    changes.withdraw_cancellation(rt, levy_actor(rt, "lena"), pid)
    entry = objections.file_objection(rt, levy_actor(rt, "lena"), pid, D("2026-04-02"), "Die Abgabe ist zu hoch")
    assert entry.received_on == D("2026-04-02") and step(rt, pid) == "widerspruch"


def test_only_the_levy_units_clerks_change_or_cancel(rt: Runtime, pid: int) -> None:
    for name, error in (("anna", NotFound), ("rita", Forbidden)):
        with pytest.raises(error):
            changes.request_change(rt, levy_actor(rt, name), pid, D("2027-01-01"), "x")
        with pytest.raises(error):
            changes.cancel(rt, levy_actor(rt, name), pid, D("2027-01-01"), "x")
    assert step(rt, pid) == "laufend" and len(notices_of(rt, pid)) == 1


def test_the_postkorb_cannot_change_or_cancel_without_the_record(rt: Runtime, pid: int) -> None:
    for decision in ("change", "cancel"):
        with pytest.raises(Conflict):
            decide_open(rt, "wilhelm", pid, decision)
    assert step(rt, pid) == "laufend"


def test_no_second_change_while_one_waits(rt: Runtime, pid: int) -> None:
    changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D("2027-01-01"), "Einkommen")
    with pytest.raises(Conflict):  # in Berechnung now
        changes.request_change(rt, levy_actor(rt, "wilhelm"), pid, D("2027-02-01"), "Einkommen")


def test_an_unsent_change_notice_leaves_the_old_amounts_due(rt: Runtime, pid: int) -> None:
    """Holding the change notice back in Bescheid (never deciding "sent") does not stop what the notice in force
    makes due: only a posted notice replaces it."""
    from eakte.services.levy import assessment
    changes.request_change(rt, levy_actor(rt, "lena"), pid, D("2026-05-01"), "Einkommen gesunken")
    household.record_household(rt, levy_actor(rt, "wilhelm"), pid, {"members": members("24000.00"),
                                                                     "temporary_use": False})
    assessment.compute(rt, levy_actor(rt, "wilhelm"), pid)
    decide_open(rt, "wilhelm", pid, "computed")
    decide_open(rt, "lena", pid, "confirm")
    assert step(rt, pid) == "bescheid"
    old, new = notices_of(rt, pid)
    assert new.sent_on is None and old.superseded_from == D("2026-05-01")
    with rt.db.read() as session:
        due = [d for d in payments.schedule(session, session.get(Procedure, pid)) if d.due_on == D("2026-06-01")]
    assert [(d.notice_id, d.amount) for d in due] == [(old.id, Decimal(old.monthly_levy))]
    decide_open(rt, "wilhelm", pid, "sent")
    with rt.db.read() as session:
        due = [d for d in payments.schedule(session, session.get(Procedure, pid)) if d.due_on == D("2026-06-01")]
    assert [d.notice_id for d in due] == ([new.id] if Decimal(new.monthly_levy) > 0 else [])
