"""Reading the trade register: the list of businesses (search by name, owner, address, activity, business ID;
filters status, type, activity; paging), a business's page (current entry, its dated history with the changes,
its notifications with their step, due date, receipt and transmissions, its documents), a notification's page.

The list runs over the cases' title and metadata mirror (eakte.services.trade.register), not the entry rows: one
row per business, the access rule of the cases, no join. A case-insensitive substring match of 20,000 businesses
is a scan of one table's few columns, fast enough without an index (benchmarks/trade.py measures it)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Invalid, NotFound
from eakte.models import Case, Document, Procedure, Task, TradeEntry, TradeTransmission, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import workflow
from eakte.services.access import Actor, require_view_case, require_view_procedure, visible_cases_filter
from eakte.services.trade import register
from workflows.trade import entry as entry_rules
from workflows.trade.case_type import BUSINESS_TYPES, STATUSES

CASE_TYPE = "trade"
SEARCHED = ("registered_name", "owners", "business_address", "activity", "business_id", "activity_key")


@dataclass(frozen=True)
class BusinessFilter:
    q: str | None = None  # name, owner, address, activity or business ID (a part of it, any case)
    status: str | None = None  # pending | active | closed
    business_type: str | None = None  # industrie | handwerk | handel | sonstiges
    activity: str | None = None  # a part of the activity's text, or the start of its WZ key ("47.1")


@dataclass(frozen=True)
class BusinessRow:
    id: int  # the case id: the business's id in the API and the pages
    business_id: str
    reference: str
    title: str
    registered_name: str
    owners: str
    business_address: str
    activity: str
    activity_key: str | None
    business_type: str | None
    status: str | None
    started_on: str | None
    closed_on: str | None
    case_status: str


def _meta(name: str) -> ColumnElement[Any]:
    return Case.metadata_[name].as_string()


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    return func.lower(column).like(_like(text), escape="\\")


def _checked(flt: BusinessFilter) -> None:
    if flt.status and flt.status not in STATUSES:
        raise Invalid(f"status: expected one of {', '.join(STATUSES)}", field="status",
                      detail_de="Status: angezeigt (pending), angemeldet (active) oder abgemeldet (closed)")
    if flt.business_type and flt.business_type not in BUSINESS_TYPES:
        raise Invalid(f"business_type: expected one of {', '.join(BUSINESS_TYPES)}", field="business_type",
                      detail_de="Art des Betriebs: Industrie, Handwerk, Handel oder Sonstiges")


def _query(actor: Actor, flt: BusinessFilter) -> Select[tuple[Case]]:
    _checked(flt)
    query = select(Case).where(Case.case_type == CASE_TYPE, visible_cases_filter(actor.principal))
    q = (flt.q or "").strip()
    if q:
        # Each word somewhere: "Muster Bahnhof" finds Erika Muster's shop in the Bahnhofstraße.
        for word in q.split()[:8]:
            query = query.where(or_(_contains(Case.title, word), *(_contains(_meta(n), word) for n in SEARCHED)))
    if flt.status:
        query = query.where(_meta("status") == flt.status)
    if flt.business_type:
        query = query.where(_meta("business_type") == flt.business_type)
    activity = (flt.activity or "").strip()
    if activity:
        key = activity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(_contains(_meta("activity"), activity),
                                _meta("activity_key").like(f"{key}%", escape="\\")))
    return query


def business_row(case: Case) -> BusinessRow:
    m = case.metadata_ or {}
    return BusinessRow(id=case.id, business_id=str(m.get("business_id") or ""), reference=case.reference,
                       title=case.title, registered_name=str(m.get("registered_name") or ""),
                       owners=str(m.get("owners") or ""), business_address=str(m.get("business_address") or ""),
                       activity=str(m.get("activity") or ""), activity_key=m.get("activity_key"),
                       business_type=m.get("business_type"), status=m.get("status"),
                       started_on=m.get("started_on"), closed_on=m.get("closed_on"), case_status=case.status)


def list_businesses(rt: Runtime, actor: Actor, flt: BusinessFilter, *, offset: int = 0,
                    limit: int = 50) -> tuple[list[BusinessRow], int]:
    """The businesses the caller may see that match, by name (then id); and how many match in all."""
    with rt.db.read() as session:
        query = _query(actor, flt)
        total = session.execute(select(func.count()).select_from(query.with_only_columns(Case.id).subquery())
                                ).scalar_one()
        rows = session.execute(query.order_by(func.lower(Case.title), Case.id).offset(offset).limit(limit)
                               ).scalars().all()
        return [business_row(c) for c in rows], total


# --- a business ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One dated state of the entry and what it changed against the one before."""

    entry: TradeEntry
    changes: list[Any]  # workflows.trade.entry.Change(field, label_de, old, new)
    recorded_by: str | None
    procedure_reference: str | None


@dataclass(frozen=True)
class NotificationSummary:
    procedure: Procedure
    notification: str | None
    received_on: str | None
    source: str | None
    workflow_status: str | None  # running | completed | rejected (None: no workflow)
    step: str | None  # the current step's key
    step_label_de: str | None
    step_label_en: str | None  # the page picks one by its language (eakte.web.views.schema.current_label)
    open_task_id: int | None
    due_at: dt.datetime | None
    overdue: bool
    hold: dict[str, Any] | None
    receipt_document_id: int | None
    entry_version: int | None  # the register entry this notification made, once entered
    transmissions: list[TradeTransmission] = field(default_factory=list)


@dataclass(frozen=True)
class BusinessPage:
    case: Case
    row: BusinessRow
    current: TradeEntry | None
    history: list[HistoryEntry]  # newest first
    procedures: list[NotificationSummary]  # newest first
    documents: list[Document]
    may_change: bool


def _business(session: Session, actor: Actor, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is not None and case.case_type != CASE_TYPE:
        case = None
    if case is None:
        raise NotFound(f"no business with id {case_id}", detail_de="Kein Gewerbebetrieb mit dieser Nummer")
    return require_view_case(actor.principal, case, "business")


def _history(session: Session, case_id: int) -> list[HistoryEntry]:
    rows = register.entries(session, case_id)
    from eakte.models import User
    names = dict(session.execute(select(User.id, User.username)
                                 .where(User.id.in_({r.recorded_by for r in rows}))).all()) if rows else {}
    refs = dict(session.execute(select(Procedure.id, Procedure.reference)
                                .where(Procedure.id.in_({r.procedure_id for r in rows}))).all()) if rows else {}
    out: list[HistoryEntry] = []
    previous: dict[str, Any] = {}
    for r in rows:
        out.append(HistoryEntry(r, list(entry_rules.changes(previous, dict(r.data))), names.get(r.recorded_by),
                                refs.get(r.procedure_id)))
        previous = dict(r.data)
    return list(reversed(out))


def _summaries(rt: Runtime, session: Session, procs: list[Procedure]) -> list[NotificationSummary]:
    if not procs:
        return []
    ids = [p.id for p in procs]
    case_type = rt.registry.get(CASE_TYPE)
    instances = {i.procedure_id: i for i in session.execute(
        select(WorkflowInstance).where(WorkflowInstance.procedure_id.in_(ids))).scalars()}
    open_tasks: dict[int, Task] = {}
    for t in session.execute(select(Task).where(Task.procedure_id.in_(ids), Task.status == "open")
                             .order_by(Task.id)).scalars():
        open_tasks.setdefault(int(t.procedure_id or 0), t)
    sent: dict[int, list[TradeTransmission]] = {}
    for tr in session.execute(select(TradeTransmission).where(TradeTransmission.procedure_id.in_(ids))
                              .order_by(TradeTransmission.recipient)).scalars():
        sent.setdefault(tr.procedure_id, []).append(tr)
    receipts: dict[int, int] = {}
    for pid, did in session.execute(select(Document.procedure_id, Document.id)
                                    .where(Document.procedure_id.in_(ids), Document.kind == "receipt")
                                    .order_by(Document.id)):
        receipts.setdefault(int(pid), int(did))
    versions = dict(session.execute(select(TradeEntry.procedure_id, TradeEntry.version)
                                    .where(TradeEntry.procedure_id.in_(ids))).all())
    now = utcnow()
    out = []
    for p in procs:
        meta = p.metadata_ or {}
        inst = instances.get(p.id)
        task = open_tasks.get(p.id)
        step = inst.current_step if inst is not None else None
        label = label_en = None
        if step and case_type is not None:
            try:
                label, label_en = case_type.step(step).label_de, case_type.step(step).label_en
            except KeyError:
                label = label_en = step
        hold = meta.get("hold")
        out.append(NotificationSummary(
            procedure=p, notification=meta.get("notification"), received_on=meta.get("received_on"),
            source=meta.get("source"), workflow_status=inst.status if inst is not None else None, step=step,
            step_label_de=label, step_label_en=label_en, open_task_id=task.id if task else None,
            due_at=task.due_at if task else None,
            overdue=bool(task and task.due_at and task.due_at < now), hold=hold if isinstance(hold, dict) else None,
            receipt_document_id=receipts.get(p.id), entry_version=versions.get(p.id),
            transmissions=sent.get(p.id, [])))
    return out


def business_page(rt: Runtime, actor: Actor, case_id: int) -> BusinessPage:
    """Everything the business's page shows; NotFound for a case that is no business or not visible."""
    from eakte.services.access import can_change_case
    with rt.db.read() as session:
        case = _business(session, actor, case_id)
        procs = list(session.execute(select(Procedure).where(Procedure.case_id == case.id,
                                                             Procedure.kind == "procedure")
                                     .order_by(Procedure.number.desc())).scalars())
        docs = list(session.execute(select(Document).where(Document.case_id == case.id)
                                    .order_by(Document.id)).scalars())
        return BusinessPage(case=case, row=business_row(case), current=register.current_entry(session, case.id),
                            history=_history(session, case.id), procedures=_summaries(rt, session, procs),
                            documents=docs, may_change=can_change_case(actor.principal, case))


# --- a notification -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NotificationPage:
    case: Case
    procedure: Procedure
    summary: NotificationSummary
    data: dict[str, Any]  # the notification as submitted (Notification.to_json)
    entry: TradeEntry | None  # the entry this notification made, once entered
    missing_permits: list[Any]  # workflows.trade.permits.PermitNeed the activity needs and the data lacks
    documents: list[Document]
    workflow: tuple[Any, Any, list[Any]]  # (instance, TaskList of open tasks, events): workflow.case_workflow


def _missing_permits(rt: Runtime, data: dict[str, Any]) -> list[Any]:
    from workflows.trade import permits
    case_type = rt.registry.get(CASE_TYPE)
    find = getattr(permits, "missing_permits", None)
    if case_type is None or find is None:
        return []
    try:
        from workflows.trade.notification import Notification
        return list(find(case_type.settings.get("permits") or [], Notification.from_json(data)))
    except (ValueError, KeyError, TypeError):
        return []


def notification_page(rt: Runtime, actor: Actor, procedure_id: int) -> NotificationPage:
    with rt.db.read() as session:
        procedure = require_view_procedure(session, actor.principal, rt.registry,
                                           session.get(Procedure, procedure_id))
        case = procedure.case
        if case.case_type != CASE_TYPE or "notification" not in (procedure.metadata_ or {}):
            raise NotFound(f"no trade notification {procedure_id}",
                           detail_de="Keine Gewerbeanzeige mit dieser Nummer")
        summary = _summaries(rt, session, [procedure])[0]
        entry = session.execute(select(TradeEntry).where(TradeEntry.procedure_id == procedure.id)).scalar()
        docs = list(session.execute(select(Document).where(Document.procedure_id == procedure.id)
                                    .order_by(Document.id)).scalars())
        data = dict((procedure.metadata_ or {}).get("data") or {})
    flow = workflow.case_workflow(rt, actor, case.id, procedure.id)
    return NotificationPage(case=case, procedure=procedure, summary=summary, data=data, entry=entry,
                            missing_permits=_missing_permits(rt, data), documents=docs, workflow=flow)
