"""Recorded-reason access (Einsicht mit Begründung): auditors and admins ask for access to one restricted case
(a personnel file) with a reason; the case type's granting role in its unit grants or refuses; the requester
may withdraw. The rules are the service's (eakte.services.access_requests) and access.py's."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import AccessRefuseIn, AccessRequestIn, AccessRequestList, AccessRequestOut, AccessRequestQuery
from eakte.services import access_requests


# The single answers first: apispec names a schema where it first meets it (see routes_followups).

@api.post("/cases/<int:case_id>/access-requests")
@api.auth_required(token_auth)
@api.input(AccessRequestIn, arg_name="body")
@api.output(AccessRequestOut, status_code=201)
@api.doc(summary="Ask for recorded-reason access to a restricted case (auditors and admins); granted at once "
                 "and flagged where the case type is so configured")
def request_access(case_id: int, body: dict[str, Any]) -> Any:
    return access_requests.ask(current_runtime(), current_actor(), case_id, body["reason"])


@api.get("/access-requests/<int:request_id>")
@api.auth_required(token_auth)
@api.output(AccessRequestOut)
@api.doc(summary="One access request: for its requester, its deciders and the case's full readers")
def read_access_request(request_id: int) -> Any:
    return access_requests.read_request(current_runtime(), current_actor(), request_id)


@api.post("/access-requests/<int:request_id>/grant")
@api.auth_required(token_auth)
@api.output(AccessRequestOut)
@api.doc(summary="Grant a pending request for the configured hours (the granting role in the case's unit, "
                 "never the requester)")
def grant_access(request_id: int) -> Any:
    return access_requests.decide_grant(current_runtime(), current_actor(), request_id)


@api.post("/access-requests/<int:request_id>/refuse")
@api.auth_required(token_auth)
@api.input(AccessRefuseIn, arg_name="body")
@api.output(AccessRequestOut)
@api.doc(summary="Refuse a pending request, with a comment (the granting role in the case's unit)")
def refuse_access(request_id: int, body: dict[str, Any]) -> Any:
    return access_requests.decide_refuse(current_runtime(), current_actor(), request_id, body["comment"])


@api.post("/access-requests/<int:request_id>/withdraw")
@api.auth_required(token_auth)
@api.output(AccessRequestOut)
@api.doc(summary="Withdraw one's own pending request, or end one's running grant early")
def withdraw_access(request_id: int) -> Any:
    return access_requests.take_back(current_runtime(), current_actor(), request_id)


@api.get("/access-requests")
@api.auth_required(token_auth)
@api.input(AccessRequestQuery, location="query", arg_name="query")
@api.output(AccessRequestList)
@api.doc(summary="The caller's own access requests and those they decide on, the newest first")
def list_access_requests(query: dict[str, Any]) -> dict[str, Any]:
    offset, limit = query["offset"], query["limit"]
    items, total = access_requests.list_requests(current_runtime(), current_actor(), status=query["status"],
                                                 offset=offset, limit=limit)
    return {"items": items, "total": total, "offset": offset, "limit": limit}
