"""The recipient table (GewAnzV §3): who gets which notification, exactly the allowed fields, when it is due;
and the permit table the Prüfung names missing permits from."""
from __future__ import annotations

import datetime as dt
import json
from xml.etree import ElementTree

import pytest

from tests.workflows.trade.test_notification_rules import TODAY, anmeldung
from workflows.trade import entry, permits, recipients
from workflows.trade.notification import parse_notification

N = parse_notification(anmeldung(persons=[{"role": "owner", "family_name": "Muster", "given_names": "Erika",
                                           "birth_date": "1980-04-12", "birth_place": "Offenbach",
                                           "nationality": "DE", "street": "Bahnhofstraße", "postal_code": "63263",
                                           "city": "Neu-Isenburg", "residence_permit": False}],
                                 phone="06102 1", email="a@b.de", handwerkskarte=False), today=TODAY)
ENTRY = entry.apply(None, N)
TABLE = recipients.checked_recipients(recipients.DEFAULT_RECIPIENTS)
ENVELOPE = {"business_id", "notification", "received_on"}


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _allowed_keys(r: recipients.Recipient) -> set[str]:
    keys = set(ENVELOPE)
    for number in r.fields:
        f = recipients.FORM_FIELDS.get(number)
        if f is not None:
            keys |= {k.split(".")[-1] for k in f.keys} | set(f.from_notification)
            keys |= {"persons"} if any(k.startswith("persons.") for k in f.keys) else set()
    return keys


@pytest.mark.parametrize("raw", TABLE, ids=lambda r: r["key"])
def test_no_recipient_gets_a_field_it_may_not_see_in_json_or_xml(raw: dict) -> None:
    r = recipients.recipient_of(raw)
    payload = recipients.visible_payload(r, N, ENTRY)
    assert _keys(payload) <= _allowed_keys(r)
    for fmt in ("json", "xml"):
        message = recipients.render(recipients.recipient_of({**raw, "format": fmt}), payload, municipality="Stadt",
                                    municipality_key="06438008", procedure_reference="32.10/0001/2026-1",
                                    created_at=dt.datetime(2026, 3, 5, 9))
        if fmt == "json":
            body = json.loads(message.content)["notification"]
            assert _keys(body) <= _allowed_keys(r)
        else:
            root = ElementTree.fromstring(message.content)
            tags = {el.tag.split("}")[1] for el in root.iter()}
            assert root.tag == f"{{{recipients.XML_NAMESPACE}}}anmeldung"
            camel = {recipients._camel(k) for k in _allowed_keys(r)} | {"beteiligtePerson", "nachrichtenkopf",
                                                                         "eintrag", "anmeldung", "sender",
                                                                         "municipalityKey", "recipient",
                                                                         "procedureReference", "createdAt"}
            assert tags <= camel


def test_the_weights_and_measures_authority_gets_only_its_fields() -> None:
    eichamt = next(recipients.recipient_of(r) for r in TABLE if r["key"] == "eichamt")
    payload = recipients.visible_payload(eichamt, N, ENTRY)
    assert "1980-04-12" not in json.dumps(payload)
    assert not _keys(payload) & {"birth_date", "nationality", "residence_permit", "business_type", "permits",
                                 "employees_full_time"}
    assert payload["registered_name"] == "Feinkost Muster" and payload["persons"][0]["family_name"] == "Muster"
    ihk = next(recipients.recipient_of(r) for r in TABLE if r["key"] == "ihk")
    assert "residence_permit" not in _keys(recipients.visible_payload(ihk, N, ENTRY))  # field 13


def test_who_gets_what() -> None:
    shop = {r.key for r in recipients.recipients_for(TABLE, N, ENTRY)}
    assert "ihk" in shop and "statistik" in shop and "hwk" not in shop and "registergericht" not in shop
    craft = {**ENTRY, "business_type": "handwerk"}
    assert "hwk" in {r.key for r in recipients.recipients_for(TABLE, N, craft)}
    closing = parse_notification({"notification": "abmeldung", "business_id": "GW-1", "effective_on": "2026-03-05",
                                  "reason": "aufgabe"}, today=TODAY)
    registered = {**ENTRY, "legal_form": "gmbh", "status": "closed"}
    keys = {r.key for r in recipients.recipients_for(TABLE, closing, registered)}
    assert "registergericht" in keys and "statistik" not in keys  # statistics: start and relocation only
    assert "registergericht" not in {r.key for r in recipients.recipients_for(TABLE, closing, ENTRY)}


@pytest.mark.parametrize("receipt, due", [
    (dt.datetime(2026, 12, 15, 10), dt.datetime(2027, 1, 4, 8)),  # 1 Jan holiday, 2–3 Jan weekend
    (dt.datetime(2026, 5, 15, 10), dt.datetime(2026, 6, 1, 8)),  # Monday 1 June 2026
    (dt.datetime(2026, 4, 20, 10), dt.datetime(2026, 5, 4, 8)),  # 1 May holiday (Fri), then the weekend
    (dt.datetime(2026, 8, 3, 10), dt.datetime(2026, 9, 1, 8)),  # Tuesday 1 September
])
def test_the_statistics_office_is_due_on_the_first_working_day_of_the_next_month(receipt, due) -> None:
    statistik = next(r for r in TABLE if r["key"] == "statistik")
    ihk = next(r for r in TABLE if r["key"] == "ihk")
    assert recipients.due_at(statistik, receipt) == due
    assert recipients.due_at(ihk, receipt) == receipt  # without delay after the receipt


@pytest.mark.parametrize("bad, message", [
    ([{"key": "x", "name": "X", "fields": [34]}], "no form field 34"),
    ([{"key": "x", "name": "X", "fields": [1], "excluded_fields": [2]}], "either fields or excluded_fields"),
    ([{"key": "x", "name": "X", "format": "pdf"}], "format"),
    ([{"key": "x", "name": "X"}, {"key": "x", "name": "Y"}], "used twice"),
    ([{"key": "x", "name": "X", "notifications": ["anmelden"]}], "anmelden"),
])
def test_a_wrong_recipient_table_is_refused_naming_the_entry(bad, message) -> None:
    with pytest.raises(ValueError, match=message):
        recipients.checked_recipients(bad)


def test_the_signature_is_never_sent() -> None:
    r = recipients.recipient_of({"key": "all", "name": "Alle", "fields": list(range(1, 34))})
    assert recipients.SIGNATURE_FIELD not in r.fields


def test_permits_the_activity_needs_and_the_data_lacks() -> None:
    rules = permits.checked_permit_rules(permits.DEFAULT_PERMIT_RULES)
    assert [p.permit for p in permits.required_permits(rules, "Immobilienmakler", None)] == ["34c"]
    assert [p.permit for p in permits.required_permits(rules, "Vermittlung", "66.22")] == ["34d"]
    assert permits.required_permits(rules, "Einzelhandel mit Feinkost", "47.29") == []
    assert [p.permit for p in permits.missing_permits(rules, {"activity": "Versicherungsmakler", "permits": []})] \
        == ["34d"]
    assert permits.missing_permits(rules, {"activity": "Versicherungsmakler", "permits": ["34d"]}) == []
    with pytest.raises(ValueError, match="permits\\[0\\].label_de"):
        permits.checked_permit_rules([{"permit": "34c"}])


# Distinctive values per form field: a value of a field the recipient may not see must not appear anywhere in
# its rendered message (a second check besides the keys, against a field leaking under another name).
DISTINCT = parse_notification(anmeldung(
    registered_name="Feinkost Quellwerk", register_court="Amtsgericht Zzyzx", register_number="HRA 98765",
    persons=[{"role": "owner", "family_name": "Quastenberg", "given_names": "Eulalia", "birth_date": "1980-04-12",
              "birth_place": "Wächtersbach", "nationality": "DE", "street": "Bahnhofstraße", "house_number": "7b",
              "postal_code": "63069", "city": "Offenbach-Bieber", "residence_permit": False}],
    phone="06102 123456", email="info@quellwerk.example", reason="uebernahme",
    activity="Einzelhandel mit Feinkost", activity_key="47.29"), today=TODAY)
DISTINCT_ENTRY = {**entry.apply(None, DISTINCT), "business_id": "GW-2026-00001"}
VALUES_BY_FIELD = {
    1: ["Feinkost Quellwerk"], 2: ["Amtsgericht Zzyzx", "HRA 98765"], 3: ["Quastenberg"], 4: ["Eulalia"],
    7: ["1980-04-12"], 8: ["Wächtersbach"], 9: ["Bahnhofstraße", "63069", "Offenbach-Bieber"],
    14: ["Frankfurter Straße", "63263", "Neu-Isenburg"], 15: ["06102 123456", "info@quellwerk.example"],
    18: ["Einzelhandel mit Feinkost", "47.29"], 20: ["2026-03-01"], 24: ["uebernahme"],
}


@pytest.mark.parametrize("fmt", recipients.FORMATS)
@pytest.mark.parametrize("raw", TABLE, ids=lambda r: r["key"])
def test_no_value_of_a_hidden_field_appears_in_the_message(raw: dict, fmt: str) -> None:
    r = recipients.recipient_of({**raw, "format": fmt})
    payload = recipients.visible_payload(r, DISTINCT, DISTINCT_ENTRY)
    text = recipients.render(r, payload, municipality="Stadt", municipality_key="06438008",
                             procedure_reference="32.10/0001/2026-1",
                             created_at=dt.datetime(2026, 3, 5, 9)).content.decode("utf-8")
    assert "GW-2026-00001" in text and "06438008" in text  # the envelope
    for number, values in VALUES_BY_FIELD.items():
        for value in values:
            if number in r.fields:
                assert value in text, (number, value)
            else:
                assert value not in text, (number, value)


def test_the_xml_message_is_namespaced_and_well_formed() -> None:
    r = recipients.recipient_of(next(x for x in TABLE if x["key"] == "statistik"))
    message = recipients.render(r, recipients.visible_payload(r, DISTINCT, DISTINCT_ENTRY), municipality="Stadt",
                                municipality_key="06438008", procedure_reference="32.10/0001/2026-1",
                                created_at=dt.datetime(2026, 3, 5, 9))
    assert message.mime_type == "application/xml" and message.filename == "32.10-0001-2026-1-statistik.xml"
    root = ElementTree.fromstring(message.content)
    ns = {"x": recipients.XML_NAMESPACE}
    assert root.findtext("x:nachrichtenkopf/x:municipalityKey", namespaces=ns) == "06438008"
    assert root.findtext("x:registeredName", namespaces=ns) == "Feinkost Quellwerk"
    # The statistics office counts founders by nationality (field 6), never by name or birth date.
    person = root.find("x:beteiligtePerson", ns)
    assert person is not None and [el.tag.split("}")[1] for el in person] == ["nationality"]
