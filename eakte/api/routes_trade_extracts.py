"""Register extracts of the trade register as PDF/A and the retrieval log (GewO §14(5)–(10)). Every rule is
the service's (eakte.services.trade.extracts): who gets which extract, what must be recorded, the log."""
from __future__ import annotations

from typing import Any

from flask import Response

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_trade_extracts import ExtractQuery, RetrievalList, RetrievalQuery
from eakte.presenters import content_disposition
from eakte.services.trade import extracts


@api.get("/trade/businesses/<int:case_id>/extract")
@api.auth_required(token_auth)
@api.input(ExtractQuery, location="query", arg_name="query")
@api.doc(summary="A register extract as PDF/A: kind=simple for any signed-in user, kind=extended (the whole "
                 "entry) by clerks of the trade unit with the requester and their legal interest recorded; "
                 "every retrieval is logged with purpose and reference",
         responses={200: {"description": "the extract", "content": {"application/pdf": {}}},
                    409: {"description": "the business is not entered in the register yet"}})
def business_extract(case_id: int, query: dict[str, Any]) -> Response:
    request = extracts.ExtractRequest(requester=query["requester"], requester_kind=query["requester_kind"],
                                      interest=query["interest"], purpose=query["purpose"],
                                      reference=query["reference"])
    filename, pdf = extracts.extract(current_runtime(), current_actor(), case_id, query["kind"], request)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": content_disposition(filename), "Content-Length": str(len(pdf)),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@api.get("/trade/retrievals")
@api.auth_required(token_auth)
@api.input(RetrievalQuery, location="query", arg_name="query")
@api.output(RetrievalList)
@api.doc(summary="The retrieval log of the trade register, newest first, for spot checks (the trade unit's "
                 "head of unit and approvers, auditors, admins); rows go after retrieval_log_months")
def list_retrievals(query: dict[str, Any]) -> dict[str, Any]:
    offset, limit = query["offset"], query["limit"]
    items, total = extracts.retrievals(current_runtime(), current_actor(),
                                       extracts.RetrievalFilter(case_id=query["case_id"], kind=query["kind"]),
                                       offset=offset, limit=limit)
    return {"items": items, "total": total, "offset": offset, "limit": limit}
