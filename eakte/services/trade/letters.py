"""The trade register's letters as PDF/A-3b: the receipt of a notification (Empfangsbescheinigung, GewO §15(1))
and the register extracts (GewO §14(5) simple, §14 extended). HTML from the Jinja templates beside this module
(German: these are official documents of a German authority, whatever language the clerk's screen shows), PDF
from WeasyPrint with the fonts embedded (DejaVu Sans) and an sRGB output intent, so they can be archived as they
were sent. The letterhead is the case type's settings `municipality` and `letterhead`.

`render_receipt` / `render_extract` are pure renderings (bytes); `file_receipt` files the receipt as the managed
document of kind `receipt` in the notification's procedure, in the caller's transaction (the step decision that
entered Empfangsbescheinigung), streamed through a temp file like every other ingest."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import office_today
from eakte.errors import Conflict
from eakte.models import Case, Document, Procedure, TradeEntry
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.pdf_letters import LetterTemplates, file_letter, german_date
from workflows.definition import CaseType
from eakte.services.trade.register import current_entry
from workflows.trade import entry as entry_rules
from workflows.trade.case_type import BUSINESS_TYPES, NOTIFICATION_LABELS, RECEIPT_KIND
from workflows.trade.notification import LEGAL_FORMS

TEMPLATES = Path(__file__).resolve().parent / "templates"
RECEIPT_BASIS = "§ 15 Abs. 1 GewO"
SIMPLE_BASIS = "§ 14 Abs. 5 GewO"
EXTENDED_BASIS = "§ 14 GewO"
RECEIPT_TITLE = "Empfangsbescheinigung über die Gewerbeanzeige (§ 15 Abs. 1 GewO)"

LETTERS = LetterTemplates(TEMPLATES)

BUSINESS_TYPE_LABELS = {"industrie": "Industrie", "handwerk": "Handwerk", "handel": "Handel",
                        "sonstiges": "Sonstiges"}
assert set(BUSINESS_TYPE_LABELS) == set(BUSINESS_TYPES)
ROLE_LABELS = {"owner": "Inhaber/in", "partner": "Gesellschafter/in",
               "manager": "Gesetzliche/r Vertreter/in bzw. Betriebsleitung"}
# Those who carry on the trade (not its managers): the receipt is addressed to the first of them.
TRADERS = ("owner", "partner")
STATUS_LABELS = {"pending": "angezeigt, noch nicht eingetragen", "active": "angemeldet",
                 "closed": "abgemeldet"}
ESTABLISHMENT_LABELS = {"hauptniederlassung": "Hauptniederlassung", "zweigniederlassung": "Zweigniederlassung",
                        "unselbstaendige_zweigstelle": "Unselbständige Zweigstelle"}
REQUESTER_KIND_LABELS = {"private": "Private Stelle oder Person (berechtigtes Interesse glaubhaft gemacht)",
                         "public": "Öffentliche Stelle (Rechtsgrundlage der Übermittlung)"}
EFFECTIVE_LABELS = {"anmeldung": "Beginn der Tätigkeit", "ummeldung": "Änderung zum",
                    "abmeldung": "Aufgabe der Tätigkeit"}


# --- presenting the entry (plain values the templates print) ------------------------------------------------

_LEGAL_FORM_LABELS = dict(LEGAL_FORMS)


def _legal_form_label(key: str | None) -> str:
    return _LEGAL_FORM_LABELS.get(key, key) if key else ""


def _address(d: Mapping[str, Any]) -> str:
    street = " ".join(str(d.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(d.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    return ", ".join(x for x in (street, place) if x)


def _name(person: Mapping[str, Any]) -> str:
    return ", ".join(x for x in (str(person.get("family_name") or "").strip(),
                                 str(person.get("given_names") or "").strip()) if x)


def _yes_no(value: Any) -> str:
    return "ja" if value else "nein"


def _persons(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in entry.get("persons") or () if isinstance(p, Mapping)]


def business_name(entry: Mapping[str, Any]) -> str:
    name = str(entry.get("registered_name") or "").strip()
    form = _legal_form_label(entry.get("legal_form"))
    return f"{name} ({form})" if name and form and form.lower() not in name.lower() else name


def simple_rows(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The §14(5) GewO data, and only those, as the pure rule (workflows.trade.entry.simple_extract) picks them:
    the traders' names, the business name, its address, the activity."""
    public = entry_rules.simple_extract(entry)
    return [("Name des Gewerbetreibenden", str(public.get("owners") or "")),
            ("Name des Betriebs", str(public.get("registered_name") or "")),
            ("Betriebsanschrift", str(public.get("address") or "")),
            ("Angezeigte Tätigkeit", str(public.get("activity") or ""))]


def extended_rows(entry: Mapping[str, Any], business_id: str) -> list[tuple[str, str]]:
    """The whole entry (without the persons, which `person_rows` gives one block each)."""
    register = " ".join(str(entry.get(k) or "").strip() for k in ("register_court", "register_number")).strip()
    employees = f"{int(entry.get('employees_full_time') or 0)} Vollzeit, " \
                f"{int(entry.get('employees_part_time') or 0)} Teilzeit"
    return [("Betriebsnummer", business_id),
            ("Name des Betriebs", str(entry.get("registered_name") or "")),
            ("Rechtsform", _legal_form_label(entry.get("legal_form"))),
            ("Registergericht und -nummer", register),
            ("Betriebsanschrift", _address(entry)),
            ("Telefon", str(entry.get("phone") or "")),
            ("E-Mail", str(entry.get("email") or "")),
            ("Angezeigte Tätigkeit", str(entry.get("activity") or "")),
            ("Tätigkeitsschlüssel (WZ 2008)", str(entry.get("activity_key") or "")),
            ("Art des Betriebs", BUSINESS_TYPE_LABELS.get(str(entry.get("business_type")),
                                                          str(entry.get("business_type") or ""))),
            ("Nebenerwerb", _yes_no(entry.get("part_time"))),
            ("Beschäftigte", employees),
            ("Niederlassung", ESTABLISHMENT_LABELS.get(str(entry.get("establishment")),
                                                       str(entry.get("establishment") or ""))),
            ("Erlaubnisse", ", ".join(f"§ {p} GewO" for p in entry.get("permits") or ()) or "keine angegeben"),
            ("Handwerkskarte", _yes_no(entry.get("handwerkskarte"))),
            ("Status", STATUS_LABELS.get(str(entry.get("status")), str(entry.get("status") or ""))),
            ("Beginn", german_date(entry.get("started_on"))),
            ("Aufgabe", german_date(entry.get("closed_on")))]


def person_rows(entry: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    for p in _persons(entry):
        out.append((ROLE_LABELS.get(str(p.get("role")), str(p.get("role") or "Person")), [
            ("Name, Vorname(n)", _name(p)),
            ("Geburtsdatum", german_date(p.get("birth_date"))),
            ("Geburtsort", str(p.get("birth_place") or "")),
            ("Staatsangehörigkeit", str(p.get("nationality") or "")),
            ("Wohnanschrift", _address(p)),
            ("Aufenthaltstitel vorgelegt", _yes_no(p.get("residence_permit"))),
        ]))
    return out


def _addressee(entry: Mapping[str, Any], traders: Sequence[Mapping[str, Any]]) -> list[str]:
    """The window address: the (first) trader, the business name, the business address."""
    street = " ".join(str(entry.get(k) or "").strip() for k in ("street", "house_number")).strip()
    place = " ".join(str(entry.get(k) or "").strip() for k in ("postal_code", "city")).strip()
    lines = [_name(traders[0]) if traders else "", str(entry.get("registered_name") or ""), street, place]
    return [x for x in lines if x]


def _letterhead(case_type: CaseType) -> dict[str, Any]:
    s = case_type.settings
    return {"municipality": str(s.get("municipality") or ""), "lines": [str(x) for x in s.get("letterhead") or ()]}


# --- rendering ----------------------------------------------------------------------------------------------

def _receipt_context(case_type: CaseType, case: Case, procedure: Procedure,
                     entry: Mapping[str, Any]) -> dict[str, Any]:
    meta = procedure.metadata_ or {}
    data = meta.get("data") if isinstance(meta.get("data"), Mapping) else {}
    kind = str(meta.get("notification") or data.get("notification") or "")
    traders = [p for p in _persons(entry) if p.get("role", "owner") in TRADERS] or _persons(entry)
    business_id = str((case.metadata_ or {}).get("business_id") or data.get("business_id") or "")
    return {
        "letterhead": _letterhead(case_type), "title": RECEIPT_TITLE, "basis": RECEIPT_BASIS,
        "addressee": _addressee(entry, traders),
        "notification_label": NOTIFICATION_LABELS.get(kind, kind),
        "received_on": german_date(meta.get("received_on") or data.get("received_on")),
        "effective_label": EFFECTIVE_LABELS.get(kind, "Wirksam zum"),
        "effective_on": german_date(data.get("effective_on")),
        "business_id": business_id, "business_name": business_name(entry), "address": _address(entry),
        "traders": "; ".join(_name(p) for p in traders), "activity": str(entry.get("activity") or ""),
        "reference": procedure.reference, "case_reference": case.reference,
        "issued_on": german_date(office_today()),
    }


def render_receipt(case_type: CaseType, case: Case, procedure: Procedure, entry: Mapping[str, Any]) -> bytes:
    """The receipt of one notification (its procedure), for the business as `entry` (the register entry the
    notification left, or its data while not entered yet) shows it."""
    return LETTERS.pdf("receipt.html", _receipt_context(case_type, case, procedure, entry))


def render_extract(case_type: CaseType, case: Case, entry: Mapping[str, Any], kind: str, request: Any,
                   *, entry_valid_from: dt.date | None = None) -> bytes:
    """A register extract: `kind` "simple" (the §14(5) data) or "extended" (the whole entry, the requester and
    their interest). `request` is an `extracts.ExtractRequest` (requester, requester_kind, interest, purpose,
    reference)."""
    business_id = str((case.metadata_ or {}).get("business_id") or "")
    extended = kind == "extended"
    context = {
        "letterhead": _letterhead(case_type), "extended": extended,
        "title": "Erweiterte Auskunft aus dem Gewerberegister" if extended else "Auskunft aus dem Gewerberegister",
        "basis": EXTENDED_BASIS if extended else SIMPLE_BASIS,
        "business_id": business_id, "reference": case.reference,
        "rows": extended_rows(entry, business_id) if extended else simple_rows(entry),
        "persons": person_rows(entry) if extended else [],
        "requester": _request_rows(request) if extended else [],
        "valid_from": german_date(entry_valid_from), "issued_on": german_date(office_today()),
    }
    return LETTERS.pdf("extract.html", context)


def _request_rows(request: Any) -> list[tuple[str, str]]:
    kind = str(getattr(request, "requester_kind", None) or "private")
    return [("Anfragende Stelle oder Person", str(getattr(request, "requester", None) or "")),
            ("Art", REQUESTER_KIND_LABELS.get(kind, kind)),
            ("Berechtigtes Interesse bzw. Rechtsgrundlage", str(getattr(request, "interest", None) or "")),
            ("Zweck der Auskunft", str(getattr(request, "purpose", None) or "")),
            ("Aktenzeichen der anfragenden Stelle", str(getattr(request, "reference", None) or ""))]


# --- filing the receipt -------------------------------------------------------------------------------------

def _entry_for(session: Session, case: Case, procedure: Procedure) -> dict[str, Any]:
    """The entry as this notification left it (its own TradeEntry row), else the business's current entry,
    else (not entered yet) the notification's own data."""
    row = session.execute(select(TradeEntry).where(TradeEntry.procedure_id == procedure.id)
                          .order_by(TradeEntry.version.desc()).limit(1)).scalar()
    if row is None:
        row = current_entry(session, case.id)
    if row is not None:
        return dict(row.data)
    data = (procedure.metadata_ or {}).get("data")
    if not isinstance(data, Mapping):
        raise Conflict(f"procedure {procedure.reference} holds no trade notification",
                       detail_de=f"Vorgang {procedure.reference} enthält keine Gewerbeanzeige")
    return dict(data)


def _existing_receipt(session: Session, procedure: Procedure) -> Document | None:
    return session.execute(select(Document).where(Document.procedure_id == procedure.id,
                                                  Document.kind == RECEIPT_KIND)
                           .order_by(Document.id).limit(1)).scalar()


def file_receipt(rt: Runtime, session: Session, actor: Actor, case: Case, procedure: Procedure) -> Document:
    """Render the procedure's receipt and file it (kind `receipt`, in the procedure, dated today) in the caller's
    transaction. A procedure that has its receipt already keeps it: the receipt is what was issued, once."""
    existing = _existing_receipt(session, procedure)
    if existing is not None:
        return existing
    case_type = rt.registry.get(case.case_type)
    if case_type is None:
        raise Conflict(f"case type {case.case_type!r} is not installed",
                       detail_de=f"Die Aktenart {case.case_type} ist nicht eingerichtet")
    context = _receipt_context(case_type, case, procedure, _entry_for(session, case, procedure))
    document, sha256 = file_letter(rt, session, actor, case, LETTERS, "receipt.html", context, kind=RECEIPT_KIND,
                                   title=RECEIPT_TITLE, filename=f"Empfangsbescheinigung {procedure.reference}.pdf",
                                   procedure_id=procedure.id)
    audit.record(session, actor, "trade.receipt", "document", document.id, case_id=case.id,
                 details={"procedure": procedure.reference, "business_id": context["business_id"],
                          "sha256": sha256})
    return document


def receipt_documents(session: Session, procedure_ids: Sequence[int]) -> dict[int, int]:
    """procedure id → its receipt's document id, for the pages that show whether a receipt was issued."""
    if not procedure_ids:
        return {}
    rows = session.execute(select(Document.procedure_id, Document.id).where(
        Document.procedure_id.in_(procedure_ids), Document.kind == RECEIPT_KIND).order_by(Document.id))
    out: dict[int, int] = {}
    for pid, did in rows:
        out.setdefault(int(pid), int(did))
    return out
