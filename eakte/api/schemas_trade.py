"""Request and response shapes of the trade register's API (intake, businesses, notifications). The notification
payload's fields are modelled on XGewerbeanzeige; each description names its term and the GewA form field.

The payload schema documents and shapes (no unknown keys, persons a list of objects); the values themselves are
checked by the notification parser (workflows.trade.notification) with German messages per field, the same
for the API, the web form and the import, so the fields here take the JSON value as it comes (`Raw`) and say its
type in the OpenAPI document."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields, validators

from eakte.api.schemas import Paging, Strict

DATE = {"type": "string", "format": "date"}
TEXT = {"type": "string"}
FLAG = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}


def _raw(kind: dict[str, Any], description: str, **more: Any) -> fields.Raw:
    return fields.Raw(allow_none=True, metadata={**kind, "description": description, **more})


class PersonIn(Strict):
    """A person of the business (GewA 1 fields 3–10, 12, 13): owner, partner or legal representative/manager."""

    role = _raw(TEXT, "owner (Inhaber), partner (Gesellschafter) or manager (gesetzlicher Vertreter, "
                      "Betriebsleiter) – XGewerbeanzeige rolle", enum=["owner", "partner", "manager"])
    family_name = _raw(TEXT, "Familienname (field 3) – familienname; required")
    given_names = _raw(TEXT, "Vornamen (field 4) – vorname; required")
    birth_date = _raw(DATE, "Geburtsdatum (field 7) – geburtsdatum; in the past, the person at least 14")
    birth_place = _raw(TEXT, "Geburtsort (field 8) – geburtsort")
    nationality = _raw(TEXT, "Staatsangehörigkeit (field 6) – staatsangehoerigkeit, ISO 3166 alpha-2 (DE)",
                       pattern="^[A-Z]{2}$")
    street = _raw(TEXT, "Wohnanschrift: Straße (field 9) – anschrift.strasse")
    house_number = _raw(TEXT, "Wohnanschrift: Hausnummer (field 9) – anschrift.hausnummer")
    postal_code = _raw(TEXT, "Wohnanschrift: Postleitzahl, 5 digits (field 9) – anschrift.postleitzahl",
                       pattern="^[0-9]{5}$")
    city = _raw(TEXT, "Wohnanschrift: Ort (field 9) – anschrift.ort")
    residence_permit = _raw(FLAG, "Aufenthaltstitel liegt vor (field 13) – aufenthaltstitel")


class NotificationIn(Strict):
    """A trade notification (Gewerbeanzeige, GewO §14): GewA 1 Anmeldung, GewA 2 Ummeldung, GewA 3 Abmeldung."""

    notification = _raw(TEXT, "anmeldung (GewA 1), ummeldung (GewA 2) or abmeldung (GewA 3) – "
                              "XGewerbeanzeige nachrichtentyp; required",
                        enum=["anmeldung", "ummeldung", "abmeldung"])
    business_id = _raw(TEXT, "Betriebsnummer of an existing active business – gewerbebetriebID; required for "
                             "ummeldung and abmeldung, none for anmeldung (the register assigns GW-<year>-<n>)")
    received_on = _raw(DATE, "Eingang der Anzeige – datumMeldung; default today; not in the future")
    effective_on = _raw(DATE, "Beginn / Änderung / Aufgabe (field 20) – gueltigAb; required; at most one year "
                              "ahead")
    reason = _raw(TEXT, "Grund (field 24) – grund. anmeldung: neuerrichtung, uebernahme, zuzug, "
                        "gruendung_nach_umwandlung; ummeldung: verlegung, taetigkeit, erweiterung, name, rechtsform, "
                        "sonstiges; abmeldung (required): aufgabe, verlegung_weg, uebergabe, umwandlung, "
                        "von_amts_wegen")
    ex_officio = _raw(FLAG, "Abmeldung von Amts wegen (GewO §14(4)) – vonAmtsWegen; default false")
    registered_name = _raw(TEXT, "Name des Betriebs / eingetragener Name (field 1) – eingetragenerName; "
                                 "required for anmeldung")
    legal_form = _raw(TEXT, "Rechtsform (field 1) – rechtsform, a key of the legal forms: einzelunternehmen, "
                            "gbr, e_k, ohg, kg, gmbh, ug, ag, gmbh_co_kg, eg, …; required for anmeldung")
    register_court = _raw(TEXT, "Registergericht (field 2) – registergericht")
    register_number = _raw(TEXT, "Registernummer, e.g. HRB 12345 (field 2) – registernummer; required for legal "
                                 "forms entered in the Handelsregister (e_k, ohg, kg, gmbh, ug, ag, …)")
    street = _raw(TEXT, "Betriebsstätte: Straße (field 14) – betriebsstaette.strasse; required for anmeldung")
    house_number = _raw(TEXT, "Betriebsstätte: Hausnummer (field 14) – betriebsstaette.hausnummer; required for "
                              "anmeldung")
    postal_code = _raw(TEXT, "Betriebsstätte: Postleitzahl, 5 digits (field 14) – betriebsstaette.postleitzahl; "
                             "required for anmeldung", pattern="^[0-9]{5}$")
    city = _raw(TEXT, "Betriebsstätte: Ort (field 14) – betriebsstaette.ort; required for anmeldung")
    phone = _raw(TEXT, "Telefon (field 15) – telefon")
    email = _raw(TEXT, "E-Mail (field 15) – email", format="email")
    persons = fields.List(fields.Nested(PersonIn), allow_none=True, metadata={
        "description": "Inhaber, Gesellschafter, gesetzliche Vertreter (fields 3–13) – personen; anmeldung needs at "
                       "least one; an ummeldung that gives the list replaces it"})
    activity = _raw(TEXT, "Angemeldete Tätigkeit (field 18) – taetigkeit; required for anmeldung")
    activity_key = _raw(TEXT, "Wirtschaftszweig, WZ 2008 key like 47.11 or 47.11.0 (field 18) – "
                              "taetigkeitSchluessel", pattern=r"^\d{2}(\.\d{1,2}(\.\d{1,2})?)?$")
    business_type = _raw(TEXT, "Art des Betriebs (field 21) – betriebsart; required for anmeldung",
                         enum=["industrie", "handwerk", "handel", "sonstiges"])
    part_time = _raw(FLAG, "Im Nebenerwerb (field 19) – istNebenerwerb")
    employees_full_time = _raw(COUNT, "Beschäftigte in Vollzeit (field 22) – anzahlVollzeit")
    employees_part_time = _raw(COUNT, "Beschäftigte in Teilzeit (field 22) – anzahlTeilzeit")
    establishment = _raw(TEXT, "Art der Niederlassung (field 23) – niederlassungsart; default "
                               "hauptniederlassung",
                         enum=["hauptniederlassung", "zweigniederlassung", "unselbstaendige_zweigstelle"])
    permits = fields.List(fields.Raw(metadata=TEXT), allow_none=True, metadata={
        "description": "Erlaubnisse, keys of the permit table, e.g. 34c, 34d (field 26) – erlaubnisse"})
    handwerkskarte = _raw(FLAG, "Handwerkskarte liegt vor (field 27) – handwerkskarte")


# A complete, valid GewA 1 (a test posts it and gets 201).
ANMELDUNG_EXAMPLE: dict[str, Any] = {
    "notification": "anmeldung", "received_on": "2026-03-02", "effective_on": "2026-03-01",
    "reason": "neuerrichtung", "ex_officio": False, "registered_name": "Feinkost Muster",
    "legal_form": "einzelunternehmen", "street": "Frankfurter Straße", "house_number": "12",
    "postal_code": "63263", "city": "Neu-Isenburg", "phone": "06102 123456", "email": "info@feinkost-muster.de",
    "persons": [{"role": "owner", "family_name": "Muster", "given_names": "Erika", "birth_date": "1980-04-12",
                 "birth_place": "Offenbach am Main", "nationality": "DE", "street": "Bahnhofstraße",
                 "house_number": "3", "postal_code": "63263", "city": "Neu-Isenburg", "residence_permit": False}],
    "activity": "Einzelhandel mit Feinkost und Lebensmitteln", "activity_key": "47.29", "business_type": "handel",
    "part_time": False, "employees_full_time": 2, "employees_part_time": 1, "establishment": "hauptniederlassung",
    "permits": [], "handwerkskarte": False,
}


class BusinessBrief(Schema):
    id = fields.Integer(metadata={"description": "the business's id here (its case id)"})
    business_id = fields.String(metadata={"description": "Betriebsnummer (gewerbebetriebID), GW-<year>-<n>"})
    reference = fields.String(metadata={"description": "the case's file reference"})
    title = fields.String()
    registered_name = fields.String()
    owners = fields.String()
    business_address = fields.String()
    activity = fields.String()
    activity_key = fields.String(allow_none=True)
    business_type = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"description": "pending (notified, not yet entered), "
                                                                     "active or closed"})
    started_on = fields.String(allow_none=True)
    closed_on = fields.String(allow_none=True)
    case_status = fields.String(metadata={"description": "open, or closed once an Abmeldung is done"})


class TransmissionBrief(Schema):
    id = fields.Integer()
    recipient = fields.String()
    format = fields.String()
    status = fields.String()
    due_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    document_id = fields.Integer()


class NotificationOut(Schema):
    id = fields.Integer(metadata={"description": "the procedure's id"})
    reference = fields.String()
    title = fields.String()
    status = fields.String(metadata={"description": "the procedure: open or closed"})
    notification = fields.String(allow_none=True)
    received_on = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    workflow_status = fields.String(allow_none=True, metadata={"description": "running, completed or rejected"})
    step = fields.String(allow_none=True)
    step_label_de = fields.String(allow_none=True)
    step_label_en = fields.String(allow_none=True)
    open_task_id = fields.Integer(allow_none=True, metadata={"description": "decide it with POST "
                                                                            "/api/v1/tasks/{id}/complete"})
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    hold = fields.Dict(allow_none=True, metadata={"description": "on hold for missing documents: since, by, "
                                                                "missing, follow_up_on"})
    receipt_document_id = fields.Integer(allow_none=True)
    entry_version = fields.Integer(allow_none=True)
    transmissions = fields.List(fields.Nested(TransmissionBrief))


class TradeIntakeOut(Schema):
    created = fields.Boolean(metadata={"description": "true: the Anmeldung created the business"})
    business = fields.Nested(BusinessBrief)
    procedure = fields.Nested(NotificationOut)


class BusinessQuery(Paging):
    q = fields.String(load_default=None, validate=validators.Length(max=200), metadata={
        "description": "a part of the name, an owner, the address, the activity or the business ID"})
    status = fields.String(load_default=None, validate=validators.OneOf(["pending", "active", "closed"]))
    business_type = fields.String(load_default=None,
                                  validate=validators.OneOf(["industrie", "handwerk", "handel", "sonstiges"]))
    activity = fields.String(load_default=None, validate=validators.Length(max=200), metadata={
        "description": "a part of the activity's text, or the start of its WZ key"})


class BusinessList(Schema):
    items = fields.List(fields.Nested(BusinessBrief))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class ChangeOut(Schema):
    field = fields.String()
    label_de = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class EntryOut(Schema):
    version = fields.Integer()
    notification = fields.String()
    valid_from = fields.Date()
    status = fields.String()
    recorded_at = fields.DateTime()
    recorded_by = fields.String(allow_none=True)
    procedure_id = fields.Integer()
    procedure_reference = fields.String(allow_none=True)
    data = fields.Dict(metadata={"description": "the whole entry as of this version"})
    changes = fields.List(fields.Nested(ChangeOut), metadata={"description": "against the version before"})


class BusinessOut(Schema):
    business = fields.Nested(BusinessBrief)
    entry = fields.Dict(allow_none=True, metadata={"description": "the current register entry (null before the "
                                                                 "first Eintragung)"})
    history = fields.List(fields.Nested(EntryOut), metadata={"description": "every version, newest first"})
    procedures = fields.List(fields.Nested(NotificationOut), metadata={"description": "the notifications, newest "
                                                                                      "first"})
    documents = fields.List(fields.Dict())


class DeregistrationIn(Strict):
    effective_on = fields.Date(required=True, metadata={"description": "the day the business ceased"})
    reason_text = fields.String(required=True, validate=validators.Length(min=1, max=2000), metadata={
        "description": "what shows that it ceased (GewO §14(4))"})


class HoldIn(Strict):
    missing = fields.List(fields.String(validate=validators.Length(min=1, max=300)), required=True,
                          validate=validators.Length(min=1, max=20),
                          metadata={"description": "the missing documents, e.g. Erlaubnis nach § 34c GewO"})
    follow_up_on = fields.Date(required=True, metadata={"description": "the follow-up's date (Wiedervorlage)"})
    note = fields.String(load_default="", validate=validators.Length(max=1000))


class NotificationAnswer(NotificationOut):
    """A notification as the single answer (its own name: apispec registers NotificationOut where it is nested)."""
