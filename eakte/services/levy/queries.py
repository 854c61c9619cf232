"""Reading the levy: the list of procedures (one household × payment period each) the caller may see, with the
flat, the step, due/overdue and the monthly amount in force; and everything a procedure's page shows (the flat,
the household, the computations with every input, the notices, the objections, the payments received, the
evidence, the open task and what the caller may do now).

The list runs over the procedures that have a workflow (the survey's; a procedure opened by hand for
correspondence is no levy procedure), joined to their case for the access rule and the flat."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Invalid
from eakte.models import (Case, Document, LevyAssessment, LevyNotice, LevyObjection, Procedure, Task, User,
                          WorkflowInstance)
from eakte.runtime import Runtime
from eakte.services.access import Actor, can_change_case, visible_cases_filter
from eakte.services.levy import payments
from eakte.services.levy.common import CASE_TYPE, levy_procedure, levy_type
from eakte.services.levy.household import HOUSEHOLD_STEPS
from workflows.levy.case_type import STEPS
from workflows.levy.terms import INCOME_EVIDENCE_KIND

STEP_KEYS = tuple(s.key for s in STEPS)
STEP_LABELS = {s.key: s.label_de for s in STEPS}
SEARCHED = ("flat_id", "street", "tenant_name", "landlord")


@dataclass(frozen=True)
class LevyFilter:
    step: str | None = None  # a step key of workflows.levy.case_type.STEPS, or "finished"
    overdue: bool | None = None  # the open task's due date has passed
    q: str | None = None  # a part of the flat id, street, tenant or landlord
    open_only: bool = False  # only procedures still open


@dataclass(frozen=True)
class LevyRow:
    procedure_id: int
    reference: str
    title: str
    status: str  # the procedure: open | closed
    case_id: int
    case_reference: str
    flat_id: str
    address: str
    tenant_name: str
    step: str | None  # None: the workflow has finished
    step_label_de: str | None
    workflow_status: str
    open_task_id: int | None
    due_at: dt.datetime | None
    overdue: bool
    period_start: str | None
    period_end: str | None
    monthly_levy: str | None  # the amount of the notice in force, else of the newest computation


def _address(flat: dict[str, Any]) -> str:
    street = " ".join(str(flat.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(flat.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    return ", ".join(x for x in (street, str(flat.get("flat_number") or "").strip(), place) if x)


def _contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def _query(actor: Actor, flt: LevyFilter, now: dt.datetime) -> Select[tuple[Procedure, WorkflowInstance]]:
    if flt.step and flt.step not in (*STEP_KEYS, "finished"):
        raise Invalid(f"step: expected one of {', '.join(STEP_KEYS)} or finished", field="step",
                      detail_de="Unbekannter Bearbeitungsschritt")
    query = (select(Procedure, WorkflowInstance).join(Case, Case.id == Procedure.case_id)
             .join(WorkflowInstance, WorkflowInstance.procedure_id == Procedure.id)
             .where(Case.case_type == CASE_TYPE, visible_cases_filter(actor.principal)))
    if flt.step == "finished":
        query = query.where(WorkflowInstance.current_step.is_(None))
    elif flt.step:
        query = query.where(WorkflowInstance.current_step == flt.step)
    if flt.open_only:
        query = query.where(Procedure.status == "open")
    if flt.overdue is not None:
        late = select(Task.id).where(Task.procedure_id == Procedure.id, Task.status == "open", Task.due_at < now)
        query = query.where(late.exists() if flt.overdue else ~late.exists())
    for word in (flt.q or "").split()[:8]:
        query = query.where(or_(_contains(Case.title, word),
                                *(_contains(Case.metadata_[n].as_string(), word) for n in SEARCHED)))
    return query


def _open_tasks(session: Session, ids: list[int]) -> dict[int, Task]:
    out: dict[int, Task] = {}
    for t in session.execute(select(Task).where(Task.procedure_id.in_(ids), Task.status == "open")
                             .order_by(Task.id)).scalars():
        out.setdefault(int(t.procedure_id or 0), t)
    return out


def _amounts(session: Session, ids: list[int]) -> dict[int, str]:
    """procedure id → the monthly amount in force (the newest notice not superseded), else computed last."""
    out: dict[int, str] = {}
    for pid, amount in session.execute(select(LevyAssessment.procedure_id, LevyAssessment.monthly_levy)
                                       .where(LevyAssessment.procedure_id.in_(ids))
                                       .order_by(LevyAssessment.number)):
        out[int(pid)] = amount
    for pid, amount in session.execute(select(LevyNotice.procedure_id, LevyNotice.monthly_levy)
                                       .where(LevyNotice.procedure_id.in_(ids),
                                              LevyNotice.superseded_from.is_(None)).order_by(LevyNotice.id)):
        out[int(pid)] = amount
    return out


def _row(p: Procedure, inst: WorkflowInstance | None, task: Task | None, amount: str | None,
         now: dt.datetime) -> LevyRow:
    flat = p.case.metadata_ or {}
    meta = p.metadata_ or {}
    step = inst.current_step if inst is not None else None
    return LevyRow(procedure_id=p.id, reference=p.reference, title=p.title, status=p.status, case_id=p.case_id,
                   case_reference=p.case.reference, flat_id=str(flat.get("flat_id") or ""), address=_address(flat),
                   tenant_name=str(flat.get("tenant_name") or ""), step=step,
                   step_label_de=STEP_LABELS.get(step, step) if step else None,
                   workflow_status=inst.status if inst is not None else "none",
                   open_task_id=task.id if task else None, due_at=task.due_at if task else None,
                   overdue=bool(task and task.due_at and task.due_at < now),
                   period_start=meta.get("period_start"), period_end=meta.get("period_end"), monthly_levy=amount)


def levy_list(rt: Runtime, actor: Actor, flt: LevyFilter, *, offset: int = 0,
              limit: int = 50) -> tuple[list[LevyRow], int]:
    """The levy procedures the caller may see that match (soonest due first, then by reference) and how many."""
    now = utcnow()
    with rt.db.read() as session:
        query = _query(actor, flt, now)
        total = session.execute(select(func.count()).select_from(query.with_only_columns(Procedure.id)
                                                                 .subquery())).scalar_one()
        due = (select(func.min(Task.due_at)).where(Task.procedure_id == Procedure.id, Task.status == "open")
               .scalar_subquery())
        rows = session.execute(query.order_by(due.is_(None), due, Procedure.id).offset(offset).limit(limit)).all()
        ids = [p.id for p, _ in rows]
        tasks = _open_tasks(session, ids) if ids else {}
        amounts = _amounts(session, ids) if ids else {}
        return [_row(p, inst, tasks.get(p.id), amounts.get(p.id), now) for p, inst in rows], total


# --- a procedure --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssessmentView:
    row: LevyAssessment
    computed_by: str | None
    inputs: list[tuple[str, str]]  # (label, value) as the notice prints them
    figures: list[tuple[str, str]]
    confirmed: bool  # the table version is confirmed by the municipality


@dataclass(frozen=True)
class PaymentsSummary:
    count: int
    total: str  # decimal text
    last_paid_on: dt.date | None


@dataclass(frozen=True)
class ProcedureView:
    case: Case
    procedure: Procedure
    row: LevyRow
    flat: dict[str, Any]  # the case's fields
    household: dict[str, Any]  # {"members": [...], "temporary_use": bool}
    answered_on: str | None
    reference_date: str | None
    deadline: str | None
    pending: dict[str, Any] | None
    assessments: list[AssessmentView]  # newest first
    notices: list[LevyNotice]  # newest first
    objections: list[LevyObjection]  # newest first
    payments: PaymentsSummary
    evidence: list[Document]  # kind income_evidence
    documents: list[Document]  # every document of the procedure
    may_change: bool  # the caller may change the case (a clerk of the levy unit)
    may_edit_household: bool
    may_compute: bool
    may_upload: bool

    @property
    def open_task_id(self) -> int | None:
        return self.row.open_task_id

    @property
    def step(self) -> str | None:
        return self.row.step


def _assessments(session: Session, procedure_id: int) -> list[AssessmentView]:
    from eakte.services.levy.notices import computation_rows, tables_confirmed
    rows = list(session.execute(select(LevyAssessment).where(LevyAssessment.procedure_id == procedure_id)
                                .order_by(LevyAssessment.number.desc())).scalars())
    names = dict(session.execute(select(User.id, User.username)
                                 .where(User.id.in_({r.computed_by for r in rows}))).all()) if rows else {}
    out = []
    for r in rows:
        inputs, figures = computation_rows(r)
        out.append(AssessmentView(r, names.get(r.computed_by), inputs, figures, tables_confirmed(session, r)))
    return out


def _payments(session: Session, procedure_id: int) -> PaymentsSummary:
    rows = payments.counted(session, procedure_id)  # reversed and confirmed entries are not money received
    return PaymentsSummary(len(rows), f"{payments.paid_total(rows):.2f}", max((p.paid_on for p in rows),
                                                                              default=None))


def procedure_view(rt: Runtime, actor: Actor, procedure_id: int) -> ProcedureView:
    """Everything a levy procedure's page shows; NotFound when it is none or not visible to the caller."""
    levy_type(rt)
    now = utcnow()
    with rt.db.read() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id)
        case = procedure.case
        inst = session.execute(select(WorkflowInstance).where(WorkflowInstance.procedure_id == procedure.id)
                               ).scalar()
        task = _open_tasks(session, [procedure.id]).get(procedure.id)
        row = _row(procedure, inst, task, _amounts(session, [procedure.id]).get(procedure.id), now)
        meta = dict(procedure.metadata_ or {})
        docs = list(session.execute(select(Document).where(Document.procedure_id == procedure.id)
                                    .order_by(Document.id)).scalars())
        notices = list(session.execute(select(LevyNotice).where(LevyNotice.procedure_id == procedure.id)
                                       .order_by(LevyNotice.id.desc())).scalars())
        objections = list(session.execute(select(LevyObjection).where(LevyObjection.procedure_id == procedure.id)
                                          .order_by(LevyObjection.id.desc())).scalars())
        may_change = can_change_case(actor.principal, case) and case.status == "open"
        is_open = procedure.status == "open"
        household = meta.get("household") if isinstance(meta.get("household"), dict) else {}
        pending = meta.get("pending") if isinstance(meta.get("pending"), dict) else None
        return ProcedureView(
            case=case, procedure=procedure, row=row, flat=dict(case.metadata_ or {}),
            household={"members": list(household.get("members") or []),
                       "temporary_use": bool(household.get("temporary_use"))},
            answered_on=meta.get("answered_on"), reference_date=meta.get("reference_date"),
            deadline=meta.get("deadline"), pending=pending, assessments=_assessments(session, procedure.id),
            notices=notices, objections=objections, payments=_payments(session, procedure.id),
            evidence=[d for d in docs if d.kind == INCOME_EVIDENCE_KIND], documents=docs, may_change=may_change,
            may_edit_household=may_change and is_open and row.step in HOUSEHOLD_STEPS,
            may_compute=may_change and is_open and row.step == "berechnung", may_upload=may_change and is_open)
