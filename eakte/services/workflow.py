"""Workflows persisted: start, inbox, claim/release, complete (with a lost race → 409), deputies, escalation.

The decisions themselves come from the pure engine in `workflows.engine`; this module loads the state it needs,
stores what it returns, and writes history and audit events in the same transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Iterable

from sqlalchemy import func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.db import after_commit
from eakte.errors import Conflict, EakteError, Forbidden, Invalid, NotFound
from eakte.models import Case, Deputy, Procedure, Task, Unit, User, WorkflowEvent, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import approvals, audit, step_effects
from eakte.services.access import (
    Actor,
    Principal,
    acting_for,
    actionable_tasks_filter,
    claim_binds,
    claim_still_binds,
    load_principal,
    may_act,
    require_admin,
    require_deputy_allowed,
    require_may_act,
    require_may_release,
    require_view_case,
    require_view_procedure,
    roles_by_unit_code,
)
from workflows import engine
from workflows.definition import Actor as EngineActor
from workflows.definition import CaseType, HookContext

_REFUSALS: dict[str, type[EakteError]] = {"forbidden": Forbidden, "invalid": Invalid, "conflict": Conflict}


# --- state for the engine ---------------------------------------------------------------------------------

def _engine_actor(session: Session, p: Principal, on_behalf_of: frozenset[int] = frozenset()) -> EngineActor:
    return EngineActor(p.user_id, roles_by_unit_code(session, p), on_behalf_of)


def case_state(case: Case, procedure: Procedure | None = None) -> engine.CaseState:
    """The engine's view of a case, or of one of its procedures (a procedure-scoped workflow): the procedure's
    metadata over the case's, under the procedure's reference."""
    if procedure is None:
        return engine.CaseState(case.id, case.reference, case.unit.code, case.metadata_)
    return engine.CaseState(case.id, procedure.reference, case.unit.code,
                            {**case.metadata_, **procedure.metadata_})


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
    # A deputy decides in the absent colleague's name: four-eyes counts that colleague as a decider too, so they
    # cannot decide a later step of the same case that must not be theirs as well.
    for instance_id, step, details in session.execute(
            select(WorkflowEvent.instance_id, WorkflowEvent.step, WorkflowEvent.details)
            .where(WorkflowEvent.instance_id.in_(instance_ids), WorkflowEvent.action == "decided")):
        for absent in _on_behalf_of(details):
            deciders.setdefault(instance_id, {}).setdefault(step, set()).add(absent)
    return states, {i: {k: frozenset(v) for k, v in d.items()} for i, d in deciders.items()}


def _on_behalf_of(details: Any) -> list[int]:
    """The user ids a "decided" event records its decider acted for (see `complete_task`)."""
    ids = details.get("on_behalf_of_ids") if isinstance(details, dict) else None
    return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


def _unit_id(session: Session, code: str) -> int:
    unit_id = session.execute(select(Unit.id).where(Unit.code == code)).scalar()
    if unit_id is None:
        raise Invalid(f"the workflow routes to unit {code!r}, which does not exist",
                      detail_de=f"Der Geschäftsgang führt zur Organisationseinheit {code!r}, die es nicht gibt")
    return unit_id


def refused_error(exc: engine.WorkflowRefused) -> EakteError:
    return _REFUSALS[exc.kind](exc.message, detail_de=exc.message_de)


# --- starting and deciding --------------------------------------------------------------------------------

def start_workflow(rt: Runtime, session: Session, actor: Actor, case: Case,
                   procedure: Procedure | None = None) -> WorkflowInstance | None:
    """Start the case type's workflow for `case` (or, for a procedure-scoped type, for `procedure` of it) inside
    the caller's transaction; None if the type has none at that level."""
    case_type = rt.registry.get(case.case_type)
    if case_type is None or case_type.start is None or \
            (case_type.workflow_scope == "procedure") != (procedure is not None):
        return None
    if procedure is not None and procedure.case_id != case.id:
        raise Invalid("the procedure belongs to another case")
    try:
        new_tasks = engine.start(case_type, case_state(case, procedure), utcnow())
    except engine.WorkflowRefused as exc:
        raise refused_error(exc) from None
    instance = WorkflowInstance(case_id=case.id, procedure_id=procedure.id if procedure else None,
                                case_type=case_type.key, current_step=case_type.start)
    session.add(instance)
    session.flush()
    add_tasks(session, instance, case, new_tasks)
    record_event(session, instance, actor, "started", step=case_type.start)
    audit.record(session, actor, "workflow.start", "case", case.id, case_id=case.id,
                 details={"case_type": case_type.key, "step": case_type.start,
                          **({"procedure": procedure.reference} if procedure else {})})
    hooks_after_commit(rt, session, case_type, case.id, case_type.start)
    return instance


def add_tasks(session: Session, instance: WorkflowInstance, case: Case, new: tuple[engine.NewTask, ...]) -> None:
    for t in new:
        session.add(Task(instance_id=instance.id, case_id=case.id, procedure_id=instance.procedure_id,
                         case_type=instance.case_type, step=t.step,
                         unit_id=_unit_id(session, t.unit), role=t.role, due_at=t.due_at,
                         escalate_unit_id=_unit_id(session, t.escalate_unit) if t.escalate_unit else None,
                         escalate_role=t.escalate_role))
    session.flush()


def record_event(session: Session, instance: WorkflowInstance, actor: Actor, action: str, *, step: str | None = None,
           task: Task | None = None, decision: str | None = None, comment: str | None = None,
           details: dict[str, Any] | None = None) -> None:
    session.add(WorkflowEvent(instance_id=instance.id, task_id=task.id if task else None, step=step,
                              action=action, actor_id=actor.principal.user_id or None,
                              actor=actor.principal.username, decision=decision, comment=comment,
                              details=details or {}))


def hooks_after_commit(rt: Runtime, session: Session, case_type: CaseType, case_id: int, step: str) -> None:
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


def blank_comment(text: str) -> bool:
    """No visible character: spaces, and zero-width or other invisible format characters (U+200B, U+2060, ...),
    which would otherwise pass as the reason a decision needs."""
    return not any(ch.isprintable() and not ch.isspace() for ch in text)


def complete_task(rt: Runtime, actor: Actor, task_id: int, decision: str, comment: str = "") -> Completed:
    if blank_comment(comment or ""):
        comment = ""  # the engine then refuses a decision that needs a reason
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        # Lock the workflow: two units co-signing at once must not both wait for the other.
        instance = session.get(WorkflowInstance, task.instance_id, with_for_update=True)
        assert instance is not None
        session.refresh(task)
        on_behalf_of = require_may_act_on(session, actor.principal, task)
        _release_stale_claim(session, actor, task)
        case_type = rt.registry.get(instance.case_type)
        if case_type is None:
            raise Conflict(f"case type {instance.case_type!r} is not installed")
        states, deciders = _task_states(session, instance.id)
        case = task.case
        try:
            outcome = engine.decide(case_type, case_state(case, task.procedure), states, task.id,
                                    _engine_actor(session, actor.principal, on_behalf_of), decision,
                                    comment or "", deciders, utcnow())
        except engine.WorkflowRefused as exc:
            raise refused_error(exc) from None
        effects = step_effects.effects_for(case_type.key)
        if effects is not None:
            effects.check(rt, session, actor, task, outcome)  # the case type's own preconditions (raise to refuse)
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
        # An approval keeps what it approved (the Anordnung: amount, IBAN, payee); a return voids the decisions
        # from its target step on, so what they fixed can be corrected and decided anew.
        approved = approvals.decision_details(case_type, task.step, decision, case.metadata_)
        voided = approvals.void_after_return(session, actor, instance.id, outcome.decision, outcome.entered, task.id,
                                             now)
        record_event(session, instance, actor, "decided", step=task.step, task=task, decision=decision, comment=comment,
               details={**approved, **({"on_behalf_of_ids": sorted(on_behalf_of)} if on_behalf_of else {})})
        if outcome.new_tasks:
            add_tasks(session, instance, case, outcome.new_tasks)
        if outcome.entered:
            instance.current_step = outcome.entered
            record_event(session, instance, actor, "entered", step=outcome.entered)
            hooks_after_commit(rt, session, case_type, case.id, outcome.entered)
        if outcome.finished:
            instance.status = outcome.finished
            instance.current_step = None
            instance.finished_at = now
            record_event(session, instance, actor, outcome.finished)
        audit.record(session, actor, "workflow.decide", "task", task.id, case_id=case.id,
                     details={"step": task.step, "decision": decision, "comment": comment or None,
                              "entered": outcome.entered, "finished": outcome.finished, **approved,
                              "voided_tasks": voided or None,
                              "on_behalf_of": _usernames(session, on_behalf_of) or None})
        if effects is not None:
            session.flush()
            effects.apply(rt, session, actor, task, outcome)  # e.g. the register entry, in this transaction
    return Completed(task_id, decision, outcome.entered, outcome.finished, outcome.waiting)


def claim_task(rt: Runtime, actor: Actor, task_id: int) -> None:
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        require_may_act_on(session, actor.principal, task, ignore_claim=True)
        if task.claimed_by == actor.principal.user_id:
            return
        if task.claimed_by is not None and not claim_still_binds(session, task, actor.principal.restricted):
            _release_stale_claim(session, actor, task)
        claimed = session.execute(update(Task).where(Task.id == task.id, Task.status == "open",
                                                     Task.claimed_by.is_(None))
                                  .values(claimed_by=actor.principal.user_id, claimed_at=utcnow())).rowcount
        if claimed != 1:
            raise Conflict("this task is already claimed by someone else",
                           detail_de="Diese Aufgabe hat bereits jemand anderes übernommen")
        instance = session.get(WorkflowInstance, task.instance_id)
        assert instance is not None
        record_event(session, instance, actor, "claimed", step=task.step, task=task)
        audit.record(session, actor, "workflow.claim", "task", task.id, case_id=task.case_id)


def release_task(rt: Runtime, actor: Actor, task_id: int) -> None:
    with rt.db.write() as session:
        task = _task_for(session, actor, task_id)
        if task.claimed_by is None:
            return
        require_may_release(actor.principal, task)
        session.execute(update(Task).where(Task.id == task.id).values(claimed_by=None, claimed_at=None))
        instance = session.get(WorkflowInstance, task.instance_id)
        assert instance is not None
        record_event(session, instance, actor, "released", step=task.step, task=task)
        audit.record(session, actor, "workflow.release", "task", task.id, case_id=task.case_id)


def release_claims(session: Session, actor: Actor, user_id: int, reason: str, *,
                   unless_may_act: Principal | None = None) -> list[int]:
    """Hand back the open tasks `user_id` has claimed (they left, or lost a role) inside the caller's transaction,
    so the tasks return to their colleagues' inboxes. With `unless_may_act`, keep those that principal may
    still act on. Returns the released task ids."""
    claimed = session.execute(select(Task).where(Task.status == "open", Task.claimed_by == user_id)
                              .order_by(Task.id).with_for_update()).scalars().all()
    released = [t for t in claimed if unless_may_act is None or not may_act(unless_may_act, t)]
    for task in released:
        task.claimed_by = None
        task.claimed_at = None
        _record_release(session, actor, task, user_id, reason)
    session.flush()
    return [t.id for t in released]


def _record_release(session: Session, actor: Actor, task: Task, claimed_by: int, reason: str) -> None:
    instance = session.get(WorkflowInstance, task.instance_id)
    assert instance is not None
    record_event(session, instance, actor, "released", step=task.step, task=task,
           details={"claimed_by": claimed_by, "reason": reason})
    audit.record(session, actor, "workflow.release", "task", task.id, case_id=task.case_id,
                 details={"claimed_by": claimed_by, "reason": reason})


def _release_stale_claim(session: Session, actor: Actor, task: Task) -> None:
    """Hand back a claim its holder may no longer act on (see `access.claim_binds`), audited, as the caller takes
    the task over; the caller has already been found to act on the task, so the claim does not bind them."""
    stale = task.claimed_by
    if stale is None or stale == actor.principal.user_id:
        return
    released = session.execute(update(Task).where(Task.id == task.id, Task.claimed_by == stale)
                               .values(claimed_by=None, claimed_at=None)
                               .execution_options(synchronize_session=False)).rowcount
    if released != 1:  # someone else took it over first
        raise Conflict("this task has just been claimed by someone else",
                       detail_de="Diese Aufgabe hat soeben jemand anderes übernommen")
    task.claimed_by = task.claimed_at = None
    _record_release(session, actor, task, stale, "claimant may no longer act on this task")


def release_stale_claims(rt: Runtime) -> int:
    """Periodically: hand back the claims of deputies whose appointment has ended, on the tasks they may no
    longer act on, so that nobody has to notice and release them. Returns how many were released."""
    system = Actor(Principal(0, "system:deputies"), None)
    today = office_today()
    with rt.db.write() as session:
        holders = session.execute(select(User).where(User.id.in_(
            select(Deputy.deputy_id).where(Deputy.ends_on < today, Deputy.deputy_id.in_(
                select(Task.claimed_by).where(Task.status == "open", Task.claimed_by.is_not(None))))))
            .order_by(User.id)).scalars().all()
        return sum(len(release_claims(session, system, user.id, "deputyship ended",
                                      unless_may_act=load_principal(session, user, rt.registry.restricted)))
                   for user in holders)


def _task_for(session: Session, actor: Actor, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no task with this id", detail_de="Keine Aufgabe mit dieser Nummer")
    require_view_case(actor.principal, task.case, "task")
    return task


def require_may_act_on(session: Session, p: Principal, task: Task, ignore_claim: bool = False) -> frozenset[int]:
    """The absent colleagues `p` acts for on this open task (see `access.acting_for`); refuses otherwise."""
    if task.status != "open":
        raise Conflict("this task is no longer open", detail_de="Diese Aufgabe ist nicht mehr offen")
    on_behalf_of = require_may_act(p, task)
    # A claim counts only while its holder may act on the task (`access.claim_binds`): an ended deputyship must
    # not keep the task from the unit.
    if not ignore_claim and task.claimed_by not in (None, p.user_id) and \
            claim_still_binds(session, task, p.restricted):
        name = session.execute(select(User.username).where(User.id == task.claimed_by)).scalar()
        raise Conflict(f"this task is claimed by {name}", detail_de=f"Diese Aufgabe hat {name} übernommen")
    return on_behalf_of


def _usernames(session: Session, ids: frozenset[int]) -> list[str]:
    if not ids:
        return []
    return sorted(session.execute(select(User.username).where(User.id.in_(sorted(ids)))).scalars())


# --- the inbox --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxFilter:
    case_type: str | None = None
    step: str | None = None
    overdue: bool | None = None
    claimed_by_me: bool = False
    sort: str = "due"  # "due" (soonest due first) or "arrival" (oldest task first)


def inbox(session: Session, actor: Actor, flt: InboxFilter, *, offset: int, limit: int,
          now: dt.datetime | None = None) -> tuple[list[Task], int, dict[str, int]]:
    now = now or utcnow()
    # One condition for the rows and their counts, which includes the case visibility rule: a count must not
    # reveal a case the caller could not open.
    actionable = actionable_tasks_filter(session, actor.principal)
    base = select(Task).where(actionable)
    counts = dict(session.execute(select(Task.case_type, func.count()).where(actionable)
                                  .group_by(Task.case_type)).all())
    if flt.case_type:
        base = base.where(Task.case_type == flt.case_type)
    if flt.step:
        base = base.where(Task.step == flt.step)
    if flt.overdue is not None:
        base = base.where(Task.due_at < now) if flt.overdue else base.where(or_(Task.due_at.is_(None),
                                                                                 Task.due_at >= now))
    if flt.claimed_by_me:
        base = base.where(Task.claimed_by == actor.principal.user_id)
    unfiltered = flt.case_type is None and flt.step is None and flt.overdue is None and not flt.claimed_by_me
    total = sum(counts.values()) if unfiltered else \
        session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    order = (Task.id,) if flt.sort == "arrival" else (sql_case((Task.due_at.is_(None), 1), else_=0), Task.due_at,
                                                       Task.id)
    # The page's ids first, then its rows: the eager loads (case, units) then join the page, not every candidate.
    ids = session.execute(base.with_only_columns(Task.id).order_by(*order).offset(offset).limit(limit)).scalars().all()
    page = {t.id: t for t in session.execute(select(Task).where(Task.id.in_(ids))).scalars()} if ids else {}
    return [page[i] for i in ids if i in page], total, counts


@dataclass(frozen=True)
class PageContext:
    """What rendering a list of tasks needs, loaded once for the whole list rather than per row."""

    actor: Actor
    engine_actor: EngineActor
    states: dict[int, list[engine.TaskState]]
    deciders: dict[int, dict[str, frozenset[int]]]
    names: dict[int, str]
    # Tasks whose claim no longer counts (`access.claim_binds`): shown as claimable, not as someone's.
    stale_claims: frozenset[int] = frozenset()

    def claimant(self, task: Task) -> str | None:
        return None if task.id in self.stale_claims else self.names.get(task.claimed_by or 0)


def page_context(session: Session, actor: Actor, tasks: list[Task]) -> PageContext:
    states, deciders = _states_for(session, sorted({t.instance_id for t in tasks})) if tasks else ({}, {})
    user_ids = {i for t in tasks for i in (t.claimed_by, t.decided_by) if i}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    claimed = [t.id for t in tasks if t.claimed_by is not None and t.status == "open"]
    stale = frozenset(session.execute(select(Task.id).where(Task.id.in_(claimed), ~claim_binds())).scalars()) \
        if claimed else frozenset()
    return PageContext(actor, _engine_actor(session, actor.principal), states, deciders, names, stale)


def allowed_decisions(rt: Runtime, ctx: PageContext, task: Task) -> list[dict[str, Any]]:
    """The decisions of the task's step, each with whether the caller may take it and why not."""
    case_type = rt.registry.get(task.case_type)
    if case_type is None or task.status != "open":
        return []
    state = next(s for s in ctx.states[task.instance_id] if s.id == task.id)
    via = acting_for(ctx.actor.principal, task)
    acting = via is not None
    engine_actor = replace(ctx.engine_actor, on_behalf_of=via or frozenset())
    out = []
    for decision, refusal in engine.allowed_decisions(case_type, case_state(task.case, task.procedure), state,
                                                      engine_actor,
                                                      ctx.deciders.get(task.instance_id, {})):
        reason = None if acting else ("not your task", "nicht Ihre Aufgabe")
        if reason is None and refusal is not None:
            reason = (refusal.message, refusal.message_de)
        out.append({"key": decision.key, "label_de": decision.label_de, "label_en": decision.label_en,
                    "needs_comment": decision.needs_comment, "allowed": reason is None,
                    "reason": reason[0] if reason else None, "reason_de": reason[1] if reason else None})
    return out


def workflow_of(session: Session, actor: Actor, case_id: int, procedure_id: int | None = None
                ) -> tuple[WorkflowInstance | None, list[Task], list[WorkflowEvent]]:
    """The case's own workflow, or with `procedure_id` that procedure's (a procedure-scoped case type)."""
    case = require_view_case(actor.principal, session.get(Case, case_id))
    where = WorkflowInstance.procedure_id.is_(None) if procedure_id is None else \
        WorkflowInstance.procedure_id == procedure_id
    instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.case_id == case.id, where)).scalar()
    if instance is None:
        return None, [], []
    tasks = list(session.execute(select(Task).where(Task.instance_id == instance.id).order_by(Task.id)).scalars())
    events = list(session.execute(select(WorkflowEvent).where(WorkflowEvent.instance_id == instance.id)
                                  .order_by(WorkflowEvent.id)).scalars())
    return instance, tasks, events


@dataclass(frozen=True)
class TaskList:
    """Tasks with what rendering them needs, read in one unit of work (the API calls these, never a session)."""

    tasks: list[Task]
    context: PageContext


def inbox_page(rt: Runtime, actor: Actor, flt: InboxFilter, *, offset: int,
               limit: int) -> tuple[TaskList, int, dict[str, int]]:
    with rt.db.read() as session:
        rows, total, counts = inbox(session, actor, flt, offset=offset, limit=limit)
        return TaskList(rows, page_context(session, actor, rows)), total, counts


def case_workflow(rt: Runtime, actor: Actor, case_id: int, procedure_id: int | None = None
                  ) -> tuple[WorkflowInstance | None, TaskList, list[WorkflowEvent]]:
    """A case's workflow (or one procedure's, see `workflow_of`): the instance, its open tasks and its history."""
    with rt.db.read() as session:
        instance, tasks, events = workflow_of(session, actor, case_id, procedure_id)
        open_tasks = [t for t in tasks if t.status == "open"]
        return instance, TaskList(open_tasks, page_context(session, actor, open_tasks)), events


def procedure_workflow(rt: Runtime, actor: Actor, procedure_id: int) -> tuple[WorkflowInstance | None, TaskList,
                                                                               list[WorkflowEvent]]:
    """One procedure's workflow (a procedure-scoped case type, e.g. a trade notification), refused like the
    procedure itself."""
    with rt.db.read() as session:
        procedure = require_view_procedure(session, actor.principal, rt.registry, session.get(Procedure, procedure_id))
        case_id = procedure.case_id
    return case_workflow(rt, actor, case_id, procedure_id)


def task_page(rt: Runtime, actor: Actor, task_id: int) -> TaskList:
    """One task (open or decided) with what rendering it needs; refused like the case it belongs to."""
    with rt.db.read() as session:
        task = _task_for(session, actor, task_id)
        return TaskList([task], page_context(session, actor, [task]))


# --- deputies and escalation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeputyPeriod:
    username: str
    starts_on: dt.date
    ends_on: dt.date


def set_deputies(rt: Runtime, actor: Actor, periods: list[DeputyPeriod], *, for_user: str | None = None,
                 keep: Iterable[DeputyPeriod] = ()) -> None:
    """Replace who acts for a user while they are away: the caller's own deputies, or (admins only, `for_user`)
    anyone's. A user names colleagues of their own units; an admin may appoint from another unit. Nobody may
    stand in for personnel-file staff without being allowed to see personnel files (`require_deputy_allowed`).

    `keep`: stored periods that stay exactly as they are, who appointed them included. Adding or ending one
    period (the web page) must not re-judge the others as the user's own: an admin's appointment across units
    would then block the change, or lose its wider scope."""
    kept = {(p.username, p.starts_on, p.ends_on) for p in keep}
    by_admin = for_user is not None
    if by_admin:
        require_admin(actor.principal)
    with rt.db.write() as session:
        if for_user is not None:
            absent = session.execute(select(User).where(User.username == for_user)).scalar()
            if absent is None:
                raise NotFound(f"no user {for_user!r}", detail_de=f"Kein Benutzer {for_user!r}")
        else:
            absent = session.get(User, actor.principal.user_id)
            if absent is None:  # a system actor has no deputies
                raise Invalid("only users have deputies", field="deputies")
        rows = []
        for period in periods:
            if period.ends_on < period.starts_on:
                raise Invalid(f"deputy {period.username}: the period ends before it starts", field="deputies",
                              detail_de=f"Vertretung {period.username}: Der Zeitraum endet, bevor er beginnt")
            deputy = _user_named(session, period.username, "deputies")
            if deputy.id == absent.id:
                raise Invalid(f"{absent.username} cannot be their own deputy", field="deputies",
                              detail_de="Niemand kann sich selbst vertreten")
            require_deputy_allowed(session, absent, deputy, by_admin=by_admin, restricted=rt.registry.restricted)
            rows.append(Deputy(user_id=absent.id, deputy_id=deputy.id, starts_on=period.starts_on,
                               ends_on=period.ends_on, by_admin=by_admin))
        replaced = set()
        stayed: list[DeputyPeriod] = []
        for old, name in session.execute(select(Deputy, User.username).join(User, User.id == Deputy.deputy_id)
                                         .where(Deputy.user_id == absent.id)).all():
            if (name, old.starts_on, old.ends_on) in kept:
                stayed.append(DeputyPeriod(name, old.starts_on, old.ends_on))
                continue
            replaced.add(old.deputy_id)
            session.delete(old)
        session.add_all(rows)
        session.flush()
        # Claims the former deputies hold on tasks they may no longer act on go back to the unit at once.
        for former in session.execute(select(User).where(User.id.in_(sorted(replaced))).order_by(User.id)).scalars():
            release_claims(session, actor, former.id, f"deputyship for {absent.username} changed",
                           unless_may_act=load_principal(session, former, rt.registry.restricted))
        audit.record(session, actor, "user.set_deputies", "user", absent.id,
                     details={"user": absent.username, "by_admin": by_admin,
                              "deputies": [{"user": p.username, "from": p.starts_on.isoformat(),
                                            "to": p.ends_on.isoformat()} for p in [*stayed, *periods]]})


def my_deputies(rt: Runtime, actor: Actor) -> list[DeputyPeriod]:
    """Who acts for the caller, and when, in the order of their periods."""
    with rt.db.read() as session:
        rows = session.execute(select(User.username, Deputy.starts_on, Deputy.ends_on)
                               .join(User, User.id == Deputy.deputy_id)
                               .where(Deputy.user_id == actor.principal.user_id)
                               .order_by(Deputy.starts_on, User.username)).all()
    return [DeputyPeriod(name, starts, ends) for name, starts, ends in rows]


def add_deputy(rt: Runtime, actor: Actor, period: DeputyPeriod) -> None:
    """Add one deputy period to the caller's list (the rules of `set_deputies` apply to the whole list)."""
    set_deputies(rt, actor, [period], keep=my_deputies(rt, actor))


def end_deputy(rt: Runtime, actor: Actor, username: str, starts_on: dt.date) -> None:
    """End one of the caller's deputy periods at once: it leaves the list (the audit trail keeps it)."""
    periods = my_deputies(rt, actor)
    kept = [p for p in periods if (p.username, p.starts_on) != (username, starts_on)]
    if len(kept) == len(periods):
        raise NotFound(f"no deputy period of {username} from {starts_on}",
                       detail_de=f"Keine Vertretung durch {username} ab {starts_on:%d.%m.%Y}")
    set_deputies(rt, actor, [], keep=kept)


def _user_named(session: Session, username: str, field: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise Invalid(f"deputy {username!r}: no such user", field=field,
                      detail_de=f"Vertretung {username!r}: kein solcher Benutzer")
    return user


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
            record_event(session, instance, system, "escalated", step=task.step, task=task,
                   details={"to_role": task.escalate_role, "to_unit_id": task.escalate_unit_id})
            audit.record(session, system, "workflow.escalate", "task", task.id, case_id=task.case_id,
                         details={"step": task.step, "due_at": task.due_at.isoformat() if task.due_at else None,
                                  "to_role": task.escalate_role})
    return len(overdue)
