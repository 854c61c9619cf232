"""Request and response shapes of the REST API (they also generate the OpenAPI document)."""
from __future__ import annotations

from apiflask import Schema, fields, validators
from marshmallow import INCLUDE, RAISE

from eakte.api.converters import MAX_ID


class Strict(Schema):
    class Meta:
        unknown = RAISE


def RowId(**kwargs: object) -> fields.Integer:  # noqa: N802 - reads like the field classes it stands beside
    """An id of a database row given in a query or body: bounded like the path ids (a larger one overflows)."""
    return fields.Integer(validate=validators.Range(min=1, max=MAX_ID), **kwargs)  # type: ignore[arg-type]


# --- errors -----------------------------------------------------------------------------------------------

class ProblemFieldError(Schema):
    location = fields.String(metadata={"description": "json, query, form, files or path"})
    field = fields.String()
    messages = fields.List(fields.String())


class Problem(Schema):
    """RFC 9457 problem details, the body of every error answer (application/problem+json)."""

    class Meta:
        unknown = INCLUDE  # errors may name more members, e.g. the field and step a conflict is about

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True)
    title_de = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    detail_de = fields.String()
    instance = fields.String(required=True, metadata={"description": "the request path"})
    errors = fields.List(fields.Nested(ProblemFieldError), metadata={"description": "invalid input, per field"})


class Paging(Strict):
    offset = fields.Integer(load_default=0, validate=validators.Range(min=0, max=MAX_ID))  # SQL OFFSET is 64-bit
    limit = fields.Integer(load_default=50, validate=validators.Range(min=1, max=500))


# --- identity ---------------------------------------------------------------------------------------------

class RoleOut(Schema):
    unit = fields.String()
    unit_name = fields.String()
    role = fields.String()


class MeOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.Nested(RoleOut))
    is_admin = fields.Boolean()
    is_auditor = fields.Boolean()


# --- file plan --------------------------------------------------------------------------------------------

class FilePlanIn(Strict):
    code = fields.String(required=True, metadata={"example": "20.30"})
    title = fields.String(required=True, metadata={"example": "Rechnungen"})
    retention_years = fields.Integer(required=True, validate=validators.Range(min=0, max=200))
    disposal = fields.String(load_default="archive", validate=validators.OneOf(["archive", "destroy"]))


class FilePlanOut(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    retention_years = fields.Integer()
    disposal = fields.String()
    parent_code = fields.String(allow_none=True)


class FilePlanList(Schema):
    items = fields.List(fields.Nested(FilePlanOut))


# --- cases ------------------------------------------------------------------------------------------------

class CaseIn(Strict):
    file_plan_code = fields.String(required=True, metadata={"example": "20.30"})
    title = fields.String(load_default=None, validate=validators.Length(min=1, max=500), metadata={
        "description": "required, unless the case type makes it from the fields (its title_template, e.g. "
                       "a personnel file: \"Personalakte <name> (<personnel_number>)\")"})
    unit = fields.String(required=True, metadata={"description": "code of the responsible unit"})
    case_type = fields.String(load_default="general", validate=validators.Length(min=1, max=64))
    metadata = fields.Dict(keys=fields.String(), load_default=dict)
    confidentiality = fields.String(load_default=None, validate=validators.Length(min=1, max=32), metadata={
        "description": "confidentiality level (xdomea Vertraulichkeitsstufe), a key of the configured levels; "
                       "default: the lowest (open)"})


class CasePatch(Strict):
    title = fields.String(validate=validators.Length(min=1, max=500))
    metadata = fields.Dict(keys=fields.String(), metadata={
        "description": "merged into the existing metadata; a null value removes a key"})
    confidentiality = fields.String(validate=validators.Length(min=1, max=32), metadata={
        "description": "the new confidentiality level: raising it needs the clerk role in the case's unit, "
                       "lowering it the head of unit (or admin)"})


class CaseQuery(Paging):
    status = fields.String(validate=validators.OneOf(["open", "closed"]))
    unit = fields.String()
    case_type = fields.String()
    file_plan_code = fields.String()
    reference = fields.String()
    q = fields.String(metadata={"description": "part of the title"})


class CaseOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    case_type = fields.String()
    unit = fields.String()
    unit_name = fields.String()
    file_plan_code = fields.String()
    status = fields.String()
    metadata = fields.Dict()
    confidentiality = fields.String(metadata={"description": "confidentiality level (a configured key)"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.Date(allow_none=True)
    retention = fields.Nested(lambda: RetentionOut(), allow_none=True, metadata={
        "description": "how long the file and each sub-file the caller sees are kept after closing (one case "
                       "only, not in lists; null in the answer to a change after which the caller no longer "
                       "sees the case)"})


class RetentionLineOut(Schema):
    subfile = fields.String(allow_none=True, metadata={"description": "the sub-file's key; null: the file"})
    procedure_id = fields.Integer(allow_none=True)
    label_de = fields.String()
    label_en = fields.String()
    years = fields.Integer(metadata={"description": "years kept after the file is closed"})
    source = fields.String(metadata={"description": "subfile (its own period) or file_plan (the node's)"})
    kept_until = fields.Date(allow_none=True, metadata={
        "description": "closed_at + years; null while the file is open"})


class RetentionOut(Schema):
    file = fields.Nested(RetentionLineOut)
    subfiles = fields.List(fields.Nested(RetentionLineOut))


class CaseList(Schema):
    items = fields.List(fields.Nested(CaseOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


# --- documents --------------------------------------------------------------------------------------------

class DocumentUpload(Schema):
    file = fields.File(required=True)
    title = fields.String(required=True, validate=validators.Length(min=1, max=500))
    kind = fields.String(load_default="document", validate=validators.Length(min=1, max=64))
    document_date = fields.Date(load_default=None)


class VersionUpload(Schema):
    file = fields.File(required=True)


class VersionOut(Schema):
    number = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    mime_type = fields.String()
    filename = fields.String()
    uploaded_at = fields.DateTime()
    uploaded_by = fields.Integer()
    text_status = fields.String()


class DocumentOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    document_date = fields.Date(allow_none=True)
    current_version = fields.Integer()
    created_at = fields.DateTime()
    versions = fields.List(fields.Nested(VersionOut))
    procedure_id = fields.Integer(allow_none=True, metadata={
        "description": "the procedure/sub-file it is filed in; null: at case level"})
    checked_out_by = fields.String(allow_none=True, metadata={
        "description": "user name of whoever has the document checked out; null: nobody"})
    checked_out_at = fields.DateTime(allow_none=True, metadata={"description": "since when (UTC)"})


class CheckoutBreakIn(Strict):
    reason = fields.String(load_default=None, validate=validators.Length(max=500),
                           metadata={"description": "why the lock is broken (optional, audited)"})


class IngestOut(DocumentOut):
    version = fields.Nested(VersionOut, metadata={"description": "the version this upload created"})
    deduplicated = fields.Boolean(metadata={"description": "identical bytes were stored already"})


class DocumentList(Schema):
    items = fields.List(fields.Nested(DocumentOut))


class ContentQuery(Strict):
    version = RowId()


# --- procedures (Vorgänge) and sub-files (Teilakten) ------------------------------------------------------

class ProcedureIn(Strict):
    title = fields.String(required=True, validate=validators.Length(min=1, max=500))


class ProcedurePatch(Strict):
    title = fields.String(validate=validators.Length(min=1, max=500),
                          metadata={"description": "a sub-file's title is fixed by its case type"})
    status = fields.String(validate=validators.OneOf(["open", "closed"]),
                           metadata={"description": "closed: takes no new documents; open: reopens it"})


class ProcedureOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    number = fields.Integer(metadata={"description": "running number within the case, gap-free"})
    reference = fields.String(metadata={"example": "20.30/0042/2026-3"})
    kind = fields.String(metadata={"description": "procedure (Vorgang) or subfile (Teilakte)"})
    subfile = fields.String(allow_none=True, metadata={"description": "the declared sub-file's key"})
    title = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.Date(allow_none=True)


class ProcedureList(Schema):
    items = fields.List(fields.Nested(ProcedureOut))


class MoveIn(Strict):
    procedure_id = RowId(required=True, allow_none=True, metadata={
        "description": "a procedure/sub-file of the document's case; null: the case level"})


# --- audit ------------------------------------------------------------------------------------------------

class AuditEventOut(Schema):
    id = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    details = fields.Dict()
    client_addr = fields.String(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditList(Schema):
    items = fields.List(fields.Nested(AuditEventOut))
    offset = fields.Integer()
    limit = fields.Integer()


# --- workflows --------------------------------------------------------------------------------------------

class CaseTypeList(Schema):
    items = fields.List(fields.Dict())


class InboxQuery(Paging):
    case_type = fields.String()
    step = fields.String()
    overdue = fields.Boolean()
    claimed_by_me = fields.Boolean(metadata={"description": "only tasks the caller has claimed"})
    sort = fields.String(validate=validators.OneOf(["due", "arrival"]),
                         metadata={"description": "due: soonest due first (default); arrival: oldest task first"})


class DecisionOut(Schema):
    key = fields.String()
    label_de = fields.String()
    label_en = fields.String()
    needs_comment = fields.Boolean()
    allowed = fields.Boolean()
    reason = fields.String(allow_none=True)
    reason_de = fields.String(allow_none=True)


class TaskOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_reference = fields.String()
    procedure_id = fields.Integer(allow_none=True, metadata={
        "description": "the procedure whose workflow the task belongs to (e.g. a trade notification), or null"})
    procedure_reference = fields.String(allow_none=True)
    procedure_title = fields.String(allow_none=True)
    case_title = fields.String()
    case_type = fields.String()
    step = fields.String()
    step_label_de = fields.String()
    step_label_en = fields.String()
    unit = fields.String()
    role = fields.String()
    status = fields.String()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    escalated = fields.Boolean()
    claimed_by = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    checks = fields.List(fields.Dict())
    decisions = fields.List(fields.Nested(DecisionOut))


class InboxOut(Schema):
    items = fields.List(fields.Nested(TaskOut))
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "open tasks per case type, before the case_type/step filters"})
    offset = fields.Integer()
    limit = fields.Integer()


# --- follow-ups (Wiedervorlage) ---------------------------------------------------------------------------

class FollowUpIn(Strict):
    due_on = fields.Date(required=True, metadata={"description": "today or later (office calendar)"})
    note = fields.String(required=True, metadata={"description": "what to do then (at most 2000 characters)"})
    for_unit = fields.Boolean(load_default=False, metadata={
        "description": "false: for the caller; true: for the case's unit (its members only)"})
    procedure_id = RowId(load_default=None, allow_none=True,
                         metadata={"description": "a procedure of this case; none: the case itself"})


class PostponeIn(Strict):
    due_on = fields.Date(required=True, metadata={"description": "the new date, today or later"})


class FollowUpOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_reference = fields.String()
    case_title = fields.String()
    procedure_id = fields.Integer(allow_none=True)
    procedure_reference = fields.String(allow_none=True)
    procedure_title = fields.String(allow_none=True)
    due_on = fields.Date()
    note = fields.String()
    for_unit = fields.Boolean()
    user = fields.String(allow_none=True, metadata={"description": "whom it is for; null: the unit"})
    unit = fields.String()
    unit_name = fields.String()
    status = fields.String(metadata={"description": "open or done"})
    overdue = fields.Boolean(metadata={"description": "open and due before today"})
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    done_by = fields.String(allow_none=True)
    may_act = fields.Boolean(metadata={"description": "the caller may mark it done or postpone it"})


class FollowUpList(Schema):
    items = fields.List(fields.Nested(FollowUpOut))


class DueFollowUpOut(FollowUpOut):
    """A follow-up of the Postkorb. A schema of its own: apispec names a nested schema where it first meets it,
    and it meets /inbox/followups (the shortest path) before FollowUpOut's own answers (FollowUpOut1 then)."""


class DueFollowUpsOut(Schema):
    items = fields.List(fields.Nested(DueFollowUpOut))
    total = fields.Integer()
    overdue = fields.Integer(metadata={"description": "how many of them are overdue"})
    offset = fields.Integer()
    limit = fields.Integer()


# --- recorded-reason access (Einsicht mit Begründung) -----------------------------------------------------

class AccessRequestIn(Strict):
    reason = fields.String(required=True, metadata={
        "description": "why the caller needs to read this file (required, at most 2000 characters, audited)"})


class AccessRefuseIn(Strict):
    comment = fields.String(required=True, metadata={"description": "why access is refused (required, audited)"})


class AccessRequestQuery(Paging):
    status = fields.String(load_default=None, metadata={
        "description": "only requests in this status: pending, granted, refused or withdrawn"})


class AccessRequestOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    case_reference = fields.String()
    case_title = fields.String(allow_none=True, metadata={
        "description": "only for those who may read the case; null otherwise"})
    unit = fields.String()
    unit_name = fields.String()
    user = fields.String(metadata={"description": "who asks (and, once granted, reads)"})
    user_name = fields.String()
    reason = fields.String()
    status = fields.String(metadata={"description": "pending, granted, refused or withdrawn"})
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True, metadata={"description": "null for an immediate grant"})
    decided_at = fields.DateTime(allow_none=True)
    comment = fields.String(allow_none=True, metadata={"description": "the decider's (required for a refusal)"})
    expires_at = fields.DateTime(allow_none=True, metadata={"description": "a grant counts until then (UTC)"})
    immediate = fields.Boolean(metadata={"description": "granted at once by configuration, without a decider"})
    active = fields.Boolean(metadata={"description": "granted and not yet expired"})
    may_decide = fields.Boolean(metadata={"description": "the caller may grant or refuse it now"})
    may_withdraw = fields.Boolean(metadata={"description": "the caller may withdraw it (or end the grant) now"})


class AccessRequestItem(AccessRequestOut):
    """A request of the list: a schema of its own, as DueFollowUpOut (apispec meets /access-requests first)."""


class AccessRequestList(Schema):
    items = fields.List(fields.Nested(AccessRequestItem))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class CompleteIn(Strict):
    decision = fields.String(required=True)
    comment = fields.String(load_default="")


class ReturnIn(Strict):
    target = fields.String(required=True, metadata={"description": "a step the case has passed"})
    reason = fields.String(required=True, metadata={"description": "why (required, audited)"})


class ReturnOut(Schema):
    case_id = fields.Integer()
    returned_from = fields.String(allow_none=True)
    entered = fields.String()
    voided = fields.List(fields.Integer(), metadata={"description": "tasks whose decisions no longer count"})
    cancelled = fields.List(fields.Integer())


class CompleteOut(Schema):
    task_id = fields.Integer()
    decision = fields.String()
    entered = fields.String(allow_none=True)
    finished = fields.String(allow_none=True)
    waiting = fields.Boolean()


class WorkflowEventOut(Schema):
    at = fields.DateTime()
    action = fields.String()
    step = fields.String(allow_none=True)
    actor = fields.String()
    decision = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class WorkflowOut(Schema):
    case_id = fields.Integer(allow_none=True)
    procedure_id = fields.Integer(allow_none=True)
    case_type = fields.String()
    status = fields.String(allow_none=True)
    current_step = fields.String(allow_none=True)
    open_tasks = fields.List(fields.Nested(TaskOut))
    history = fields.List(fields.Nested(WorkflowEventOut))


class DeputyIn(Strict):
    user = fields.String(required=True)
    starts_on = fields.Date(required=True, data_key="from")
    ends_on = fields.Date(required=True, data_key="to")


class DeputiesIn(Strict):
    deputies = fields.List(fields.Nested(DeputyIn), required=True)


class DeputiesOut(Schema):
    deputies = fields.List(fields.Dict())


# --- invoices ---------------------------------------------------------------------------------------------

class IntakeUpload(Schema):
    file = fields.File(required=True)
    unit = fields.String(load_default=None, metadata={"description": "receiving unit (default: Rechnungseingang)"})
    duplicate_reason = fields.String(load_default=None, metadata={
        "description": "file a known duplicate anyway, with this reason"})


class IntakeDocumentOut(IngestOut):
    """IngestOut under its own name: apiflask registers a schema that is first met nested and later as a
    response twice (IngestOut, IngestOut1) and warns; the intake's document is the one nested use."""


class IntakeOut(Schema):
    case = fields.Nested(CaseOut)
    document = fields.Nested(IntakeDocumentOut)
    structured = fields.Boolean(metadata={"description": "fields read from an e-invoice (else typed by a clerk)"})
    checks = fields.List(fields.Dict())


class PaymentExportIn(Strict):
    execution_date = fields.Date(load_default=None)


class PaymentExportOut(Schema):
    id = fields.Integer()
    count = fields.Integer()
    total = fields.String()
    csv = fields.String()
    pain001 = fields.String(allow_none=True)
    not_sepa = fields.List(fields.Dict())
    refused = fields.List(fields.Dict(), metadata={"description": "held back: values differ from the Anordnung"})


# --- search -----------------------------------------------------------------------------------------------

class SearchQuery(Paging):
    q = fields.String(load_default="", metadata={"description": 'words, "phrases", AND/OR/NOT, field:value, '
                                                               "created_at:[2026-01-01 TO 2026-03-31], prefix*"})
    case_type = fields.String()
    unit = fields.String()
    status = fields.String(validate=validators.OneOf(["open", "closed"]))
    kind = fields.String()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    sort = fields.String(load_default="relevance", validate=validators.OneOf(["relevance", "date"]))
    limit = fields.Integer(load_default=20, validate=validators.Range(min=1, max=200))


class SearchHitOut(Schema):
    document_id = fields.Integer(allow_none=True, metadata={"description": "null when the hit is a note"})
    note_id = fields.Integer(allow_none=True, metadata={"description": "a note (Vermerk, kind \"note\") hit"})
    noted_on = fields.Date(allow_none=True)
    case_id = fields.Integer()
    reference = fields.String()
    case_title = fields.String()
    case_type = fields.String()
    title = fields.String()
    kind = fields.String()
    score = fields.Float()
    snippet = fields.String(metadata={"description": "HTML-escaped, matches in <mark>"})


class SearchOut(Schema):
    items = fields.List(fields.Nested(SearchHitOut))
    total = fields.Integer()
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))
    offset = fields.Integer()
    limit = fields.Integer()


class ExportIn(Strict):
    case_ids = fields.List(RowId(), load_default=list)
    q = fields.String(load_default=None, metadata={"description": "choose the cases by a search query instead"})
    case_type = fields.String(load_default=None)
    unit = fields.String(load_default=None)
    status = fields.String(load_default=None)
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
