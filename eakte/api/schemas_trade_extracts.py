"""Request and response shapes of the trade register's extracts and retrieval log (GewO §14(5)–(10))."""
from __future__ import annotations

from apiflask import Schema, fields, validators

from eakte.api.schemas import Paging, RowId, Strict
from eakte.services.trade.extracts import KINDS, MAX_REFERENCE, MAX_REQUESTER, MAX_TEXT, REQUESTER_KINDS


class ExtractQuery(Strict):
    kind = fields.String(load_default="simple", validate=validators.OneOf(KINDS), metadata={
        "description": "simple: the data GewO §14(5) makes generally accessible (traders' names, business name, "
                       "business address, activity), for any signed-in user; extended: the whole current entry, "
                       "given by clerks of the trade unit only, with `requester` and `interest`"})
    requester = fields.String(load_default=None, validate=validators.Length(max=MAX_REQUESTER), metadata={
        "description": "extended: who asks (a private person or company, or the public body)"})
    requester_kind = fields.String(load_default=None, validate=validators.OneOf(REQUESTER_KINDS), metadata={
        "description": "extended: private (a legal interest is credibly shown) or public (a public body and its "
                       "basis); default private"})
    interest = fields.String(load_default=None, validate=validators.Length(max=MAX_TEXT), metadata={
        "description": "extended: the credibly shown legal interest, or the public body's legal basis"})
    purpose = fields.String(load_default=None, validate=validators.Length(max=MAX_TEXT), metadata={
        "description": "the purpose of the retrieval (logged, GewO §14(10))"})
    reference = fields.String(load_default=None, validate=validators.Length(max=MAX_REFERENCE), metadata={
        "description": "the requester's case reference (logged, GewO §14(10))"})


class RetrievalQuery(Paging):
    case_id = RowId(load_default=None, metadata={"description": "only retrievals of this business (its case id)"})
    kind = fields.String(load_default=None, validate=validators.OneOf(KINDS), metadata={
        "description": "only simple or only extended extracts"})


class RetrievalOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer(metadata={"description": "the business (its case)"})
    case_reference = fields.String()
    business_id = fields.String(allow_none=True, metadata={"description": "gewerbebetriebID"})
    business_name = fields.String(allow_none=True, metadata={"description": "eingetragenerName"})
    kind = fields.String(metadata={"description": "simple or extended"})
    requester = fields.String(allow_none=True)
    requester_kind = fields.String(allow_none=True, metadata={"description": "private or public (extended only)"})
    interest = fields.String(allow_none=True, metadata={"description": "legal interest or public basis"})
    purpose = fields.String(allow_none=True)
    reference = fields.String(allow_none=True, metadata={"description": "the requester's case reference"})
    retrieved_at = fields.DateTime(metadata={"description": "UTC"})
    retrieved_by = fields.String(allow_none=True, metadata={"description": "user name of the clerk or user"})


class RetrievalList(Schema):
    items = fields.List(fields.Nested(RetrievalOut))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()
