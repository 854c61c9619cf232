"""Procedures (Vorgänge) and sub-files (Teilakten) inside a case, and moving documents between them.

A procedure has the case's reference plus its running number (`20.30/0042/2026-3`); numbers are handed out from
`Case.last_procedure_number` under the case's row lock, so they are gap-free and unique per case (a rolled-back
creation rolls back its number too). A case type that declares sub-files gets one procedure row per sub-file
(kind 'subfile') when a case is created, and then takes no free procedures: its structure is the declared one,
so a personnel file never grows an undeclared part that would escape the sub-files' access rules.

A closed procedure takes no new documents and none moved into it; a closed case takes no new procedure and no
change. Who sees a sub-file's documents is the one rule in `access.hidden_subfiles`.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.services.inputs import required_title
from eakte.models import Case, Document, FollowUp, Note, Procedure, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import approvals, audit, indexing
from eakte.services.access import (
    Actor,
    can_change_at,
    can_change_case,
    can_see_procedure,
    hidden_subfiles,
    require_change_case,
    require_not_held_by_other,
    require_view_case,
    require_view_document,
    require_view_procedure,
    visible_procedures_filter,
)
from workflows.definition import CaseType
from workflows.registry import Registry

PROCEDURE_STATUSES = ("open", "closed")


@dataclass(frozen=True)
class ProcedureChanges:
    title: str | None = None
    status: str | None = None  # "open" reopens, "closed" closes


def _next_number(session: Session, case: Case) -> int:
    """Raise the case's counter in one UPDATE: on PostgreSQL it holds the case row's lock until the commit, so
    concurrent creators queue (SQLite writes one transaction at a time anyway)."""
    number = session.execute(update(Case).where(Case.id == case.id)
                             .values(last_procedure_number=Case.last_procedure_number + 1)
                             .returning(Case.last_procedure_number)
                             .execution_options(synchronize_session=False)).scalar_one()
    session.expire(case, ["last_procedure_number"])
    return int(number)


def _add(session: Session, actor: Actor, case: Case, title: str, kind: str = "procedure",
         subfile: str | None = None) -> Procedure:
    number = _next_number(session, case)
    procedure = Procedure(case_id=case.id, number=number, reference=f"{case.reference}-{number}", kind=kind,
                          subfile=subfile, title=title, status="open", created_by=actor.principal.user_id)
    session.add(procedure)
    session.flush()
    audit.record(session, actor, "procedure.create", "procedure", procedure.id, case_id=case.id,
                 details={"reference": procedure.reference, "title": title, "kind": kind, "subfile": subfile})
    return procedure


def ensure_subfiles(session: Session, actor: Actor, case: Case, case_type: CaseType) -> list[Procedure]:
    """One sub-file procedure per sub-file the case type declares and the case does not hold yet (idempotent:
    a sub-file declared later is added to existing cases by calling this again). Returns those created."""
    if not case_type.subfiles:
        return []
    present = set(session.execute(select(Procedure.subfile).where(Procedure.case_id == case.id,
                                                                  Procedure.subfile.is_not(None))).scalars())
    return [_add(session, actor, case, sub.label_de, "subfile", sub.key)
            for sub in case_type.subfiles if sub.key not in present]




def _require_case_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed", detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.)")


def require_open(procedure: Procedure) -> None:
    """A closed procedure takes no new documents (nor moved ones)."""
    if procedure.status != "open":
        raise Conflict(f"procedure {procedure.reference} is closed; no documents can be added",
                       detail_de=f"Vorgang {procedure.reference} ist abgeschlossen; keine neuen Dokumente")


def create_procedure(session: Session, actor: Actor, registry: Registry, case_id: int, title: str) -> Procedure:
    case = require_change_case(actor.principal, session.get(Case, case_id, with_for_update=True))
    _require_case_open(case)
    case_type = registry.get(case.case_type)
    if case_type is not None and case_type.subfiles:
        raise Conflict(f"cases of type {case_type.key!r} are organised in their declared sub-files; free "
                       "procedures cannot be added",
                       detail_de=f"Akten des Typs {case_type.label_de} sind in festgelegte Teilakten gegliedert; "
                                 "weitere Vorgänge können nicht angelegt werden")
    return _add(session, actor, case, required_title(title))


def _procedure(session: Session, actor: Actor, registry: Registry, procedure_id: int,
               lock: bool = False) -> Procedure:
    return require_view_procedure(session, actor.principal, registry,
                                  session.get(Procedure, procedure_id, with_for_update=lock or None))


def workflow_running(session: Session, procedure_id: int) -> bool:
    """Whether a workflow runs on this procedure (a procedure-scoped type's, e.g. a trade notification's): its
    steps close the procedure when done, so closing it by hand would strand them."""
    return session.execute(select(WorkflowInstance.id).where(WorkflowInstance.procedure_id == procedure_id,
                                                             WorkflowInstance.status == "running")).first() is not None


def update_procedure(session: Session, actor: Actor, registry: Registry, procedure_id: int,
                     changes: ProcedureChanges) -> Procedure:
    procedure = _procedure(session, actor, registry, procedure_id, lock=True)
    case = require_change_case(actor.principal, procedure.case, "procedure")
    _require_case_open(case)
    changed: dict[str, object] = {}
    retitle = changes.title is not None and changes.title.strip() != procedure.title
    if (retitle or (changes.status == "closed" and procedure.status != "closed")) \
            and workflow_running(session, procedure.id):
        raise Conflict(f"procedure {procedure.reference} is being dealt with by its workflow, which closes it; "
                       "it cannot be closed or renamed by hand",
                       detail_de=f"Vorgang {procedure.reference} wird von seinem Ablauf bearbeitet, der ihn auch "
                                 "abschließt; er kann nicht von Hand abgeschlossen oder umbenannt werden")
    if retitle and changes.title is not None:
        if procedure.kind == "subfile":
            raise Invalid("a sub-file's title comes from its case type and cannot be changed", field="title",
                          detail_de="Der Titel einer Teilakte ist durch den Aktentyp festgelegt")
        changed["title"] = {"old": procedure.title, "new": required_title(changes.title)}
        procedure.title = required_title(changes.title)
    if changes.status is not None and changes.status != procedure.status:
        if changes.status not in PROCEDURE_STATUSES:
            raise Invalid(f"status: expected one of {', '.join(PROCEDURE_STATUSES)}", field="status",
                          detail_de="Status: offen oder abgeschlossen")
        changed["status"] = {"old": procedure.status, "new": changes.status}
        procedure.status = changes.status
        procedure.closed_at = office_today() if changes.status == "closed" else None
    if changed:
        procedure.updated_at = utcnow()
        action = {"closed": "procedure.close", "open": "procedure.reopen"}.get(changes.status or "") \
            if "status" in changed and "title" not in changed else "procedure.update"
        audit.record(session, actor, action, "procedure", procedure.id, case_id=case.id,
                     details={"reference": procedure.reference, **changed})
        if "title" in changed:  # its documents and notes are found by the procedure's title
            indexing.procedure_changed(session, procedure.id)
    return procedure


def procedure_for_upload(session: Session, actor: Actor, registry: Registry, case: Case,
                         procedure_id: int | None) -> Procedure | None:
    """The target of a new document: None (the case level), or an open procedure of the same case the caller
    may see. A procedure of another case looks missing (`procedure_id` names no procedure of this case)."""
    if procedure_id is None:
        return None
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or procedure.case_id != case.id:
        raise NotFound(f"case {case.reference} has no procedure {procedure_id}", field="procedure_id",
                       detail_de=f"Akte {case.reference} hat keinen Vorgang {procedure_id}")
    require_view_procedure(session, actor.principal, registry, procedure)
    require_open(procedure)
    return procedure


def move_document(session: Session, actor: Actor, registry: Registry, document_id: int,
                  procedure_id: int | None) -> Document:
    """Move a document to the case level (None) or into another procedure/sub-file of its case. Its versions
    are untouched; the move is audited with where from and where to, and the document re-indexed."""
    document = require_view_document(session, actor.principal, registry,
                                     session.get(Document, document_id, with_for_update=True))
    case = require_change_case(actor.principal, document.case, "document")
    _require_case_open(case)
    require_not_held_by_other(document, actor)
    case_type = registry.get(case.case_type)
    if case_type is not None:  # a document a decided step has fixed stays where it was decided
        approvals.require_new_version_allowed(session, case_type, case.id, document.kind)
        if any(k.key == document.kind and k.managed for k in case_type.document_kinds):
            # Its own flow placed it (an adverse item, its statement beside it) and keeps it there.
            raise Conflict(f"documents of kind {document.kind!r} stay where their flow filed them",
                           detail_de="Dokumente dieser Art bleiben dort, wo ihr Ablauf sie abgelegt hat")
    source = session.get(Procedure, document.procedure_id) if document.procedure_id is not None else None
    if source is not None:
        require_open(source)  # a closed procedure is complete: nothing leaves it, as nothing enters it
    target = procedure_for_upload(session, actor, registry, case, procedure_id)
    if (target.id if target else None) == document.procedure_id:
        return document
    document.procedure_id = target.id if target else None
    audit.record(session, actor, "document.move", "document", document.id, case_id=case.id,
                 details={"title": document.title,
                          "from": _place(source), "to": _place(target)})
    indexing.document_changed(session, document.id)
    return document


def _place(procedure: Procedure | None) -> dict[str, object] | None:
    """A document's place in an audit event: None for the case level."""
    if procedure is None:
        return None
    return {"procedure_id": procedure.id, "reference": procedure.reference, "title": procedure.title}


def hidden_objects(session: Session, actor: Actor, registry: Registry, case_id: int) -> list[tuple[str, str]]:
    """(object type, object id) of the case's sub-files hidden from the caller and of the documents and follow-ups
    in them: their audit events stay out of the caller's view of the trail (titles are in them)."""
    hidden = hidden_subfiles(session, actor.principal, registry)
    if not hidden:
        return []
    visible = set(session.execute(select(Procedure.id).where(Procedure.case_id == case_id,
                                                             visible_procedures_filter(hidden))).scalars())
    ids = [i for i in session.execute(select(Procedure.id).where(Procedure.case_id == case_id)).scalars()
           if i not in visible]
    case = session.get(Case, case_id)
    level_hidden = case is not None and not can_see_procedure(hidden, case, None)  # a partial view
    if not ids and not level_hidden:
        return []

    def placed(column: Any) -> ColumnElement[bool]:
        return or_(column.in_(ids), column.is_(None)) if level_hidden else column.in_(ids)
    docs = session.execute(select(Document.id).where(Document.case_id == case_id,
                                                     placed(Document.procedure_id))).scalars()
    # Follow-ups and notes there too: their events carry the follow-up's note.
    fus = session.execute(select(FollowUp.id).where(FollowUp.case_id == case_id,
                                                    placed(FollowUp.procedure_id))).scalars()
    notes = session.execute(select(Note.id).where(Note.case_id == case_id, placed(Note.procedure_id))).scalars()
    return [("procedure", str(i)) for i in ids] + [("document", str(d)) for d in docs] + \
        [("followup", str(f)) for f in fus] + [("note", str(n)) for n in notes]


def trail_only(session: Session, actor: Actor, registry: Registry, case_id: int) -> list[tuple[str, str]] | None:
    """For a caller who sees the case only partially (a sub-file's unit): the objects of the sub-files they see
    (procedures, their documents, follow-ups and notes), the only events of the trail shown to them, since the
    case level's own events (reads, adverse items, access requests) are no more theirs than its documents.
    None: the caller sees the case level, and `hidden_objects` alone narrows the trail."""
    hidden = hidden_subfiles(session, actor.principal, registry)
    case = session.get(Case, case_id)
    if case is None or can_see_procedure(hidden, case, None):
        return None
    ids = list(session.execute(select(Procedure.id).where(Procedure.case_id == case_id,
                                                          visible_procedures_filter(hidden))).scalars())
    docs = session.execute(select(Document.id).where(Document.procedure_id.in_(ids))).scalars()
    fus = session.execute(select(FollowUp.id).where(FollowUp.procedure_id.in_(ids))).scalars()
    notes = session.execute(select(Note.id).where(Note.procedure_id.in_(ids))).scalars()
    return [("procedure", str(i)) for i in ids] + [("document", str(d)) for d in docs] + \
        [("followup", str(f)) for f in fus] + [("note", str(n)) for n in notes]


def list_procedures(session: Session, actor: Actor, registry: Registry, case_id: int) -> list[Procedure]:
    case = require_view_case(actor.principal, session.get(Case, case_id))
    hidden = hidden_subfiles(session, actor.principal, registry)
    return list(session.execute(select(Procedure).where(Procedure.case_id == case.id,
                                                        visible_procedures_filter(hidden))
                                .order_by(Procedure.number)).scalars())


# --- units of work ---------------------------------------------------------------------------------------


def open_procedure(rt: Runtime, actor: Actor, case_id: int, title: str) -> Procedure:
    with rt.db.write() as session:
        return create_procedure(session, actor, rt.registry, case_id, title)


def case_procedures(rt: Runtime, actor: Actor, case_id: int) -> list[Procedure]:
    with rt.db.read() as session:
        return list_procedures(session, actor, rt.registry, case_id)


def read_procedure(rt: Runtime, actor: Actor, procedure_id: int) -> Procedure:
    with rt.db.read() as session:
        return _procedure(session, actor, rt.registry, procedure_id)


def change_procedure(rt: Runtime, actor: Actor, procedure_id: int, changes: ProcedureChanges) -> Procedure:
    with rt.db.write() as session:
        return update_procedure(session, actor, rt.registry, procedure_id, changes)


def move(rt: Runtime, actor: Actor, document_id: int, procedure_id: int | None) -> Document:
    with rt.db.write() as session:
        document = move_document(session, actor, rt.registry, document_id, procedure_id)
        document.versions  # noqa: B018 - loaded for the caller, after the session ends
        return document


@dataclass(frozen=True)
class ProcedurePage:
    """A procedure with its documents (those the caller may see) and what the caller may do there."""

    procedure: Procedure
    documents: list[Document]
    may_change: bool  # rename, close/reopen: the case's clerks while the case is open and no workflow runs on it
    may_upload: bool  # also needs the procedure open
    workflow_running: bool = False  # its workflow closes it (the page says so instead of offering it)


def procedure_page(rt: Runtime, actor: Actor, procedure_id: int) -> ProcedurePage:
    with rt.db.read() as session:
        procedure = _procedure(session, actor, rt.registry, procedure_id)
        docs = list(session.execute(select(Document).where(Document.procedure_id == procedure.id)
                                    .order_by(Document.id)).scalars())
        change = can_change_case(actor.principal, procedure.case) and procedure.case.status == "open"
        # A sub-file's own unit files into it (access.can_change_at) without changing the procedure itself.
        upload = can_change_at(actor.principal, procedure.case, procedure) and procedure.case.status == "open"
        running = workflow_running(session, procedure.id)
        return ProcedurePage(procedure, docs, change and not running, upload and procedure.status == "open",
                             running)


@dataclass(frozen=True)
class Tree:
    """A case's procedures and sub-files with their documents (those the caller may see), and whether the caller
    may open a new procedure there (the case's clerks, case open, its type declaring no sub-files)."""

    procedures: list[tuple[Procedure, list[Document]]]
    may_add: bool


def case_tree(rt: Runtime, actor: Actor, case_id: int) -> Tree:
    with rt.db.read() as session:
        procs = list_procedures(session, actor, rt.registry, case_id)
        case = procs[0].case if procs else require_view_case(actor.principal, session.get(Case, case_id))
        ids = [p.id for p in procs]
        docs = list(session.execute(select(Document).where(Document.procedure_id.in_(ids))
                                    .order_by(Document.id)).scalars()) if ids else []
        case_type = rt.registry.get(case.case_type)
        may_add = (can_change_case(actor.principal, case) and case.status == "open"
                   and not (case_type is not None and case_type.subfiles))
    by_procedure: dict[int, list[Document]] = {}
    for d in docs:
        by_procedure.setdefault(d.procedure_id or 0, []).append(d)
    return Tree([(p, by_procedure.get(p.id, [])) for p in procs], may_add)


@dataclass(frozen=True)
class MoveChoices:
    """For a document's page: where it lies now, where it may go, and whether the caller may move it."""

    current: Procedure | None
    targets: list[Procedure]  # the open procedures/sub-files of its case the caller sees, without its own
    may_move: bool


def move_choices(rt: Runtime, actor: Actor, document_id: int) -> MoveChoices:
    with rt.db.read() as session:
        document = require_view_document(session, actor.principal, rt.registry, session.get(Document, document_id))
        procs = list_procedures(session, actor, rt.registry, document.case_id)
        current = next((p for p in procs if p.id == document.procedure_id), None)
        targets = [p for p in procs if p.status == "open" and p.id != document.procedure_id]
        may = can_change_case(actor.principal, document.case) and document.case.status == "open"
        return MoveChoices(current, targets, may and (bool(targets) or current is not None))
