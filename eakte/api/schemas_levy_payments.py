"""Request and response shapes of the levy's after-notice API: objections and their decision, §8 changes and the
cancellation, payments (typed in, imported from the cash office's CSV), a procedure's schedule and balance, the
arrears. Money is decimal text ("147.60"); dates are ISO days."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from eakte.api.schemas import Strict

MONEY = {"description": "decimal text in euros, e.g. 147.60"}


class LevyObjectionIn(Strict):
    received_on = fields.Date(required=True, metadata={
        "description": "the day the objection was received (not in the future, not before the notice was sent)"})
    grounds = fields.String(required=True, validate=validators.Length(max=20_000), metadata={
        "description": "what the objection says (its grounds, or a summary; the letter itself is filed as a "
                       "document of kind objection)"})


class LevyObjectionDecisionIn(Strict):
    remedy = fields.Boolean(required=True, metadata={
        "description": "true: remedy (Abhilfe: a new computation and notice from the objected notice's day); false: "
                       "no remedy, forwarded to the objection authority"})
    note = fields.String(required=True, validate=validators.Length(max=5_000), metadata={
        "description": "the reasons of the decision"})
    forwarded_to = fields.String(load_default=None, allow_none=True, validate=validators.Length(max=300), metadata={
        "description": "the objection authority (rejection only); default: the configured objection_authority, "
                       "required when none is configured"})


class LevyObjectionOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    notice_id = fields.Integer(metadata={"description": "the notice objected to (the newest sent one)"})
    notice_kind = fields.String()
    notice_sent_on = fields.Date(allow_none=True)
    received_on = fields.Date()
    deadline = fields.Date(metadata={"description": "the last day of the objection period (notified on the third "
                                                    "day after posting, one month, the next working day)"})
    late = fields.Boolean(metadata={"description": "received after the deadline (recorded all the same)"})
    grounds = fields.String()
    status = fields.String(metadata={"description": "open, remedied or rejected"})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    forwarded_to = fields.String(allow_none=True)


class LevyChangeIn(Strict):
    effective_from = fields.Date(required=True, metadata={
        "description": "the 1st of a month within the payment period, not before the current notice takes effect"})
    reason = fields.String(required=True, validate=validators.Length(max=5_000))


class LevyChangeOut(Schema):
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    kind = fields.String(metadata={"description": "change or cancellation"})
    effective_from = fields.Date()
    notice_id = fields.Integer(allow_none=True, metadata={"description": "the cancellation notice; a change's "
                                                                         "notice follows its new computation"})
    step = fields.String(allow_none=True, metadata={"description": "the workflow's step now (null: finished)"})


class LevyPaymentIn(Strict):
    paid_on = fields.Date(required=True, metadata={"description": "not in the future"})
    amount = fields.String(required=True, metadata={"description": "positive, at most two decimals: 147.60 or "
                                                                   "147,60"})
    reference = fields.String(load_default=None, allow_none=True, validate=validators.Length(max=140),
                              metadata={"description": "Verwendungszweck"})
    separate = fields.Boolean(load_default=False, metadata={
        "description": "true: this is another payment, although one of the same amount within 14 days counts "
                       "already, imported or typed in (without it, such a payment is refused with 409: it would "
                       "count twice)"})


class LevyPaymentOut(Schema):
    id = fields.Integer()
    procedure_id = fields.Integer()
    paid_on = fields.Date()
    amount = fields.String(metadata=MONEY)
    reference = fields.String(allow_none=True)
    booking_id = fields.String(allow_none=True, metadata={"description": "the cash office's booking number "
                                                                         "(imported payments)"})
    source = fields.String(metadata={"description": "manual, import or reversal"})
    recorded_at = fields.DateTime()
    recorded_by = fields.String(allow_none=True)
    supersedes_id = fields.Integer(allow_none=True, metadata={
        "description": "a reversal: the payment it reverses; an imported line: the typed-in payment it confirms"})
    note = fields.String(allow_none=True, metadata={"description": "a reversal's reason"})
    superseded_by = fields.Integer(allow_none=True, metadata={
        "description": "the reversal or the imported line that took this payment's place"})
    superseded_as = fields.String(allow_none=True, metadata={"description": "reversal or import"})
    counts = fields.Boolean(metadata={"description": "whether the payment is in the balance"})


class LevyReversalIn(Strict):
    reason = fields.String(required=True, validate=validators.Length(max=500),
                           metadata={"description": "why the payment is reversed (e.g. booked to the wrong case)"})


class LevyPaymentItem(LevyPaymentOut):
    """A payment in a balance (a class of its own: an answer's schema met nested first is registered twice)."""


class LevyDueOut(Schema):
    due_on = fields.Date()
    amount = fields.String(metadata=MONEY)
    notice_id = fields.Integer()
    notice_kind = fields.String()


class LevyBalanceOut(Schema):
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    today = fields.Date()
    schedule = fields.List(fields.Nested(LevyDueOut), metadata={
        "description": "the monthly amounts the sent notices make due, due on the 1st of each month"})
    payments = fields.List(fields.Nested(LevyPaymentItem))
    expected_total = fields.String(metadata=MONEY)
    expected_to_date = fields.String(metadata=MONEY)
    paid = fields.String(metadata=MONEY)
    balance = fields.String(metadata={"description": "expected to date − paid: positive in arrears, negative paid "
                                                     "in advance"})
    oldest_unpaid = fields.Date(allow_none=True, metadata={"description": "the first month not covered"})


class LevyPaymentUpload(Schema):
    file = fields.File(required=True, metadata={
        "description": "the cash office's CSV: Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck (decimal comma, "
                       "TT.MM.JJJJ; the procedure reference in the Verwendungszweck)"})


class LevyImportedLineOut(Schema):
    line = fields.Integer()
    booking_id = fields.String()
    payment_id = fields.Integer()
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    paid_on = fields.Date()
    amount = fields.String(metadata=MONEY)
    confirms_payment_id = fields.Integer(allow_none=True, metadata={
        "description": "the payment typed in by hand this line confirms: the money counts once"})


class LevyImportProblemOut(Schema):
    line = fields.Integer()
    booking_id = fields.String()
    kind = fields.String(metadata={"description": "duplicate (booked already) or unmatched (no levy procedure "
                                                  "named in the Verwendungszweck)"})
    message = fields.String()
    message_de = fields.String()
    amount = fields.String(metadata=MONEY)
    purpose = fields.String()


class LevyImportOut(Schema):
    sha256 = fields.String()
    lines = fields.Integer()
    imported = fields.List(fields.Nested(LevyImportedLineOut))
    problems = fields.List(fields.Nested(LevyImportProblemOut))
    total = fields.String(metadata=MONEY)


class LevyArrearsQuery(Strict):
    today = fields.Date(load_default=None, metadata={"description": "the state on this day (default today)"})


class LevyArrearsRowOut(Schema):
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    case_id = fields.Integer()
    case_reference = fields.String()
    title = fields.String()
    tenant_name = fields.String(allow_none=True)
    expected_to_date = fields.String(metadata=MONEY)
    paid = fields.String(metadata=MONEY)
    amount = fields.String(metadata={"description": "in arrears"})
    oldest_unpaid = fields.Date(allow_none=True)


class LevyArrearsOut(Schema):
    today = fields.Date()
    items = fields.List(fields.Nested(LevyArrearsRowOut))
    total = fields.String(metadata=MONEY)
