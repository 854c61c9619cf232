"""Request and response shapes of the REST API (they also generate the OpenAPI document)."""
from __future__ import annotations

from apiflask import Schema, fields, validators
from marshmallow import RAISE


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Paging(Strict):
    offset = fields.Integer(load_default=0, validate=validators.Range(min=0))
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
    title = fields.String(required=True, validate=validators.Length(min=1, max=500))
    unit = fields.String(required=True, metadata={"description": "code of the responsible unit"})
    case_type = fields.String(load_default="general", validate=validators.Length(min=1, max=64))
    metadata = fields.Dict(keys=fields.String(), load_default=dict)


class CasePatch(Strict):
    title = fields.String(validate=validators.Length(min=1, max=500))
    metadata = fields.Dict(keys=fields.String(), metadata={
        "description": "merged into the existing metadata; a null value removes a key"})


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
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.Date(allow_none=True)


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


class IngestOut(DocumentOut):
    version = fields.Nested(VersionOut, metadata={"description": "the version this upload created"})
    deduplicated = fields.Boolean(metadata={"description": "identical bytes were stored already"})


class DocumentList(Schema):
    items = fields.List(fields.Nested(DocumentOut))


class ContentQuery(Strict):
    version = fields.Integer(validate=validators.Range(min=1))


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
