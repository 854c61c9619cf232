"""Follow-ups (Wiedervorlage): set on a case or procedure, list a case's, mark done, postpone; the due ones of
the caller's Postkorb beside the workflow inbox (`GET /inbox` keeps its shape)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import DueFollowUpsOut, FollowUpIn, FollowUpList, FollowUpOut, Paging, PostponeIn
from eakte.services import followups


# The single answers first: apispec names a schema where it first meets it, and a list met before the
# schema itself would register it a second time (FollowUpOut1).

@api.post("/cases/<int:case_id>/followups")
@api.auth_required(token_auth)
@api.input(FollowUpIn, arg_name="body")
@api.output(FollowUpOut, status_code=201)
@api.doc(summary="Set a follow-up on the case or one of its procedures, for the caller or the case's unit "
                 "(those who may change the case)")
def set_followup(case_id: int, body: dict[str, Any]) -> Any:
    return followups.set_followup(current_runtime(), current_actor(), case_id, followups.NewFollowUp(
        due_on=body["due_on"], note=body["note"], for_unit=body["for_unit"], procedure_id=body["procedure_id"]))


@api.get("/cases/<int:case_id>/followups")
@api.auth_required(token_auth)
@api.output(FollowUpList)
@api.doc(summary="A case's follow-ups (Wiedervorlagen): the open ones by date, then the done ones")
def list_followups(case_id: int) -> dict[str, Any]:
    return {"items": followups.case_followups(current_runtime(), current_actor(), case_id)}


@api.post("/followups/<int:followup_id>/done")
@api.auth_required(token_auth)
@api.output(FollowUpOut)
@api.doc(summary="Mark a follow-up done (the person it is for, or any member of its unit for a unit's)")
def followup_done(followup_id: int) -> Any:
    return followups.complete_followup(current_runtime(), current_actor(), followup_id)


@api.post("/followups/<int:followup_id>/postpone")
@api.auth_required(token_auth)
@api.input(PostponeIn, arg_name="body")
@api.output(FollowUpOut)
@api.doc(summary="Postpone a follow-up to a new date (today or later)")
def followup_postpone(followup_id: int, body: dict[str, Any]) -> Any:
    return followups.postpone_followup(current_runtime(), current_actor(), followup_id, body["due_on"])


@api.get("/inbox/followups")
@api.auth_required(token_auth)
@api.input(Paging, location="query", arg_name="query")
@api.output(DueFollowUpsOut)
@api.doc(summary="The caller's due follow-ups (own and their units'), longest overdue first")
def inbox_followups(query: dict[str, Any]) -> dict[str, Any]:
    offset, limit = query["offset"], query["limit"]
    due = followups.inbox_followups(current_runtime(), current_actor(), offset=offset, limit=limit)
    return {"items": due.items, "total": due.total, "overdue": due.overdue, "offset": offset, "limit": limit}
