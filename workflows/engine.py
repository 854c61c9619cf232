"""The workflow engine: pure functions over plain state. It decides what happens; eakte persists it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from workflows.definition import Actor, CaseType, Decision, GuardContext, Step
from workflows.fields import missing_required

RefusalKind = Literal["forbidden", "invalid", "conflict"]


class WorkflowRefused(Exception):
    def __init__(self, kind: RefusalKind, message: str, message_de: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.message_de = message_de


@dataclass(frozen=True)
class CaseState:
    case_id: int
    reference: str
    responsible_unit: str
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class TaskState:
    id: int
    step: str
    unit: str
    role: str
    status: Literal["open", "done", "cancelled"]
    decision: str | None = None
    decided_by: int | None = None


@dataclass(frozen=True)
class NewTask:
    step: str
    unit: str
    role: str
    due_at: dt.datetime | None
    escalate_unit: str | None
    escalate_role: str | None


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    cancel: tuple[int, ...] = ()  # open sibling tasks that no longer need deciding
    new_tasks: tuple[NewTask, ...] = ()
    entered: str | None = None  # the step the case moved into
    finished: str | None = None  # "completed" or "rejected" when the workflow ended
    waiting: bool = False  # a parallel step waits for the other units


def resolve_unit(spec: str, case: CaseState) -> str:
    if spec == "$responsible":
        return case.responsible_unit
    if spec.startswith("$field:"):
        value = case.metadata.get(spec[7:])
        if not value:
            raise WorkflowRefused("invalid", f"field {spec[7:]!r} must name the unit that takes the next step",
                                  f"Feld {spec[7:]!r} muss die Organisationseinheit für den nächsten Schritt nennen")
        return str(value)
    return spec


def enter(ct: CaseType, step_key: str, case: CaseState, now: dt.datetime) -> tuple[NewTask, ...]:
    step = ct.step(step_key)
    due = step.due(case.metadata, now) if step.due else None
    escalate_unit = resolve_unit(step.escalate_to[0], case) if step.escalate_to else None
    escalate_role = step.escalate_to[1] if step.escalate_to else None
    units = dict.fromkeys(resolve_unit(spec, case) for spec in step.units)  # ordered, without duplicates
    return tuple(NewTask(step.key, unit, step.role, due, escalate_unit, escalate_role) for unit in units)


def start(ct: CaseType, case: CaseState, now: dt.datetime) -> tuple[NewTask, ...]:
    if ct.start is None:
        raise WorkflowRefused("invalid", f"case type {ct.key!r} has no workflow",
                              f"Aktentyp {ct.key!r} hat keinen Geschäftsgang")
    return enter(ct, ct.start, case, now)


def refusal(ct: CaseType, case: CaseState, task: TaskState, actor: Actor, decision: Decision, comment: str,
            deciders: Mapping[str, frozenset[int]]) -> WorkflowRefused | None:
    """Why `actor` may not take `decision` on `task` (guards, reasons, required fields), or None."""
    step = ct.step(task.step)
    if decision.needs_comment and not comment.strip():
        return WorkflowRefused("invalid", f"decision {decision.key!r} needs a comment giving the reason",
                               f"Entscheidung {decision.key!r} braucht eine Begründung")
    if decision.kind == "approve":
        missing = missing_required(ct.fields, case.metadata, step.required_fields)
        if missing:
            return WorkflowRefused("invalid", f"fill in {', '.join(missing)} before deciding {decision.key!r}",
                                   f"Vor der Entscheidung {decision.key!r} fehlen: {', '.join(missing)}")
        for guard in step.guards:
            reason = guard.refusal(GuardContext(actor, case.metadata, deciders, task.unit))
            if reason:
                return WorkflowRefused("forbidden", *reason)
    return None


def allowed_decisions(ct: CaseType, case: CaseState, task: TaskState, actor: Actor,
                      deciders: Mapping[str, frozenset[int]]) -> list[tuple[Decision, WorkflowRefused | None]]:
    """Every decision of the task's step with the reason it is refused for this actor (comment assumed given)."""
    return [(d, refusal(ct, case, task, actor, d, "…", deciders)) for d in ct.step(task.step).decisions]


def decide(ct: CaseType, case: CaseState, tasks: list[TaskState], task_id: int, actor: Actor, decision_key: str,
           comment: str, deciders: Mapping[str, frozenset[int]], now: dt.datetime) -> Outcome:
    task = next((t for t in tasks if t.id == task_id), None)
    if task is None or task.status != "open":
        raise WorkflowRefused("conflict", "this task is no longer open", "Diese Aufgabe ist nicht mehr offen")
    step: Step = ct.step(task.step)
    decision = step.decision(decision_key)
    if decision is None:
        offered = ", ".join(d.key for d in step.decisions)
        raise WorkflowRefused("invalid", f"step {step.key!r} offers the decisions {offered}, not {decision_key!r}",
                              f"Schritt {step.key!r} bietet {offered}, nicht {decision_key!r}")
    refused = refusal(ct, case, task, actor, decision, comment, deciders)
    if refused:
        raise refused
    siblings = [t for t in tasks if t.step == task.step and t.status == "open" and t.id != task.id]
    if decision.kind == "approve" and siblings:
        return Outcome(decision, waiting=True)
    cancel = tuple(t.id for t in siblings)
    if decision.target is None:
        return Outcome(decision, cancel=cancel, finished=decision.outcome)
    return Outcome(decision, cancel=cancel, new_tasks=enter(ct, decision.target, case, now),
                   entered=decision.target)
