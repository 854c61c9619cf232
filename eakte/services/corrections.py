"""The correction path of a workflow: return a case to a step it has passed, voiding the decisions taken since.

Fields that a decided step froze (e.g. an invoice's amount and IBAN once "sachlich richtig" was confirmed) cannot
be changed behind that decision; whoever may act on the current task can instead send the case back, with a
reason. The voided decisions stay in the history, marked; the step is decided anew, and audited."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, EakteError, Invalid
from eakte.models import Case, Task, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import approvals, audit
from eakte.services.access import Actor, require_view_case
# The workflow service's own building blocks, so a return stores tasks and history exactly as a decision does.
from eakte.services.workflow import (add_tasks, case_state, hooks_after_commit, record_event, refused_error,
                                     require_may_act_on)
from workflows import engine
from workflows.definition import CaseType


@dataclass(frozen=True)
class Returned:
    case_id: int
    returned_from: str | None
    entered: str
    voided: list[int]  # task ids whose decisions no longer count
    cancelled: list[int]  # the open tasks the return took away


def return_to_step(rt: Runtime, actor: Actor, case_id: int, target: str, reason: str) -> Returned:
    """Send the running workflow of `case_id` back to `target`, a step it has passed; only someone who may act on
    a current task may, and only with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: returning a case to an earlier step needs a reason", field="reason",
                      detail_de="Die Rückgabe an einen früheren Schritt braucht eine Begründung")
    with rt.db.write() as session:
        case = require_view_case(actor.principal, session.get(Case, case_id))
        instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id,
                                                                   WorkflowInstance.procedure_id.is_(None))
                                   .with_for_update()).scalar()
        if instance is None or instance.status != "running":
            raise Conflict("this case has no running workflow to return to an earlier step",
                           detail_de="Diese Akte hat keinen laufenden Geschäftsgang")
        case_type = rt.registry.get(instance.case_type)
        if case_type is None:
            raise Conflict(f"case type {instance.case_type!r} is not installed")
        open_tasks = list(session.execute(select(Task).where(Task.instance_id == instance.id, Task.status == "open")
                                          .order_by(Task.id)).scalars())
        _require_may_act_on_one(session, actor, open_tasks)
        passed = _passed_steps(session, case_type, instance)
        if target not in passed:
            names = ", ".join(s.key for s in case_type.steps if s.key in passed) or "none"
            raise Invalid(f"target: {target!r} is not a step this case has passed (it can return to: {names})",
                          field="target", detail_de=f"Schritt {target!r} hat diese Akte nicht durchlaufen")
        now = utcnow()
        try:
            new_tasks = engine.enter(case_type, target, case_state(case), now)
        except engine.WorkflowRefused as exc:
            raise refused_error(exc) from None
        cancelled = [t.id for t in open_tasks]
        session.execute(update(Task).where(Task.id.in_(cancelled), Task.status == "open")
                        .values(status="cancelled", decided_at=now).execution_options(synchronize_session=False))
        returned_from = instance.current_step
        record_event(session, instance, actor, "returned", step=returned_from, comment=reason,
               details={"to": target, "cancelled_tasks": cancelled})
        voided = approvals.void_from(session, actor, instance.id, target, keep=None, now=now)  # "voided" events
        add_tasks(session, instance, case, new_tasks)
        instance.current_step = target
        record_event(session, instance, actor, "entered", step=target)
        hooks_after_commit(rt, session, case_type, case.id, target)
        audit.record(session, actor, "workflow.return", "case", case.id, case_id=case.id,
                     details={"from": returned_from, "to": target, "reason": reason, "voided_tasks": voided,
                              "cancelled_tasks": cancelled})
    return Returned(case_id, returned_from, target, voided, cancelled)


def _require_may_act_on_one(session: Session, actor: Actor, open_tasks: list[Task]) -> None:
    """The same rule as for deciding: roles in the task's unit, deputies, escalation, claims."""
    refusal: EakteError | None = None
    for task in open_tasks:
        try:
            require_may_act_on(session, actor.principal, task)
            return
        except EakteError as exc:
            refusal = refusal or exc
    raise refusal or Conflict("this workflow has no open task", detail_de="Dieser Geschäftsgang hat keine offene "
                                                                           "Aufgabe")


def _passed_steps(session: Session, case_type: CaseType, instance: WorkflowInstance) -> frozenset[str]:
    """The steps a return may target: approved (not voided) in the current round, before the current step.

    Only approvals count: a step whose only decision in this round was itself a return (kept unvoided as the
    record of the return) was never confirmed, and "returning" to a step after it would jump the case forward
    past the confirmation the return took away. Tasks are created in the order the path is walked, so an
    approval older than the current step's latest round lies before it on that path."""
    rows = session.execute(select(Task.id, Task.step, Task.status, Task.decision, Task.voided_at)
                           .where(Task.instance_id == instance.id).order_by(Task.id)).all()
    current = [i for i, r in enumerate(rows) if r.step == instance.current_step]
    cut = current[-1] if current else len(rows)
    while cut > 0 and rows[cut - 1].step == instance.current_step:
        cut -= 1  # the current round of a parallel step starts with its first task
    return frozenset(r.step for r in rows[:cut]
                     if r.status == "done" and r.voided_at is None and r.step != instance.current_step
                     and approvals.is_approval(case_type, r.step, r.decision))
