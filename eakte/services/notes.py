"""Notes (Vermerke): short dated notes on a case or on one of its procedures, immutable once saved.

Nothing changes or removes a note: a correction is a new note naming the one it corrects (`corrects_id`, a note
of the same case), and the list marks the corrected note with the correction. Writing takes the case's change
right (its unit's clerks, admins; auditors read only), and the case must be open: a closed case (z.d.A.) takes no
notes, as it takes no documents, so that what was on file when it was closed stays what is on file. The text goes
into the search index (an entry of its own, `indexing.note_changed`) in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from eakte.clock import office_today
from eakte.errors import Conflict, Invalid
from eakte.services.inputs import required_text
from eakte.models import Case, Note, Procedure, User
from eakte.runtime import Runtime
from eakte.services import audit, indexing
from eakte.services.access import (Actor, HiddenSubfiles, can_change_case, can_see_procedure, hidden_subfiles,
                                   require_change_case, require_view_case, visible_place_filter,
                                   visible_procedures_filter)
from workflows.registry import Registry

MAX_TEXT = 10_000  # characters: a Vermerk is a short note; longer texts are documents


@dataclass(frozen=True)
class NewNote:
    text: str
    noted_on: dt.date | None = None  # None: today (the office's calendar)
    procedure_id: int | None = None  # None: on the case itself (or the corrected note's procedure)
    corrects_id: int | None = None


@dataclass(frozen=True)
class NoteEntry:
    """A note as lists show it: its author's name and the notes that correct it (id, date), oldest first."""

    note: Note
    author: str
    corrected_by: tuple[tuple[int, dt.date], ...] = ()
    procedure_reference: str = ""  # "" on the case itself
    corrects_on: dt.date | None = None  # the date of the note this one corrects


def visible_notes_filter(hidden: HiddenSubfiles) -> ColumnElement[bool]:
    """SQL on Note: on the case itself, or in a procedure/sub-file the caller may see (the documents' rule)."""
    return visible_place_filter(hidden, Note.case_id, Note.procedure_id)


def record_note(session: Session, actor: Actor, registry: Registry, case_id: int, new: NewNote) -> Note:
    """The note's row, audit event and index entry in the caller's transaction."""
    case = require_change_case(actor.principal, session.get(Case, case_id))
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed; no notes can be added",
                       detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.); Vermerke sind nicht mehr möglich")
    text = _text(new.text)
    noted_on = _noted_on(new.noted_on)
    hidden = hidden_subfiles(session, actor.principal, registry)
    corrected = _corrected(session, case, new.corrects_id, hidden)
    procedure_id = new.procedure_id if new.procedure_id is not None else \
        (corrected.procedure_id if corrected is not None else None)
    _require_procedure(session, case, procedure_id, hidden)
    note = Note(case_id=case.id, procedure_id=procedure_id, noted_on=noted_on, text=text,
                corrects_id=corrected.id if corrected is not None else None, created_by=actor.principal.user_id)
    session.add(note)
    session.flush()
    # The text's hash, not the text: the trail proves what was written without holding a second copy of it.
    audit.record(session, actor, "note.created", "note", note.id, case_id=case.id,
                 details={"noted_on": noted_on.isoformat(), "procedure_id": procedure_id,
                          "corrects": note.corrects_id, "length": len(text),
                          "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()})
    indexing.note_changed(session, note.id)
    return note


def _text(value: str | None) -> str:
    return required_text(value, "text", MAX_TEXT, empty_de="Bitte geben Sie den Text des Vermerks ein.",
                         too_long_de=f"Ein Vermerk hat höchstens {MAX_TEXT} Zeichen.")


def _noted_on(value: dt.date | None) -> dt.date:
    today = office_today()
    if value is None:
        return today
    if value > today:
        raise Invalid("noted_on must not be in the future", field="noted_on",
                      detail_de="Das Datum des Vermerks darf nicht in der Zukunft liegen.")
    return value


def _corrected(session: Session, case: Case, note_id: int | None, hidden: HiddenSubfiles) -> Note | None:
    if note_id is None:
        return None
    note = session.get(Note, note_id)
    # A note of another case, or of a sub-file the caller may not see, is "not there": its id tells nothing.
    if note is None or note.case_id != case.id or not can_see_procedure(
            hidden, case, session.get(Procedure, note.procedure_id) if note.procedure_id else None):
        raise Invalid(f"corrects_id: case {case.reference} has no note {note_id}", field="corrects_id",
                      detail_de="Der zu berichtigende Vermerk gehört nicht zu dieser Akte.")
    return note


def _require_procedure(session: Session, case: Case, procedure_id: int | None, hidden: HiddenSubfiles) -> None:
    if procedure_id is None:
        return
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or procedure.case_id != case.id or not can_see_procedure(hidden, case, procedure):
        raise Invalid(f"procedure_id: case {case.reference} has no procedure {procedure_id}", field="procedure_id",
                      detail_de="Der Vorgang gehört nicht zu dieser Akte.")
    if procedure.status != "open":
        raise Conflict(f"procedure {procedure.reference} is closed; no notes can be added",
                       detail_de=f"Vorgang {procedure.reference} ist abgeschlossen; Vermerke sind nicht mehr möglich")


def notes_of(session: Session, actor: Actor, registry: Registry, case_id: int, *, offset: int = 0,
             limit: int = 50) -> tuple[list[NoteEntry], int]:
    """A case's notes the caller may see, newest first (by the note's date, then by when it was written), and
    their number."""
    case = require_view_case(actor.principal, session.get(Case, case_id))
    visible = visible_notes_filter(hidden_subfiles(session, actor.principal, registry))
    where = and_(Note.case_id == case.id, visible)
    total = session.execute(select(func.count()).select_from(Note).where(where)).scalar_one()
    rows = list(session.execute(select(Note).where(where).order_by(Note.noted_on.desc(), Note.id.desc())
                                .offset(offset).limit(limit)).scalars())
    ids = [n.id for n in rows]
    corrections: dict[int, list[tuple[int, dt.date]]] = {}
    if ids:
        for note_id, noted_on, corrects in session.execute(
                select(Note.id, Note.noted_on, Note.corrects_id).where(Note.corrects_id.in_(ids), visible)
                .order_by(Note.id)):
            corrections.setdefault(corrects, []).append((note_id, noted_on))
    names = author_names(session, {n.created_by for n in rows})
    places: dict[int, str] = dict(session.execute(select(Procedure.id, Procedure.reference).where(
        Procedure.id.in_(sorted({n.procedure_id for n in rows if n.procedure_id is not None})))).all())
    corrected: dict[int, dt.date] = dict(session.execute(select(Note.id, Note.noted_on).where(
        Note.id.in_(sorted({n.corrects_id for n in rows if n.corrects_id is not None})))).all())
    return [NoteEntry(n, names.get(n.created_by, ""), tuple(corrections.get(n.id, ())),
                      places.get(n.procedure_id, "") if n.procedure_id is not None else "",
                      corrected.get(n.corrects_id) if n.corrects_id is not None else None) for n in rows], total


def author_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Display names (the user name where none is set) of these users."""
    if not user_ids:
        return {}
    return {uid: display or username for uid, username, display in session.execute(
        select(User.id, User.username, User.display_name).where(User.id.in_(sorted(user_ids))))}


# --- units of work ----------------------------------------------------------------------------------------

def add_note(rt: Runtime, actor: Actor, case_id: int, new: NewNote) -> NoteEntry:
    with rt.db.write() as session:
        note = record_note(session, actor, rt.registry, case_id, new)
        return NoteEntry(note, author_names(session, {note.created_by}).get(note.created_by, ""))


def case_notes(rt: Runtime, actor: Actor, case_id: int, *, offset: int = 0,
               limit: int = 50) -> tuple[list[NoteEntry], int]:
    with rt.db.read() as session:
        return notes_of(session, actor, rt.registry, case_id, offset=offset, limit=limit)


@dataclass(frozen=True)
class NotesPanel:
    """What the case page shows and offers: the newest notes (a correction may name one of them) and, to whoever
    `record_note` lets write, the procedures a note may go to."""

    items: list[NoteEntry]
    total: int
    may_add: bool
    procedures: list[tuple[int, str]]  # (id, "reference title"): the case's open ones the caller sees


def case_panel(rt: Runtime, actor: Actor, case_id: int, *, limit: int = 20) -> NotesPanel:
    p = actor.principal
    with rt.db.read() as session:
        items, total = notes_of(session, actor, rt.registry, case_id, limit=limit)
        case = session.get(Case, case_id)
        assert case is not None  # notes_of has checked it is there and visible
        may_add = can_change_case(p, case) and case.status == "open"
        hidden = hidden_subfiles(session, p, rt.registry)
        procedures = [(pr.id, f"{pr.reference} {pr.title}") for pr in session.execute(
            select(Procedure).where(Procedure.case_id == case.id, Procedure.status == "open",
                                    visible_procedures_filter(hidden)).order_by(Procedure.number)).scalars()] \
            if may_add else []
        return NotesPanel(items, total, may_add, procedures)
