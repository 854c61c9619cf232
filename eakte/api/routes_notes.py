"""Notes (Vermerke) of a case and the case's timeline. Notes are immutable: there is no PATCH or DELETE (405);
a correction is a new note with `corrects_id`."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import Paging, RowId, Strict
from eakte.services import notes, timeline


class NoteIn(Strict):
    text = fields.String(required=True, metadata={"description": f"at most {notes.MAX_TEXT} characters"})
    noted_on = fields.Date(load_default=None, metadata={"description": "the note's date; default today, never "
                                                                       "in the future"})
    procedure_id = RowId(load_default=None, allow_none=True,
                         metadata={"description": "a procedure of this case; default: the case itself"})
    corrects_id = RowId(load_default=None, allow_none=True,
                        metadata={"description": "an earlier note of this case that this one corrects"})


class CorrectionOut(Schema):
    id = fields.Integer()
    noted_on = fields.Date()


class NoteOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    procedure_id = fields.Integer(allow_none=True)
    noted_on = fields.Date()
    text = fields.String()
    corrects_id = fields.Integer(allow_none=True)
    corrected_by = fields.List(fields.Nested(CorrectionOut),
                               metadata={"description": "later notes correcting this one, oldest first"})
    created_at = fields.DateTime()
    created_by = fields.String(metadata={"description": "the author's name"})


class NoteList(Schema):
    items = fields.List(fields.Nested(NoteOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class TimelineEntryOut(Schema):
    kind = fields.String(metadata={"description": ", ".join(timeline.KINDS)})
    at = fields.DateTime()
    actor = fields.String()
    title = fields.String()
    summary = fields.String()
    document_id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    note_id = fields.Integer(allow_none=True)
    noted_on = fields.Date(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    procedure_id = fields.Integer(allow_none=True)
    followup_id = fields.Integer(allow_none=True)
    due_on = fields.Date(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    step = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)


class TimelineOut(Schema):
    items = fields.List(fields.Nested(TimelineEntryOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


def note_view(entry: notes.NoteEntry) -> dict[str, Any]:
    n = entry.note
    return {"id": n.id, "case_id": n.case_id, "procedure_id": n.procedure_id, "noted_on": n.noted_on,
            "text": n.text, "corrects_id": n.corrects_id, "created_at": n.created_at, "created_by": entry.author,
            "corrected_by": [{"id": i, "noted_on": d} for i, d in entry.corrected_by]}


# The single note's schema first: apispec registers it under its own name before the list nests it.
@api.post("/cases/<int:case_id>/notes")
@api.auth_required(token_auth)
@api.input(NoteIn, arg_name="body")
@api.output(NoteOut, status_code=201)
@api.doc(summary="Add a note to an open case or one of its procedures (the case's clerks); immutable once saved")
def add_note(case_id: int, body: dict[str, Any]) -> dict[str, Any]:
    new = notes.NewNote(text=body["text"], noted_on=body["noted_on"], procedure_id=body["procedure_id"],
                        corrects_id=body["corrects_id"])
    return note_view(notes.add_note(current_runtime(), current_actor(), case_id, new))


@api.get("/cases/<int:case_id>/notes")
@api.auth_required(token_auth)
@api.input(Paging, location="query", arg_name="query")
@api.output(NoteList)
@api.doc(summary="The notes (Vermerke) of a case, newest first")
def list_notes(case_id: int, query: dict[str, Any]) -> dict[str, Any]:
    entries, total = notes.case_notes(current_runtime(), current_actor(), case_id, offset=query["offset"],
                                      limit=query["limit"])
    return {"items": [note_view(e) for e in entries], "total": total, "offset": query["offset"],
            "limit": query["limit"]}


@api.get("/cases/<int:case_id>/timeline")
@api.auth_required(token_auth)
@api.input(Paging, location="query", arg_name="query")
@api.output(TimelineOut)
@api.doc(summary="The case's timeline: documents, versions, notes, decisions, follow-ups and procedures, newest "
                 "first, only what the caller may see")
def case_timeline(case_id: int, query: dict[str, Any]) -> dict[str, Any]:
    found = timeline.case_timeline(current_runtime(), current_actor(), case_id, offset=query["offset"],
                                   limit=query["limit"])
    return {"items": found.entries, "total": found.total, "offset": found.offset, "limit": found.limit}
