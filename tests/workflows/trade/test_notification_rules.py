"""The notification's validation (every problem at once, German messages at the field) and the entry rules."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from workflows.trade import entry
from workflows.trade.notification import Notification, NotificationError, parse_notification

TODAY = dt.date(2026, 3, 5)


def anmeldung(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "notification": "anmeldung", "received_on": "2026-03-02", "effective_on": "2026-03-01",
        "reason": "neuerrichtung", "registered_name": "Feinkost Muster", "legal_form": "einzelunternehmen",
        "street": "Frankfurter Straße", "house_number": "12", "postal_code": "63263", "city": "Neu-Isenburg",
        "persons": [{"role": "owner", "family_name": "Muster", "given_names": "Erika", "birth_date": "1980-04-12",
                     "nationality": "de", "residence_permit": False}],
        "activity": "Einzelhandel mit Feinkost", "activity_key": "47.29", "business_type": "handel",
        "employees_full_time": 2, "employees_part_time": 1, "permits": [],
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def problems(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(NotificationError) as caught:
        parse_notification(payload, today=TODAY)
    return {p.field: p.message_de for p in caught.value.problems}


def test_a_complete_anmeldung_round_trips_through_its_stored_form() -> None:
    n = parse_notification(anmeldung(), today=TODAY)
    assert n.notification == "anmeldung" and n.effective_on == dt.date(2026, 3, 1)
    assert n.persons and n.persons[0].nationality == "DE" and n.establishment == "hauptniederlassung"
    assert Notification.from_json(n.to_json()).to_json() == n.to_json()


def test_every_problem_is_reported_at_once_in_german() -> None:
    found = problems(anmeldung(postal_code="6326", legal_form="kommune", effective_on="2026-02-30",
                               email="kein-at", persons=[{"family_name": "Muster", "birth_date": "2020-01-01"}],
                               colour="blue"))
    assert found["postal_code"] == "Bitte eine fünfstellige Postleitzahl angeben"
    assert found["legal_form"].startswith("Unbekannter Rechtsform")
    assert "gültiges Datum" in found["effective_on"]
    assert "E-Mail" in found["email"]
    assert found["persons[0].given_names"] == "Bitte ausfüllen"
    assert "14 Jahre" in found["persons[0].birth_date"]
    assert found["colour"] == "Unbekanntes Feld"


@pytest.mark.parametrize("changes, field", [
    ({"registered_name": None}, "registered_name"),
    ({"persons": []}, "persons"),
    ({"received_on": "2026-03-06"}, "received_on"),  # the day after today: not yet received
    ({"legal_form": "gmbh"}, "register_number"),  # a registered form needs its register entry
    ({"activity_key": "4711"}, "activity_key"),
    ({"employees_full_time": -1}, "employees_full_time"),
    ({"ex_officio": True}, "ex_officio"),  # only a deregistration is ex officio
])
def test_one_wrong_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert field in problems(anmeldung(**changes))


def test_ummeldung_and_abmeldung_need_a_business_id_and_abmeldung_a_reason() -> None:
    assert "business_id" in problems({"notification": "ummeldung", "effective_on": "2026-03-01"})
    found = problems({"notification": "abmeldung", "effective_on": "2026-03-01"})
    assert {"business_id", "reason"} <= set(found)


def test_the_entry_is_started_changed_and_closed_never_edited() -> None:
    first = entry.apply(None, parse_notification(anmeldung(), today=TODAY))
    assert first["status"] == "active" and first["started_on"] == "2026-03-01"
    moved = entry.apply(first, parse_notification(
        {"notification": "ummeldung", "business_id": "GW-2026-00001", "effective_on": "2026-03-04",
         "reason": "verlegung", "street": "Hugenottenallee", "house_number": "1"}, today=TODAY))
    assert first["street"] == "Frankfurter Straße"  # the older entry is unchanged
    assert moved["street"] == "Hugenottenallee" and moved["activity"] == first["activity"]
    assert [(c.field, c.old, c.new) for c in entry.changes(first, moved)] == [
        ("street", "Frankfurter Straße", "Hugenottenallee"), ("house_number", "12", "1")]
    closed = entry.apply(moved, parse_notification(
        {"notification": "abmeldung", "business_id": "GW-2026-00001", "effective_on": "2026-03-05",
         "reason": "aufgabe"}, today=TODAY))
    assert closed["status"] == "closed" and closed["closed_on"] == "2026-03-05"
    with pytest.raises(NotificationError) as caught:  # a closed business takes no further notification
        entry.apply(closed, parse_notification({"notification": "ummeldung", "business_id": "GW-2026-00001",
                                                "effective_on": "2026-03-05", "city": "Dreieich"}, today=TODAY))
    assert caught.value.problems[0].field == "business_id"
    with pytest.raises(NotificationError):  # and an Anmeldung never lands on an existing entry
        entry.apply(first, parse_notification(anmeldung(), today=TODAY))


def test_case_metadata_mirrors_the_entry_and_the_simple_extract_holds_only_section_14_5_data() -> None:
    e = entry.apply(None, parse_notification(anmeldung(), today=TODAY))
    meta = entry.case_metadata(e, "GW-2026-00001")
    assert meta["owners"] == "Muster, Erika" and meta["employees"] == 3
    assert meta["business_address"] == "Frankfurter Straße 12, 63263 Neu-Isenburg"
    assert entry.pending_metadata(parse_notification(anmeldung(), today=TODAY), "GW-1")["status"] == "pending"
    simple = entry.simple_extract(e)
    assert set(simple) == {"owners", "registered_name", "address", "activity"}
    assert "1980" not in str(simple)


def test_dates_are_iso_days_in_the_past_for_births() -> None:
    assert "gültiges Datum" in problems(anmeldung(effective_on="2026-W10-1"))["effective_on"]  # a week date
    assert "gültiges Datum" in problems(anmeldung(effective_on="01.03.2026"))["effective_on"]
    found = problems(anmeldung(persons=[{"family_name": "Muster", "given_names": "Erika",
                                         "birth_date": "2027-01-01"}]))
    assert found["persons[0].birth_date"] == "Das Geburtsdatum muss in der Vergangenheit liegen"
    assert "mehr als ein Jahr" in problems(anmeldung(effective_on="2027-04-01"))["effective_on"]


def test_the_stored_form_gives_back_the_same_notification() -> None:
    n = parse_notification(anmeldung(business_id=None), today=TODAY)
    back = Notification.from_json(n.to_json())
    assert back == n and back.given == n.given and back.persons == n.persons
    assert n.to_json()["persons"][0]["birth_date"] == "1980-04-12"
    ummeldung = parse_notification({"notification": "ummeldung", "business_id": "GW-1", "effective_on": "2026-03-01",
                                    "city": "Dreieich"}, today=TODAY)
    assert set(ummeldung.to_json()) == {"notification", "business_id", "received_on", "effective_on", "ex_officio",
                                        "city"}  # only what it changes
    assert Notification.from_json(ummeldung.to_json()).entry_values() == {"city": "Dreieich"}


def test_an_ummeldung_with_persons_replaces_the_list() -> None:
    first = entry.apply(None, parse_notification(anmeldung(), today=TODAY))
    changed = entry.apply(first, parse_notification(
        {"notification": "ummeldung", "business_id": "GW-1", "effective_on": "2026-03-01", "reason": "sonstiges",
         "persons": [{"family_name": "Beispiel", "given_names": "Jonas", "birth_date": "1975-01-02"}]},
        today=TODAY))
    assert [p["family_name"] for p in changed["persons"]] == ["Beispiel"]
    assert entry.case_metadata(changed, "GW-1")["owners"] == "Beispiel, Jonas"
    assert [c.field for c in entry.changes(first, changed)] == ["persons"]
