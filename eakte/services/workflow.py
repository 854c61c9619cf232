"""Workflows persisted: start, inbox, claim/release, complete (with a lost race → 409), deputies, escalation.

The decisions themselves come from the pure engine in `workflows.engine`; this module loads the state it needs,
stores what it returns, and writes history and audit events in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.db import after_commit
from eakte.errors import Conflict, EakteError, Forbidden, Invalid, NotFound
from eakte.models import Case, Deputy, Task, Unit, User, WorkflowEvent, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, Principal, require_view_case
from workflows import engine
from workflows.definition import Actor as EngineActor
from workflows.definition import CaseType, HookContext

_REFUSALS: dict[str, type[EakteError]] = {"forbidden": Forbidden, "invalid": Invalid, "conflict": Conflict}


# --- state for the engine ---------------------------------------------------------------------------------

def _engine_actor(session: Session, p: Principal) -> EngineActor:
    units = _unit_codes(session, set(p.roles_by_unit))
    return EngineActor(p.user_id, frozenset((units[u], r) for u, rs in p.roles_by_unit.items() for r in rs))


def _case_state(case: Case) -> engine.CaseState:
    return engine.CaseState(case.id, case.reference, case.unit.code, case.metadata_)


def _task_states(session: Session, instance_id: int) -> tuple[list[engine.TaskState], dict[str, frozenset[int]]]:
    states, deciders = _states_for(session, [instance_id])
    return states.get(instance_id, []), deciders.get(instance_id, {})


def _states_for(session: Session, instance_ids: list[int]) -> tuple[dict[int, list[engine.TaskState]],
                                                                     dict[int, dict[str, frozenset[int]]]]:
    """The engine's view of every task of these workflows, in one query (an inbox page shows many)."""
    rows = session.execute(
        select(Task.id, Task.instance_id, Task.step, Unit.code, Task.role, Task.status, Task.decision,
               Task.decided_by).join(Unit, Unit.id == Task.unit_id)
        .where(Task.instance_id.in_(instance_ids)).order_by(Task.id)).all()
    states: dict[int, list[engine.TaskState]] = {}
    deciders: dict[int, dict[str, set[int]]] = {}
    for task_id, instance_id, step, unit, role, status, decision, decided_by in rows:
        states.setdefault(instance_id, []).append(engine.TaskState(task_id, step, unit, role, status, decision,
                                                                   decided_by))
        if status == "done" and decided_by is not None:
            deciders.setdefault(instance_id, {}).setdefault(step, set()).add(decided_by)
    return states, {i: {k: frozenset(v) for k, v in d.items()} for i, d in deciders.items()}


def _unit_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(ids))).all())


def _unit_id(session: Session, code: str) -> int:
    unit_id = session.execute(select(Unit.id).where(Unit.code == code)).scalar()
    if unit_id is None:
        raise Invalid(f"the workflow routes to unit {code!r}, which does not exist",
                      detail_de=f"Der Geschäftsgang führt zur Organisationseinheit {code!r}, die es nicht gibt")
    return unit_id


def _refused(exc: engine.WorkflowRefused) -> EakteError:
    return _REFUSALS[exc.kind](exc.message, detail_de=exc.message_de)


# --- starting and deciding --------------------------------------------------------------------------------

def start_workflow(rt: Runtime, session: Session, actor: Actor, case: Case) -> WorkflowInstance | None:
    """Start the case type's workflow for `case` inside the caller's transaction; None if the type has none."""
    case_type = rt.registry.get(case.case_type)
    if case_type is None or case_type.start is None:
        return None
    try:
        new_tasks = engine.start(case_type, _case_state(case), utcnow())
    except engine.WorkflowRefused as exc:
        raise _refused(exc) from None
    instance = WorkflowInstance(case_id=case.id, case_type=case_type.key, current_step=case_type.start)
    session.add(instance)
    session.flush()
    _add_tasks(session, instance, case, new_tasks)
    _event(session, instance, actor, "started", step=case_type.start)
    audit.record(session, actor, "workflow.start", "case", case.id, case_id=case.id,
                 details={"case_type": case_type.key, "step": case_type.start})
    _hooks_after_commit(rt, session, case_type, case.id, case_type.start)
    return instance


def _add_tasks(session: Session, instance: WorkflowInstance, case: Case, new: tuple[engine.NewTask, ...]) -> None:
    for t in new:
        session.add(Task(instance_id=instance.id, case_id=case.id, case_type=instance.case_type, step=t.step,
                         unit_id=_unit_id(session, t.unit), role=t.role, due_at=t.due_at,
                         escalate_unit_id=_unit_id(session, t.escalate_unit) if t.escalate_unit else None,
                         escalate_role=t.escalate_role))
    session.flush()


def _event(session: Session, instance: WorkflowInstance, actor: Actor, action: str, *, step: str | None = None,
           task: Task | None = None, decision: str | None = None, comment: str | None = None,
           details: dict[str, Any] | None = None) -> None:
    session.add(WorkflowEvent(instance_id=instance.id, task_id=task.id if task else None, step=step,
                              action=action, actor_id=actor.principal.user_id or None,
                              actor=actor.principal.username, decision=decision, comment=comment,
                              details=details or {}))


def _hooks_after_commit(rt: Runtime, session: Session, case_type: CaseType, case_id: int, step: str) -> None:
    if case_type.step(step).on_enter:
        after_commit(session, lambda: rt.jobs.run_hooks(case_id, step))


def run_enter_hooks(rt: Runtime, case_id: int, step: str) -> None:
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            return
        context = HookContext(case.id, case.reference, step, dict(case.metadata_))
        case_type = rt.registry.get(case.case_type)
    if case_type is not None:
        for hook in case_type.step(step).on_enter:
            hook(context)


@dataclass(frozen=True)
class Completed:
    task_id: int
    decision: str
    entered: str | None
    finished: str | None
    waiting: bool


def complete_task(rt: Runtime, actor: Actor, task_id: int, decision: str, comment: str = "") -> Completed:
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        # Lock the workflow: two units co-signing at once must not both wait for the other.
        instance = session.get(WorkflowInstance, task.instance_id, with_for_update=True)
        assert instance is not None
        session.refresh(task)
        _require_may_act(session, actor.principal, task)
        case_type = rt.registry.get(instance.case_type)
        if case_type is None:
            raise Conflict(f"case type {instance.case_type!r} is not installed")
        states, deciders = _task_states(session, instance.id)
        case = task.case
        try:
            outcome = engine.decide(case_type, _case_state(case), states, task.id,
                                    _engine_actor(session, actor.principal), decision, comment or "", deciders,
                                    utcnow())
        except engine.WorkflowRefused as exc:
            raise _refused(exc) from None
        now = utcnow()
        closed = session.execute(
            update(Task).where(Task.id == task.id, Task.status == "open")
            .values(status="done", decision=decision, comment=comment or None, decided_by=actor.principal.user_id,
                    decided_at=now).execution_options(synchronize_session=False)).rowcount
        if closed != 1:  # someone else completed it first
            raise Conflict("this task has just been completed by someone else",
                           detail_de="Diese Aufgabe wurde soeben von jemand anderem erledigt")
        if outcome.cancel:
            session.execute(update(Task).where(Task.id.in_(outcome.cancel), Task.status == "open")
                            .values(status="cancelled", decided_at=now).execution_options(synchronize_session=False))
        _event(session, instance, actor, "decided", step=task.step, task=task, decision=decision, comment=comment)
        if outcome.new_tasks:
            _add_tasks(session, instance, case, outcome.new_tasks)
        if outcome.entered:
            instance.current_step = outcome.entered
            _event(session, instance, actor, "entered", step=outcome.entered)
            _hooks_after_commit(rt, session, case_type, case.id, outcome.entered)
        if outcome.finished:
            instance.status = outcome.finished
            instance.current_step = None
            instance.finished_at = now
            _event(session, instance, actor, outcome.finished)
        audit.record(session, actor, "workflow.decide", "task", task.id, case_id=case.id,
                     details={"step": task.step, "decision": decision, "comment": comment or None,
                              "entered": outcome.entered, "finished": outcome.finished})
    return Completed(task_id, decision, outcome.entered, outcome.finished, outcome.waiting)


def claim_task(rt: Runtime, actor: Actor, task_id: int) -> None:
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        _require_may_act(session, actor.principal, task, ignore_claim=True)
        if task.claimed_by == actor.principal.user_id:
            return
        claimed = session.execute(update(Task).where(Task.id == task.id, Task.status == "open",
                                                     Task.claimed_by.is_(None))
                                  .values(claimed_by=actor.principal.user_id, claimed_at=utcnow())).rowcount
        if claimed != 1:
            raise Conflict("this task is already claimed by someone else",
                           detail_de="Diese Aufgabe hat bereits jemand anderes übernommen")
        instance = session.get(WorkflowInstance, task.instance_id)
        assert instance is not None
        _event(session, instance, actor, "claimed", step=task.step, task=task)
        audit.record(session, actor, "workflow.claim", "task", task.id, case_id=task.case_id)


def release_task(rt: Runtime, actor: Actor, task_id: int) -> None:
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        if task.claimed_by is None:
            return
        if task.claimed_by != actor.principal.user_id and not actor.principal.is_admin:
            raise Forbidden("only the person who claimed this task (or an admin) can release it",
                            detail_de="Nur wer die Aufgabe übernommen hat, kann sie freigeben")
        session.execute(update(Task).where(Task.id == task.id).values(claimed_by=None, claimed_at=None))
        instance = session.get(WorkflowInstance, task.instance_id)
        assert instance is not None
        _event(session, instance, actor, "released", step=task.step, task=task)
        audit.record(session, actor, "workflow.release", "task", task.id, case_id=task.case_id)


def _task_for(session: Session, actor: Actor, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no task with this id", detail_de="Keine Aufgabe mit dieser Nummer")
    require_view_case(actor.principal, task.case, "task")
    return task


def _require_may_act(session: Session, p: Principal, task: Task, ignore_claim: bool = False) -> None:
    if task.status != "open":
        raise Conflict("this task is no longer open", detail_de="Diese Aufgabe ist nicht mehr offen")
    if not may_act(p, task):
        raise Forbidden(f"this task is for the role {task.role!r} in unit {task.unit.code}",
                        detail_de=f"Diese Aufgabe ist für die Rolle {task.role!r} in {task.unit.name}")
    if not ignore_claim and task.claimed_by not in (None, p.user_id):
        name = session.execute(select(User.username).where(User.id == task.claimed_by)).scalar()
        raise Conflict(f"this task is claimed by {name}", detail_de=f"Diese Aufgabe hat {name} übernommen")


def may_act(p: Principal, task: Task) -> bool:
    roles = p.task_roles_by_unit
    if task.assignee_id is not None:
        return task.assignee_id == p.user_id or task.assignee_id in p.deputy_for
    if task.role in roles.get(task.unit_id, frozenset()):
        return True
    return task.escalated_at is not None and task.escalate_role in roles.get(task.escalate_unit_id or -1, frozenset())


# --- the inbox --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxFilter:
    case_type: str | None = None
    step: str | None = None
    overdue: bool | None = None


def inbox_condition(p: Principal):  # type: ignore[no-untyped-def]
    """The open tasks `p` may act on: by unit and role, personally, by escalation, or as a deputy."""
    conds = [Task.assignee_id == p.user_id]
    if p.deputy_for:
        conds.append(Task.assignee_id.in_(sorted(p.deputy_for)))
    for unit_id, roles in sorted(p.task_roles_by_unit.items()):
        conds.append(and_(Task.unit_id == unit_id, Task.role.in_(sorted(roles)), Task.assignee_id.is_(None)))
        conds.append(and_(Task.escalate_unit_id == unit_id, Task.escalate_role.in_(sorted(roles)),
                          Task.escalated_at.is_not(None)))
    return and_(Task.status == "open", or_(*conds),
                or_(Task.claimed_by.is_(None), Task.claimed_by == p.user_id))


def inbox(session: Session, actor: Actor, flt: InboxFilter, *, offset: int, limit: int,
          now: dt.datetime | None = None) -> tuple[list[Task], int, dict[str, int]]:
    now = now or utcnow()
    base = select(Task).where(inbox_condition(actor.principal))
    counts = dict(session.execute(select(Task.case_type, func.count()).where(inbox_condition(actor.principal))
                                  .group_by(Task.case_type)).all())
    if flt.case_type:
        base = base.where(Task.case_type == flt.case_type)
    if flt.step:
        base = base.where(Task.step == flt.step)
    if flt.overdue is not None:
        base = base.where(Task.due_at < now) if flt.overdue else base.where(or_(Task.due_at.is_(None),
                                                                                 Task.due_at >= now))
    unfiltered = flt.case_type is None and flt.step is None and flt.overdue is None
    total = sum(counts.values()) if unfiltered else \
        session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(base.order_by(sql_case((Task.due_at.is_(None), 1), else_=0), Task.due_at, Task.id)
                           .offset(offset).limit(limit)).scalars().all()
    return list(rows), total, counts


@dataclass(frozen=True)
class PageContext:
    """What rendering a list of tasks needs, loaded once for the whole list rather than per row."""

    actor: Actor
    engine_actor: EngineActor
    states: dict[int, list[engine.TaskState]]
    deciders: dict[int, dict[str, frozenset[int]]]
    names: dict[int, str]


def page_context(session: Session, actor: Actor, tasks: list[Task]) -> PageContext:
    states, deciders = _states_for(session, sorted({t.instance_id for t in tasks})) if tasks else ({}, {})
    user_ids = {i for t in tasks for i in (t.claimed_by, t.decided_by) if i}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    return PageContext(actor, _engine_actor(session, actor.principal), states, deciders, names)


def allowed_decisions(rt: Runtime, ctx: PageContext, task: Task) -> list[dict[str, Any]]:
    """The decisions of the task's step, each with whether the caller may take it and why not."""
    case_type = rt.registry.get(task.case_type)
    if case_type is None or task.status != "open":
        return []
    state = next(s for s in ctx.states[task.instance_id] if s.id == task.id)
    acting = may_act(ctx.actor.principal, task)
    out = []
    for decision, refusal in engine.allowed_decisions(case_type, _case_state(task.case), state, ctx.engine_actor,
                                                      ctx.deciders.get(task.instance_id, {})):
        reason = None if acting else ("not your task", "nicht Ihre Aufgabe")
        if reason is None and refusal is not None:
            reason = (refusal.message, refusal.message_de)
        out.append({"key": decision.key, "label_de": decision.label_de, "label_en": decision.label_en,
                    "needs_comment": decision.needs_comment, "allowed": reason is None,
                    "reason": reason[0] if reason else None, "reason_de": reason[1] if reason else None})
    return out


def workflow_of(session: Session, actor: Actor, case_id: int) -> tuple[WorkflowInstance | None, list[Task],
                                                                          list[WorkflowEvent]]:
    case = require_view_case(actor.principal, session.get(Case, case_id))
    instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id)).scalar()
    if instance is None:
        return None, [], []
    tasks = list(session.execute(select(Task).where(Task.instance_id == instance.id).order_by(Task.id)).scalars())
    events = list(session.execute(select(WorkflowEvent).where(WorkflowEvent.instance_id == instance.id)
                                  .order_by(WorkflowEvent.id)).scalars())
    return instance, tasks, events


# --- deputies and escalation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeputyPeriod:
    username: str
    starts_on: dt.date
    ends_on: dt.date


def set_deputies(session: Session, actor: Actor, periods: list[DeputyPeriod]) -> list[Deputy]:
    """Replace the caller's deputies (who acts for me while I am away)."""
    me = actor.principal.user_id
    rows = []
    for period in periods:
        if period.ends_on < period.starts_on:
            raise Invalid(f"deputy {period.username}: the period ends before it starts", field="deputies")
        deputy = session.execute(select(User).where(User.username == period.username)).scalar()
        if deputy is None:
            raise Invalid(f"deputy {period.username!r}: no such user", field="deputies")
        if deputy.id == me:
            raise Invalid("you cannot be your own deputy", field="deputies",
                          detail_de="Sie können sich nicht selbst vertreten")
        rows.append(Deputy(user_id=me, deputy_id=deputy.id, starts_on=period.starts_on, ends_on=period.ends_on))
    for old in session.execute(select(Deputy).where(Deputy.user_id == me)).scalars():
        session.delete(old)
    session.add_all(rows)
    session.flush()
    audit.record(session, actor, "user.set_deputies", "user", me,
                 details={"deputies": [{"user": p.username, "from": p.starts_on.isoformat(),
                                        "to": p.ends_on.isoformat()} for p in periods]})
    return rows


def escalate_overdue(rt: Runtime, now: dt.datetime) -> int:
    """Flag overdue tasks as escalated once (idempotent: escalated_at is set), auditing each."""
    system = Actor(Principal(0, "system:escalation"), None)
    with rt.db.write() as session:
        overdue = session.execute(select(Task).where(
            Task.status == "open", Task.due_at < now, Task.escalated_at.is_(None),
            Task.escalate_unit_id.is_not(None)).with_for_update()).scalars().all()
        for task in overdue:
            task.escalated_at = now
            instance = session.get(WorkflowInstance, task.instance_id)
            assert instance is not None
            _event(session, instance, system, "escalated", step=task.step, task=task,
                   details={"to_role": task.escalate_role, "to_unit_id": task.escalate_unit_id})
            audit.record(session, system, "workflow.escalate", "task", task.id, case_id=task.case_id,
                         details={"step": task.step, "due_at": task.due_at.isoformat() if task.due_at else None,
                                  "to_role": task.escalate_role})
    return len(overdue)
