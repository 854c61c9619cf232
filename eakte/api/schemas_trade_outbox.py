"""Request and response shapes of the trade register's outbox (GewAnzV §3 transmissions)."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from eakte.api.schemas import Paging
from eakte.services.trade.outbox import STATUSES


class OutboxQuery(Paging):
    status = fields.String(load_default=None, validate=validators.OneOf(STATUSES), metadata={
        "description": "only messages in this status (pending, sent, confirmed, failed); default: all not yet "
                       "confirmed"})
    overdue = fields.Boolean(load_default=False, metadata={
        "description": "only messages not sent by their due time"})


class TransmissionOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer(metadata={"description": "the business (its case)"})
    case_reference = fields.String()
    business_id = fields.String(allow_none=True, metadata={"description": "gewerbebetriebID"})
    business_name = fields.String(allow_none=True, metadata={"description": "eingetragenerName"})
    procedure_id = fields.Integer(metadata={"description": "the notification (its procedure)"})
    procedure_reference = fields.String()
    procedure_title = fields.String()
    notification = fields.String(allow_none=True, metadata={"description": "anmeldung, ummeldung or abmeldung"})
    recipient = fields.String(metadata={"description": "key of the configured recipient"})
    recipient_name = fields.String()
    format = fields.String(metadata={"description": "json or xml"})
    document_id = fields.Integer(metadata={"description": "the filed message (document of kind transmission)"})
    status = fields.String(metadata={"description": "pending, sent, confirmed or failed"})
    due_at = fields.DateTime(metadata={"description": "UTC; without delay after the receipt, the statistics "
                                                      "office on the first working day of the next month"})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer(metadata={"description": "send attempts so far"})
    next_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "not sent and its due time has passed"})
    may_retry = fields.Boolean(metadata={"description": "the caller may retry it now"})
    may_confirm = fields.Boolean(metadata={"description": "the caller may record the recipient's confirmation"})


class OutboxItem(TransmissionOut):
    """A transmission in the outbox list. A class of its own: apiflask meets the list (its path is shorter)
    before the single answers, and one class met first nested, then as an answer, would be registered twice."""


class OutboxOut(Schema):
    items = fields.List(fields.Nested(OutboxItem))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()
