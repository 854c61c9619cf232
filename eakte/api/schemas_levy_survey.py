"""Request and response shapes of the levy's survey runs (issue 14 point 2)."""
from __future__ import annotations

from apiflask import Schema, fields, validators


class SurveyUpload(Schema):
    file = fields.File(required=True, metadata={
        "description": "the landlord's list (CSV, UTF-8, ';' or ','; German headers Wohnungsnummer;Straße;"
                       "Hausnummer;PLZ;Ort;Lage;Wohnfläche;Baujahr;Heizung;Mietenstufe;Nettokaltmiete;Mieter or the "
                       "case fields' names)"})
    landlord = fields.String(required=True, validate=validators.Length(min=1, max=300))
    reference_date = fields.Date(required=True, metadata={"description": "Stichtag of the income limits"})
    period_start = fields.Date(required=True, metadata={"description": "first day of the payment period (the 1st "
                                                                       "of a month)"})
    period_months = fields.Integer(load_default=None, metadata={"description": "default: settings period_months"})
    deadline = fields.Date(load_default=None, metadata={"description": "answer deadline; default: today + "
                                                                       "settings response_days"})


class SurveyHouseholdOut(Schema):
    line = fields.Integer(metadata={"description": "the line of the list"})
    flat_id = fields.String()
    case_id = fields.Integer()
    case_reference = fields.String()
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    created = fields.Boolean(metadata={"description": "the flat's case was created (else updated)"})
    letter_document_id = fields.Integer()


class SkippedLineOut(Schema):
    line = fields.Integer()
    column = fields.String(allow_none=True)
    message = fields.String()
    message_de = fields.String()


class SurveyOut(Schema):
    id = fields.Integer()
    landlord = fields.String()
    reference_date = fields.Date()
    deadline = fields.Date()
    period_start = fields.Date()
    period_end = fields.Date()
    households = fields.Integer()
    source_name = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String()
    has_batch = fields.Boolean(metadata={"description": "the print batch can be downloaded"})


class SurveyRunOut(Schema):
    survey = fields.Nested(SurveyOut)
    households = fields.List(fields.Nested(SurveyHouseholdOut))
    skipped = fields.List(fields.Nested(SkippedLineOut), metadata={
        "description": "flats not surveyed (an open levy procedure covers the period, or the case is closed)"})
    seconds = fields.Float()


class SurveyList(Schema):
    items = fields.List(fields.Nested(SurveyOut))


class SurveyHouseholdRowOut(Schema):
    case_id = fields.Integer()
    case_reference = fields.String()
    flat_id = fields.String()
    address = fields.String()
    tenants = fields.List(fields.String())
    procedure_id = fields.Integer()
    procedure_reference = fields.String()
    step = fields.String(allow_none=True, metadata={"description": "the workflow's step; null: finished"})
    step_label = fields.String()
    deadline = fields.String(allow_none=True)
    answered_on = fields.String(allow_none=True)
    overdue = fields.Boolean()
    letter_document_id = fields.Integer(allow_none=True)
    reminder_document_ids = fields.List(fields.Integer())


class SurveyPageOut(Schema):
    survey = fields.Nested(SurveyOut)
    households = fields.List(fields.Nested(SurveyHouseholdRowOut))
    answered = fields.Integer()
    overdue = fields.Integer()


class RemindersOut(Schema):
    sent = fields.Integer(metadata={"description": "reminders sent (households in Erhebung past their deadline, "
                                                   "once each)"})
