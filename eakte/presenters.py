"""Records shaped as both the API and the web pages show them: plain values, no HTTP, one definition each."""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from eakte.clock import utcnow
from eakte.models import Task
from eakte.runtime import Runtime
from eakte.services import workflow


def task_views(rt: Runtime, page: workflow.TaskList) -> list[dict[str, Any]]:
    return [task_view(rt, page.context, t) for t in page.tasks]


def task_view(rt: Runtime, ctx: workflow.PageContext, task: Task) -> dict[str, Any]:
    case_type = rt.registry.get(task.case_type)
    step = case_type.step(task.step) if case_type else None
    names = ctx.names
    now = utcnow()
    return {
        "id": task.id, "case_id": task.case_id, "case_reference": task.case.reference,
        "case_title": task.case.title, "case_type": task.case_type, "step": task.step,
        "step_label_de": step.label_de if step else task.step, "step_label_en": step.label_en if step else task.step,
        "unit": task.unit.code, "role": task.role, "status": task.status, "due_at": task.due_at,
        "overdue": bool(task.status == "open" and task.due_at and task.due_at < now),
        "escalated": task.escalated_at is not None, "claimed_by": ctx.claimant(task),
        "decision": task.decision, "comment": task.comment, "decided_by": names.get(task.decided_by),
        "decided_at": task.decided_at, "checks": task.case.metadata_.get("checks") or [],
        "decisions": workflow.allowed_decisions(rt, ctx, task),
    }


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII fallback plus the exact UTF-8 name (RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name) or "download"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
