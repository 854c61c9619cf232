"""The correction path of a workflow: return a case to a step it has passed (voiding the decisions since)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import ReturnIn, ReturnOut
from eakte.services import corrections


@api.post("/cases/<int:case_id>/workflow/return")
@api.auth_required(token_auth)
@api.input(ReturnIn, arg_name="body")
@api.output(ReturnOut)
@api.doc(summary="Return the case to an earlier step (whoever may act on the current task; a reason is required); "
                 "voids the decisions since, so the fields they fixed can be corrected")
def return_case(case_id: int, body: dict[str, Any]) -> Any:
    return corrections.return_to_step(current_runtime(), current_actor(), case_id, body["target"], body["reason"])
