"""The trade register's outbox: the transmissions to the regular recipients (GewAnzV §3), what is pending,
overdue or failed, and a clerk's retry and confirmation. Every rule is the service's (eakte.services.trade.outbox);
sending itself is the periodic job's (and `eakte trade send`)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_trade_outbox import OutboxOut, OutboxQuery, TransmissionOut
from eakte.services.trade import outbox


@api.get("/trade/transmissions/<int:transmission_id>")
@api.auth_required(token_auth)
@api.output(TransmissionOut)
@api.doc(summary="One transmission of a trade notification (trade unit, auditors, admins)")
def get_transmission(transmission_id: int) -> Any:
    return outbox.read_transmission(current_runtime(), current_actor(), transmission_id)


@api.get("/trade/outbox")
@api.auth_required(token_auth)
@api.input(OutboxQuery, location="query", arg_name="query")
@api.output(OutboxOut)
@api.doc(summary="The outbox of the trade register: failed, overdue and pending transmissions first, then the "
                 "sent ones awaiting confirmation (trade unit, auditors, admins)")
def list_outbox(query: dict[str, Any]) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    flt = outbox.OutboxFilter(status=query["status"], overdue=query["overdue"])
    offset, limit = query["offset"], query["limit"]
    return {"items": outbox.outbox_page(rt, actor, flt, offset=offset, limit=limit),
            "total": outbox.outbox_count(rt, actor, flt), "offset": offset, "limit": limit}


@api.post("/trade/transmissions/<int:transmission_id>/retry")
@api.auth_required(token_auth)
@api.output(TransmissionOut)
@api.doc(summary="Send a failed transmission again: a fresh round of attempts at the next send run (clerks of "
                 "the trade unit; 409 when it has not failed)")
def retry_transmission(transmission_id: int) -> Any:
    return outbox.retry(current_runtime(), current_actor(), transmission_id)


@api.post("/trade/transmissions/<int:transmission_id>/confirm")
@api.auth_required(token_auth)
@api.output(TransmissionOut)
@api.doc(summary="Record that the recipient confirmed a sent transmission (clerks of the trade unit; 409 unless "
                 "sent)")
def confirm_transmission(transmission_id: int) -> Any:
    return outbox.confirm(current_runtime(), current_actor(), transmission_id)
