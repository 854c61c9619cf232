"""A case's timeline (Verlauf): documents filed, versions added, notes, workflow decisions, follow-ups and
procedures in one chronological list, newest first, paged.

Read from the records themselves (not from the audit trail), one UNION ALL over their tables ordered and paged
by the database, so a long-lived case costs one page of rows; the page's entries are then filled in with one
query per kind. Only what the caller may see of the case appears: the case itself must be visible, and the
document list's own rules apply to documents and their versions.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from eakte.models import Case, Document, DocumentVersion, FollowUp, Note, Procedure, WorkflowEvent, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services.access import (Actor, HiddenSubfiles, hidden_subfiles, require_view_case,
                                   visible_documents_filter, visible_place_filter, visible_procedures_filter)
from eakte.services.notes import author_names, visible_notes_filter
from workflows.registry import Registry

KINDS = ("document", "version", "note", "decision", "followup", "followup_done", "procedure", "procedure_closed")
# The workflow's events that say what was decided or what happened to the case, not who took or left a task.
WORKFLOW_ACTIONS = ("started", "decided", "returned", "escalated", "completed", "rejected")
MAX_PAGE = 500
SUMMARY_CHARS = 300


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # one of KINDS
    at: dt.datetime  # naive UTC
    actor: str  # display name ("" when unknown, e.g. the system)
    title: str  # document title, note's first line, workflow step key, procedure reference and title, …
    summary: str = ""  # a note's text, a decision's comment, a follow-up's note (shortened)
    document_id: int | None = None
    version: int | None = None
    note_id: int | None = None
    noted_on: dt.date | None = None
    corrects_id: int | None = None
    procedure_id: int | None = None
    followup_id: int | None = None
    due_on: dt.date | None = None
    task_id: int | None = None
    step: str | None = None
    action: str | None = None  # a workflow event's action
    decision: str | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    total: int
    offset: int
    limit: int


def _row(kind: str, at: Any, object_id: Any, actor_id: Any) -> Select[Any]:
    return select(literal(kind).label("kind"), at.label("at"), object_id.label("object_id"),
                  actor_id.label("actor_id"))


def _in_visible_procedure(column: Any, case: Case, hidden: HiddenSubfiles) -> ColumnElement[bool]:
    """SQL: the row (a follow-up) is on the case itself or in a procedure/sub-file the caller may see."""
    return visible_place_filter(hidden, case.id, column)


def _sources(case: Case, hidden: HiddenSubfiles) -> list[Select[Any]]:
    # The document list's rule (sub-files hidden from the caller), for documents and their versions alike.
    docs = and_(Document.case_id == case.id, visible_documents_filter(hidden))
    followups = and_(FollowUp.case_id == case.id, _in_visible_procedure(FollowUp.procedure_id, case, hidden))
    procedures = and_(Procedure.case_id == case.id, visible_procedures_filter(hidden))
    instances = select(WorkflowInstance.id).where(WorkflowInstance.case_id == case.id)  # its own and its procedures
    return [
        _row("document", Document.created_at, Document.id, Document.created_by).where(docs),
        _row("version", DocumentVersion.uploaded_at, DocumentVersion.id, DocumentVersion.uploaded_by)
        .join(Document, Document.id == DocumentVersion.document_id).where(docs, DocumentVersion.number > 1),
        _row("note", Note.created_at, Note.id, Note.created_by).where(Note.case_id == case.id,
                                                                      visible_notes_filter(hidden)),
        _row("decision", WorkflowEvent.at, WorkflowEvent.id, WorkflowEvent.actor_id)
        .where(WorkflowEvent.instance_id.in_(instances), WorkflowEvent.action.in_(WORKFLOW_ACTIONS)),
        _row("followup", FollowUp.created_at, FollowUp.id, FollowUp.created_by).where(followups),
        _row("followup_done", FollowUp.done_at, FollowUp.id, FollowUp.done_by)
        .where(followups, FollowUp.done_at.is_not(None)),
        _row("procedure", Procedure.created_at, Procedure.id, Procedure.created_by).where(procedures),
        # A procedure's row keeps only the day it was closed (and not by whom): its last change stands for the
        # moment, which is the close unless it was renamed since (the audit trail has the exact event).
        _row("procedure_closed", Procedure.updated_at, Procedure.id, cast(null(), Integer))
        .where(procedures, Procedure.status == "closed"),
    ]


def timeline_of(session: Session, actor: Actor, registry: Registry, case_id: int, *, offset: int = 0,
                limit: int = 50) -> Timeline:
    case = require_view_case(actor.principal, session.get(Case, case_id))
    hidden = hidden_subfiles(session, actor.principal, registry)
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    union = union_all(*_sources(case, hidden)).subquery("timeline")
    total = session.execute(select(func.count()).select_from(union)).scalar_one()
    # Newest first; entries of one instant in a fixed order (by kind, then the newer row first), so that pages
    # neither repeat nor skip an entry.
    rows = session.execute(select(union.c.kind, union.c.at, union.c.object_id, union.c.actor_id)
                           .order_by(union.c.at.desc(), union.c.kind.desc(), union.c.object_id.desc())
                           .offset(offset).limit(limit)).all()
    names = author_names(session, {r.actor_id for r in rows if r.actor_id is not None})
    details = _details(session, rows)
    entries = [_entry(r.kind, r.at, names.get(r.actor_id, "") if r.actor_id is not None else "",
                      details.get((r.kind, r.object_id))) for r in rows]
    return Timeline([e for e in entries if e is not None], total, offset, limit)


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1].rstrip() + "…"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return _short(lines[0] if lines else "")[:120]


def _ids(rows: list[Any], *kinds: str) -> list[int]:
    return sorted({r.object_id for r in rows if r.kind in kinds})


def _details(session: Session, rows: list[Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """What each entry of the page shows, read with one query per kind."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    if ids := _ids(rows, "document"):
        for d in session.execute(select(Document).where(Document.id.in_(ids))).scalars():
            out["document", d.id] = {"title": d.title, "document_id": d.id, "procedure_id": d.procedure_id,
                                     "version": 1}
    if ids := _ids(rows, "version"):
        for v, d in session.execute(select(DocumentVersion, Document).join(
                Document, Document.id == DocumentVersion.document_id).where(DocumentVersion.id.in_(ids))):
            out["version", v.id] = {"title": d.title, "summary": v.filename, "document_id": d.id,
                                    "version": v.number, "procedure_id": d.procedure_id}
    if ids := _ids(rows, "note"):
        for n in session.execute(select(Note).where(Note.id.in_(ids))).scalars():
            out["note", n.id] = {"title": _first_line(n.text), "summary": _short(n.text), "note_id": n.id,
                                 "noted_on": n.noted_on, "corrects_id": n.corrects_id, "procedure_id": n.procedure_id}
    if ids := _ids(rows, "decision"):
        for e in session.execute(select(WorkflowEvent).where(WorkflowEvent.id.in_(ids))).scalars():
            out["decision", e.id] = {"title": e.step or "", "summary": _short(e.comment), "task_id": e.task_id,
                                     "step": e.step, "action": e.action, "decision": e.decision, "actor": e.actor}
    if ids := _ids(rows, "followup", "followup_done"):
        for f in session.execute(select(FollowUp).where(FollowUp.id.in_(ids))).scalars():
            for kind in ("followup", "followup_done"):
                out[kind, f.id] = {"title": _first_line(f.note), "summary": _short(f.note), "followup_id": f.id,
                                   "due_on": f.due_on, "procedure_id": f.procedure_id}
    if ids := _ids(rows, "procedure", "procedure_closed"):
        for p in session.execute(select(Procedure).where(Procedure.id.in_(ids))).scalars():
            for kind in ("procedure", "procedure_closed"):
                out[kind, p.id] = {"title": f"{p.reference} {p.title}", "procedure_id": p.id}
    return out


def _entry(kind: str, at: dt.datetime, actor: str, detail: dict[str, Any] | None) -> TimelineEntry | None:
    if detail is None:  # gone between the two queries (cannot happen to records, which are never deleted)
        return None
    detail = dict(detail)
    fallback = detail.pop("actor", "")  # a workflow event keeps its actor's user name (also the system's)
    return TimelineEntry(kind=kind, at=at, actor=actor or fallback, **detail)


# --- unit of work -----------------------------------------------------------------------------------------

def case_timeline(rt: Runtime, actor: Actor, case_id: int, *, offset: int = 0, limit: int = 50) -> Timeline:
    with rt.db.read() as session:
        return timeline_of(session, actor, rt.registry, case_id, offset=offset, limit=limit)
