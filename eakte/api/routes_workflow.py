"""Workflow endpoints: case types, inbox, tasks, a case's workflow, deputies."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import (
    CaseTypeList,
    CompleteIn,
    CompleteOut,
    DeputiesIn,
    DeputiesOut,
    InboxOut,
    InboxQuery,
    WorkflowOut,
)
from eakte.models import WorkflowEvent, WorkflowInstance
from eakte.presenters import task_views
from eakte.runtime import Runtime
from eakte.services import workflow


@api.get("/case-types")
@api.auth_required(token_auth)
@api.output(CaseTypeList)
@api.doc(summary="Installed case types with their fields and steps (to build forms)")
def case_types() -> dict[str, Any]:
    return {"items": [t.describe() for _, t in sorted(current_runtime().registry.types.items())]}


@api.get("/inbox")
@api.auth_required(token_auth)
@api.input(InboxQuery, location="query", arg_name="query")
@api.output(InboxOut)
@api.doc(summary="Open tasks the caller may act on, soonest due first")
def inbox(query: dict[str, Any]) -> dict[str, Any]:
    rt = current_runtime()
    offset, limit = query.pop("offset"), query.pop("limit")
    page, total, counts = workflow.inbox_page(rt, current_actor(), workflow.InboxFilter(**query), offset=offset,
                                              limit=limit)
    return {"items": task_views(rt, page), "total": total, "counts": counts, "offset": offset, "limit": limit}


@api.post("/tasks/<int:task_id>/claim")
@api.auth_required(token_auth)
@api.doc(summary="Take a task so colleagues do not work on it twice", responses=[204])
def claim(task_id: int) -> tuple[str, int]:
    workflow.claim_task(current_runtime(), current_actor(), task_id)
    return "", 204


@api.post("/tasks/<int:task_id>/release")
@api.auth_required(token_auth)
@api.doc(summary="Give a claimed task back to the unit", responses=[204])
def release(task_id: int) -> tuple[str, int]:
    workflow.release_task(current_runtime(), current_actor(), task_id)
    return "", 204


@api.post("/tasks/<int:task_id>/complete")
@api.auth_required(token_auth)
@api.input(CompleteIn, arg_name="body")
@api.output(CompleteOut)
@api.doc(summary="Decide a task (a comment is required for reject and return)")
def complete(task_id: int, body: dict[str, Any]) -> Any:
    return workflow.complete_task(current_runtime(), current_actor(), task_id, body["decision"], body["comment"])


@api.get("/cases/<int:case_id>/workflow")
@api.auth_required(token_auth)
@api.output(WorkflowOut)
@api.doc(summary="Current step(s), the caller's allowed decisions, and the history")
def case_workflow(case_id: int) -> dict[str, Any]:
    rt = current_runtime()
    return _workflow_view(rt, case_id, None, *workflow.case_workflow(rt, current_actor(), case_id))


@api.get("/procedures/<int:procedure_id>/workflow")
@api.auth_required(token_auth)
@api.output(WorkflowOut)
@api.doc(summary="A procedure's own workflow (case types whose workflow runs per procedure, e.g. a trade "
                 "notification): current step(s), allowed decisions, history")
def procedure_workflow(procedure_id: int) -> dict[str, Any]:
    rt = current_runtime()
    instance, open_tasks, events = workflow.procedure_workflow(rt, current_actor(), procedure_id)
    case_id = instance.case_id if instance else None
    return _workflow_view(rt, case_id, procedure_id, instance, open_tasks, events)


def _workflow_view(rt: Runtime, case_id: int | None, procedure_id: int | None,
                   instance: WorkflowInstance | None, open_tasks: workflow.TaskList,
                   events: list[WorkflowEvent]) -> dict[str, Any]:
    return {"case_id": case_id, "procedure_id": procedure_id,
            "case_type": instance.case_type if instance else None,
            "status": instance.status if instance else None,
            "current_step": instance.current_step if instance else None,
            "open_tasks": task_views(rt, open_tasks),
            "history": [{"at": e.at, "action": e.action, "step": e.step, "actor": e.actor,
                         "decision": e.decision, "comment": e.comment} for e in events]}


@api.put("/me/deputies")
@api.auth_required(token_auth)
@api.input(DeputiesIn, arg_name="body")
@api.output(DeputiesOut)
@api.doc(summary="Set who acts for me, and when (replaces the list); deputies must share one of my units")
def put_deputies(body: dict[str, Any]) -> dict[str, Any]:
    return _set_deputies(body, None)


@api.put("/users/<username>/deputies")
@api.auth_required(token_auth)
@api.input(DeputiesIn, arg_name="body")
@api.output(DeputiesOut)
@api.doc(summary="Admins: set a user's deputies, also from other units (replaces the list)")
def put_user_deputies(username: str, body: dict[str, Any]) -> dict[str, Any]:
    return _set_deputies(body, username)


def _set_deputies(body: dict[str, Any], for_user: str | None) -> dict[str, Any]:
    periods = [workflow.DeputyPeriod(d["user"], d["starts_on"], d["ends_on"]) for d in body["deputies"]]
    workflow.set_deputies(current_runtime(), current_actor(), periods, for_user=for_user)
    return {"deputies": [{"user": p.username, "from": p.starts_on.isoformat(), "to": p.ends_on.isoformat()}
                         for p in periods]}
