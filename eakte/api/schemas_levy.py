"""Request and response shapes of the levy's procedure API (the list, a procedure, its household and its
computation). The household's values are checked by workflows.levy.household with German messages per field
(members[2].annual_income), the same for the API and the web form, so its fields take the JSON value as it comes
(`Raw`) and say the type in the OpenAPI document."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from eakte.api.schemas import Paging, Strict
from workflows.levy.case_type import STEPS
from workflows.levy.terms import BENEFITS


def _raw(kind: dict[str, object], description: str, **more: object) -> fields.Raw:
    return fields.Raw(allow_none=True, metadata={**kind, "description": description, **more})


class MemberIn(Strict):
    name = _raw({"type": "string"}, "the member's name; required")
    birth_date = _raw({"type": "string", "format": "date"}, "Geburtsdatum, not in the future")
    child = _raw({"type": "boolean"}, "a child of the household (counts as a person and adds the child amount)")
    tenant = _raw({"type": "boolean"}, "holds the tenancy (Inhaber/in des Mietverhältnisses); someone must")
    annual_income = _raw({"type": "string"}, "the relevant annual income as a decimal string ≥ 0, e.g. "
                                             "\"24500.00\"; required for an adult without a transfer benefit "
                                             "before the Prüfung can be completed")
    benefit = _raw({"type": "string"}, "a transfer benefit received (all members on one: no levy)",
                   enum=list(BENEFITS))


class HouseholdIn(Strict):
    members = fields.List(fields.Nested(MemberIn), required=True, validate=validators.Length(min=1, max=20),
                          metadata={"description": "the household's members (1–20); at least one adult and one "
                                                   "tenant"})
    temporary_use = _raw({"type": "boolean"}, "the flat is used only temporarily (< 6 months): no levy")


class LevyQuery(Paging):
    step = fields.String(load_default=None, validate=validators.OneOf([*(s.key for s in STEPS), "finished"]))
    overdue = fields.Boolean(load_default=None)
    q = fields.String(load_default=None, validate=validators.Length(max=200),
                      metadata={"description": "a part of the flat id, street, tenant or landlord"})


class LevyRowOut(Schema):
    procedure_id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    status = fields.String(metadata={"description": "the procedure: open or closed"})
    case_id = fields.Integer()
    case_reference = fields.String()
    flat_id = fields.String()
    address = fields.String()
    tenant_name = fields.String()
    step = fields.String(allow_none=True, metadata={"description": "the current step; null once finished"})
    step_label_de = fields.String(allow_none=True)
    workflow_status = fields.String()
    open_task_id = fields.Integer(allow_none=True, metadata={"description": "decide it with POST "
                                                                            "/api/v1/tasks/{id}/complete"})
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    period_start = fields.String(allow_none=True)
    period_end = fields.String(allow_none=True)
    monthly_levy = fields.String(allow_none=True, metadata={"description": "of the notice in force, else of the "
                                                                           "newest computation"})


class LevyList(Schema):
    items = fields.List(fields.Nested(LevyRowOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class AssessmentOut(Schema):
    id = fields.Integer()
    number = fields.Integer()
    kind = fields.String(metadata={"description": "initial, change or remedy"})
    effective_from = fields.Date()
    inputs = fields.Dict(metadata={"description": "every input of the computation"})
    result = fields.Dict(metadata={"description": "the result (workflows.levy.compute.LevyResult.to_json)"})
    monthly_levy = fields.String()
    table_version = fields.String()
    table_sha256 = fields.String()
    tables_confirmed = fields.Boolean()
    computed_at = fields.DateTime()
    computed_by = fields.String(allow_none=True)


class NoticeOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "assessment, change or cancellation"})
    assessment_id = fields.Integer(allow_none=True)
    effective_from = fields.Date()
    effective_to = fields.Date()
    monthly_levy = fields.String()
    document_id = fields.Integer(metadata={"description": "the PDF/A: GET /api/v1/documents/{id}/content"})
    issued_at = fields.DateTime()
    sent_on = fields.Date(allow_none=True)
    superseded_from = fields.Date(allow_none=True)


class ObjectionBrief(Schema):
    id = fields.Integer()
    notice_id = fields.Integer()
    received_on = fields.Date()
    deadline = fields.Date()
    late = fields.Boolean()
    status = fields.String()


class PaymentsOut(Schema):
    count = fields.Integer()
    total = fields.String()
    last_paid_on = fields.Date(allow_none=True)


class DocumentBrief(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()


class ProcedureAnswer(LevyRowOut):
    flat = fields.Dict(metadata={"description": "the flat (the case's fields)"})
    household = fields.Dict(metadata={"description": "members and temporary_use"})
    answered_on = fields.String(allow_none=True)
    reference_date = fields.String(allow_none=True)
    deadline = fields.String(allow_none=True)
    pending = fields.Dict(allow_none=True, metadata={"description": "a change, remedy or cancellation to carry "
                                                                    "out"})
    assessments = fields.List(fields.Nested(AssessmentOut), metadata={"description": "newest first"})
    notices = fields.List(fields.Nested(NoticeOut), metadata={"description": "newest first"})
    objections = fields.List(fields.Nested(ObjectionBrief))
    payments = fields.Nested(PaymentsOut)
    evidence = fields.List(fields.Nested(DocumentBrief))
    may_edit_household = fields.Boolean()
    may_compute = fields.Boolean()
    may_upload = fields.Boolean()
