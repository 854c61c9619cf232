"""The register entry of a business (Gewerberegister): a JSON dict of the notification's entry fields plus its
status, start and closure. A notification never edits an entry: `apply` returns the next one, and the service
keeps every one of them as a dated row."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from workflows.trade.notification import (ENTRY_FIELDS, LEGAL_FORMS, FieldProblem, Notification,
                                          NotificationError)

LABELS_DE = {
    "registered_name": "Name des Betriebs", "legal_form": "Rechtsform", "register_court": "Registergericht",
    "register_number": "Registernummer", "street": "Straße", "house_number": "Hausnummer",
    "postal_code": "Postleitzahl", "city": "Ort", "phone": "Telefon", "email": "E-Mail",
    "persons": "Personen", "activity": "Tätigkeit", "activity_key": "Tätigkeitsschlüssel",
    "business_type": "Art des Betriebs", "part_time": "Nebenerwerb", "employees_full_time": "Beschäftigte (Vollzeit)",
    "employees_part_time": "Beschäftigte (Teilzeit)", "establishment": "Niederlassung", "permits": "Erlaubnisse",
    "handwerkskarte": "Handwerkskarte", "status": "Status", "started_on": "Beginn", "closed_on": "Aufgabe",
}
_LEGAL_FORM_LABELS = dict(LEGAL_FORMS)


@dataclass(frozen=True)
class Change:
    field: str
    label_de: str
    old: Any
    new: Any


def apply(current: Mapping[str, Any] | None, n: Notification) -> dict[str, Any]:
    """The entry after notification `n`: an Anmeldung starts one, an Ummeldung changes the fields it gives, an
    Abmeldung closes it. Raises NotificationError (on business_id) when the business's state does not allow it."""
    if n.notification == "anmeldung":
        if current is not None:
            _refuse("business_id", "this business is registered already", "Dieser Betrieb ist bereits eingetragen")
        return {**{k: None for k in ENTRY_FIELDS}, **n.entry_values(), "status": "active",
                "started_on": n.effective_on.isoformat(), "closed_on": None}
    if current is None or current.get("status") != "active":
        _refuse("business_id", "no active business with this business ID",
                "Kein aktiver Betrieb mit dieser Betriebsnummer")
    assert current is not None
    if n.notification == "ummeldung":
        return {**current, **n.entry_values()}
    return {**current, "status": "closed", "closed_on": n.effective_on.isoformat()}


def _refuse(field: str, message: str, message_de: str) -> None:
    raise NotificationError([FieldProblem(field, message, message_de)])


def _person_name(p: Mapping[str, Any]) -> str:
    return ", ".join(x for x in (str(p.get("family_name") or "").strip(), str(p.get("given_names") or "").strip())
                     if x)


def owners(entry: Mapping[str, Any]) -> str:
    """"Muster, Erika; Beispiel, Jonas": the persons of the entry, as lists and search show them."""
    return "; ".join(_person_name(p) for p in entry.get("persons") or () if isinstance(p, Mapping))


def address(entry: Mapping[str, Any]) -> str:
    street = " ".join(str(entry.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(entry.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    return ", ".join(x for x in (street, place) if x)


def case_metadata(entry: Mapping[str, Any], business_id: str) -> dict[str, Any]:
    """The case's fields (workflows.trade.case_type.FIELDS) mirroring `entry`."""
    register = " ".join(str(entry.get(k) or "").strip() for k in ("register_court", "register_number")).strip()
    full, part = entry.get("employees_full_time"), entry.get("employees_part_time")
    values = {
        "business_id": business_id, "registered_name": entry.get("registered_name"),
        "legal_form": _LEGAL_FORM_LABELS.get(str(entry.get("legal_form")), entry.get("legal_form")),
        "register_entry": register or None, "owners": owners(entry) or None,
        "business_address": address(entry) or None, "postal_code": entry.get("postal_code"),
        "activity": entry.get("activity"), "activity_key": entry.get("activity_key"),
        "business_type": entry.get("business_type"), "part_time": entry.get("part_time"),
        "employees": None if full is None and part is None else int(full or 0) + int(part or 0),
        "permits": ", ".join(entry.get("permits") or ()) or None, "handwerkskarte": entry.get("handwerkskarte"),
        "status": entry.get("status"), "started_on": entry.get("started_on"), "closed_on": entry.get("closed_on"),
    }
    return {k: v for k, v in values.items() if v is not None}


def pending_metadata(n: Notification, business_id: str) -> dict[str, Any]:
    """The case's fields for a business notified but not yet entered (status pending)."""
    return {**case_metadata({**n.entry_values(), "status": "pending"}, business_id)}


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed from one entry to the next, in the order of the form."""
    keys = [*ENTRY_FIELDS, "status", "started_on", "closed_on"]
    return [Change(k, LABELS_DE.get(k, k), old.get(k), new.get(k)) for k in keys
            if (old.get(k) or None) != (new.get(k) or None)]


def simple_extract(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What GewO §14(5) lets anyone know: the traders' names, the business name, its address, the activity."""
    return {"owners": owners(entry), "registered_name": entry.get("registered_name"), "address": address(entry),
            "activity": entry.get("activity")}
