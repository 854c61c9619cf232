"""What decided workflow steps fix: the steps that hold a valid (not voided) approval, the locks that follow for a
case's fields, the values an approval recorded, and voiding decisions when a case goes back to an earlier step.

Kept apart from `services.workflow` (which calls in here when it stores a decision) so that the case-update path
can ask "is this field fixed?" without the workflow machinery."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.errors import DocumentFrozen, EakteError, FieldFrozen, FieldReadOnly
from eakte.models import Task, WorkflowEvent
from eakte.services.access import Actor
from workflows.definition import CaseType, Decision, FieldLock


def decided_steps(session: Session, case_type: CaseType, case_id: int) -> frozenset[str]:
    """The steps of the case's workflow with an approving decision that no return has voided."""
    return decided_steps_of(session, case_type, [case_id]).get(case_id, frozenset())


def decided_steps_of(session: Session, case_type: CaseType, case_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """`decided_steps` for many cases in one query (cases without any valid approval are missing)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows = session.execute(select(Task.case_id, Task.step, Task.decision).where(
        Task.case_id.in_(ids), Task.status == "done", Task.voided_at.is_(None))).all()
    out: dict[int, set[str]] = {}
    for case_id, step, key in rows:
        if is_approval(case_type, step, key):
            out.setdefault(case_id, set()).add(step)
    return {case_id: frozenset(steps) for case_id, steps in out.items()}


def is_approval(case_type: CaseType, step: str, decision: str | None) -> bool:
    """Whether `decision` taken at `step` confirms the step (rather than returning or rejecting the case)."""
    if step not in {s.key for s in case_type.steps}:
        return False
    d = case_type.step(step).decision(decision or "")
    return d is not None and d.kind == "approve"


def require_new_version_allowed(session: Session, case_type: CaseType, case_id: int, kind: str) -> None:
    """Refuse a new version of a document of `kind` once a decided step of the case has fixed that kind."""
    if not any(k.frozen_after for k in case_type.document_kinds):
        return
    step = case_type.document_lock(kind, decided_steps(session, case_type, case_id))
    if step is not None:
        raise DocumentFrozen(f"documents of kind {kind!r} are fixed since step {step!r} was decided; to replace "
                             f"one, return the case to step {step!r} or an earlier one, or add a new document",
                             kind=kind, step=step,
                             detail_de=f"Dokumente der Art {kind!r} sind seit der Entscheidung im Schritt {step!r} "
                                       f"festgeschrieben; zum Ersetzen die Akte an diesen oder einen früheren "
                                       f"Schritt zurückgeben oder ein neues Dokument hinzufügen")


def lock_error(lock: FieldLock) -> EakteError:
    name = f"metadata.{lock.field}"
    if lock.kind == "frozen" and lock.step is not None:
        return FieldFrozen(f"{name}: {lock.message}", field=name, step=lock.step,
                           detail_de=f"{name}: {lock.message_de}")
    return FieldReadOnly(f"{name}: {lock.message}", field=name, detail_de=f"{name}: {lock.message_de}")


def decision_details(case_type: CaseType, step: str, decision: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Details stored with a decision: for an approval, the values its step records as approved."""
    record = case_type.approval_record(step, decision, metadata)
    return {} if record is None else {"approved": record}


def approved_records(session: Session, case_ids: Iterable[int], step: str) -> dict[int, dict[str, Any]]:
    """Per case, what the latest valid approval of `step` recorded (cases without one are missing)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Task.case_id, WorkflowEvent.details).join(WorkflowEvent, WorkflowEvent.task_id == Task.id)
        .where(Task.case_id.in_(ids), Task.step == step, Task.status == "done", Task.voided_at.is_(None),
               WorkflowEvent.action == "decided").order_by(WorkflowEvent.id)).all()
    out: dict[int, dict[str, Any]] = {}
    for case_id, details in rows:
        if isinstance(details, dict) and isinstance(details.get("approved"), dict):
            out[case_id] = details["approved"]  # ordered by id: the latest wins
    return out


def void_from(session: Session, actor: Actor, instance_id: int, step: str, *, keep: int | None,
              now: dt.datetime) -> list[int]:
    """Void the decisions taken since the case last entered `step` (that step's own and every later one, except
    task `keep`, the return itself): marked, never deleted, each with a "voided" history event. Their ids."""
    cut = _last_entry(session, instance_id, step)
    if cut is None:
        return []
    query = select(Task).where(Task.instance_id == instance_id, Task.status == "done", Task.voided_at.is_(None),
                               Task.id >= cut).order_by(Task.id)
    if keep is not None:
        query = query.where(Task.id != keep)
    tasks = list(session.execute(query).scalars())
    for task in tasks:
        task.voided_at = now
        session.add(WorkflowEvent(instance_id=instance_id, task_id=task.id, step=task.step, action="voided",
                                  actor_id=actor.principal.user_id or None, actor=actor.principal.username,
                                  decision=task.decision, details={"returned_to": step}))
    session.flush()
    return [t.id for t in tasks]


def _last_entry(session: Session, instance_id: int, step: str) -> int | None:
    """The first task id of the latest round of `step` with a valid decision (a parallel step's tasks of one round
    are created together, so the round is the run of that step's tasks around it)."""
    rows = session.execute(select(Task.id, Task.step, Task.status, Task.voided_at)
                           .where(Task.instance_id == instance_id).order_by(Task.id)).all()
    decided = [i for i, r in enumerate(rows) if r.step == step and r.status == "done" and r.voided_at is None]
    if not decided:
        return None
    first = decided[-1]
    while first > 0 and rows[first - 1].step == step:
        first -= 1
    return int(rows[first].id)


def void_after_return(session: Session, actor: Actor, instance_id: int, decision: Decision, entered: str | None,
                      task_id: int, now: dt.datetime) -> list[int]:
    """A "return" decision sends the case back to `entered`: the decisions from there on no longer count."""
    if decision.kind != "return" or entered is None:
        return []
    return void_from(session, actor, instance_id, entered, keep=task_id, now=now)
