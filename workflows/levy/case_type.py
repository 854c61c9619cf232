"""The levy case type, built from its `[case_types.levy]` settings: the housing office's unit and file plan node,
the letterhead, the payee account of the notices, deadlines and the payment period.

One case per social rental flat (its fields below); one procedure per household and payment period, with the
workflow Erhebung → Prüfung → Berechnung → Vier-Augen-Prüfung → Festsetzungsbescheid → laufend, and from
"laufend" the objection (Widerspruch), a §8 change or cancellation and the end of the period. What a decision
does beyond routing (the computation it needs, the notice it files, the four-eyes rule per round) is the levy
service's step effects (eakte.services.levy.effects)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

from workflows.definition import CaseType, Decision, DocumentKind, FieldGroup, Step
from workflows.fields import Field
from workflows.levy.terms import (HEATING, INCOME_EVIDENCE_KIND, MIETENSTUFEN, NOTICE_KIND, OBJECTION_DECISION_KIND,
                                  OBJECTION_KIND, REMINDER_KIND, SURVEY_LETTER_KIND)

DEFAULTS: dict[str, Any] = {
    "unit": "50",                  # Amt für Wohnungswesen: keeps the levy files
    "file_plan_code": "50.20",     # Fehlbelegungsabgabe
    "municipality": "Stadt Musterstadt",  # a neutral placeholder: every installation names its own town
    "letterhead": ["Der Magistrat", "Amt für Wohnungswesen – Fehlbelegungsabgabe"],
    "mietenstufe": "I",            # the municipality's Mietenstufe (Wohngeldverordnung), for flats without one
    "response_days": 28,           # the survey's response deadline, counted from the letter
    "reminder_days": 14,           # a reminder gives this many more days
    "period_months": 36,           # the payment period of a notice (FBAG §7)
    "objection_months": 1,         # Widerspruchsfrist (§70 VwGO): one month after notification
    "notification_days": 3,        # a notice sent by post counts as notified on the third day (§41(2) HVwVfG)
    "objection_authority": "",     # who decides an objection not remedied (named on the forwarding letter)
    "payee_name": "",              # the town's cash office account the levy is paid to (no default: configure it)
    "payee_iban": "",
    "payee_bic": "",
    "evidence": ["Einkommensnachweise aller Haushaltsmitglieder für die letzten zwölf Monate (z. B. "
                 "Lohn- und Gehaltsbescheinigungen, Rentenbescheide)",
                 "den letzten Einkommensteuerbescheid, soweit vorhanden",
                 "Bescheide über Wohngeld, Bürgergeld, Grundsicherung oder andere Transferleistungen, soweit "
                 "bezogen",
                 "Nachweise über Kinder und Schwerbehinderungen im Haushalt"],
}

FIELDS = (
    Field("flat_id", "Wohnungsnummer (Vermieter)", "Flat ID (landlord)", max_length=64, required=True),
    Field("street", "Straße", "Street", max_length=200, required=True),
    Field("house_number", "Hausnummer", "House number", max_length=16, required=True),
    Field("postal_code", "Postleitzahl", "Postal code", max_length=5, required=True),
    Field("city", "Ort", "City", max_length=100, required=True),
    Field("flat_number", "Lage/Wohnung", "Flat position", max_length=64),
    Field("area_m2", "Wohnfläche (m²)", "Living area (m²)", "decimal", required=True,
          minimum=Decimal("0.01"), maximum=Decimal("1000")),
    Field("build_year", "Baujahr (Bezugsfertigkeit)", "Build year", "integer", required=True,
          minimum=1800, maximum=2100),
    Field("heating", "Heizung", "Heating", "enum", choices=HEATING, required=True),
    Field("mietenstufe", "Mietenstufe", "Mietenstufe", "enum", choices=MIETENSTUFEN, required=True),
    Field("net_rent", "Nettokaltmiete (monatlich)", "Net rent (monthly)", "money"),
    Field("landlord", "Vermieter", "Landlord", max_length=300, required=True),
    Field("tenant_name", "Mieter/in (Inhaber/in des Mietverhältnisses)", "Tenant", max_length=300),
)
FIELD_GROUPS = (
    FieldGroup("Wohnung", "Flat", ("flat_id", "street", "house_number", "postal_code", "city", "flat_number")),
    FieldGroup("Ausstattung", "Features", ("area_m2", "build_year", "heating", "mietenstufe", "net_rent")),
    FieldGroup("Vermietung", "Tenancy", ("landlord", "tenant_name")),
)


def _end_of(day_text: Any, now: dt.datetime) -> dt.datetime:
    day = dt.date.fromisoformat(str(day_text)) if day_text else now.date()
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) - dt.timedelta(seconds=1)


def answer_due(metadata: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    """The survey's answer is due by the end of its deadline (a reminder moves it: procedure metadata)."""
    return _end_of(metadata.get("deadline"), now)


def period_due(metadata: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    """A running levy comes back at the end of its payment period (re-survey)."""
    return _end_of(metadata.get("period_end"), now)


STEPS = (
    Step("erhebung", "Erhebung", "Survey", "clerk",
         decisions=(Decision("answered", "Auskunft eingegangen, zur Prüfung", "Answer received, to checking",
                             "pruefung"),
                    Decision("no_answer", "Keine Auskunft – Festsetzung nach der höchsten Stufe",
                             "No answer – assess at the highest band", "berechnung")),
         due=answer_due),
    Step("pruefung", "Prüfung", "Check of the evidence", "clerk",
         decisions=(Decision("complete", "Nachweise vollständig, berechnen", "Evidence complete, compute",
                             "berechnung"),
                    Decision("back", "Zurück zur Erhebung", "Back to the survey", "erhebung", kind="return"))),
    Step("berechnung", "Berechnung", "Computation", "clerk",
         decisions=(Decision("computed", "Berechnet, zur Vier-Augen-Prüfung", "Computed, to the second check",
                             "vier_augen"),
                    Decision("back", "Zurück zur Prüfung", "Back to checking", "pruefung", kind="return"))),
    # Four-eyes per round (the one who computed this round's result may not confirm it) is the levy effects'
    # check: the engine's NotSameAs counts every earlier round too, which after a change or an objection would
    # leave a two-person office with nobody allowed to confirm.
    Step("vier_augen", "Vier-Augen-Prüfung", "Second check", "clerk",
         decisions=(Decision("confirm", "Berechnung bestätigt, Bescheid erstellen", "Computation confirmed, "
                             "issue the notice", "bescheid"),
                    Decision("back", "Zurück zur Berechnung", "Back to the computation", "berechnung",
                             kind="return"))),
    Step("bescheid", "Festsetzungsbescheid", "Notice", "clerk",
         decisions=(Decision("sent", "Bescheid versandt", "Notice sent", "laufend"),)),
    Step("laufend", "Laufende Abgabe", "Running levy", "clerk",
         decisions=(Decision("objection", "Widerspruch eingegangen", "Objection received", "widerspruch"),
                    Decision("change", "Änderung nach § 8 FBAG: neu berechnen", "Change (§8): compute anew",
                             "berechnung"),
                    Decision("cancel", "Aufhebung nach § 8 FBAG", "Cancellation (§8)", None),
                    Decision("period_end", "Leistungszeitraum beendet, Neuerhebung", "Period ended, re-survey",
                             None)),
         due=period_due),
    Step("widerspruch", "Widerspruchsprüfung", "Review of the objection", "clerk",
         decisions=(Decision("remedy", "Abhilfe: neu berechnen und neuer Bescheid", "Remedy: compute anew and "
                             "issue a new notice", "berechnung"),
                    Decision("reject", "Nichtabhilfe: Vorlage an die Widerspruchsbehörde", "No remedy: forward "
                             "to the objection authority", "laufend"))),
)

_INT_SETTINGS = ("response_days", "reminder_days", "period_months", "objection_months", "notification_days")


def levy_case_type(settings: Mapping[str, Any]) -> CaseType:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    s = {**DEFAULTS, **settings}
    for key in _INT_SETTINGS:
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 0 or \
                (s[key] < 1 and key != "notification_days"):
            raise ValueError(f"{key} must be a whole number of at least 1, got {s[key]!r}")
    for key in ("letterhead", "evidence"):
        if not isinstance(s[key], list) or not all(isinstance(x, str) for x in s[key]):
            raise ValueError(f"{key} must be a list of lines")
    if s["mietenstufe"] not in MIETENSTUFEN:
        raise ValueError(f"mietenstufe must be one of {', '.join(MIETENSTUFEN)}, got {s['mietenstufe']!r}")
    kinds = (
        DocumentKind(INCOME_EVIDENCE_KIND, "Einkommensnachweis", "Income evidence"),
        DocumentKind(OBJECTION_KIND, "Widerspruchsschreiben", "Letter of objection"),
        DocumentKind("document", "Dokument", "Document"),
        DocumentKind("letter", "Schreiben", "Letter"),
        # Generated by the flow only: what was sent must be what the file holds.
        DocumentKind(SURVEY_LETTER_KIND, "Erhebungsschreiben", "Survey letter", managed=True),
        DocumentKind(REMINDER_KIND, "Erinnerung", "Reminder", managed=True),
        DocumentKind(NOTICE_KIND, "Bescheid", "Notice", managed=True),
        DocumentKind(OBJECTION_DECISION_KIND, "Widerspruchsentscheidung", "Decision on the objection",
                     managed=True),
    )
    return CaseType(
        key="levy", label_de="Fehlbelegungsabgabe", label_en="Misallocation levy", fields=FIELDS,
        document_kinds=kinds, steps=STEPS, start="erhebung", settings=s, home_unit=str(s["unit"]),
        field_groups=FIELD_GROUPS, unique_fields=("flat_id",),
        title_template="Wohnung {street} {house_number} ({flat_id})",
        workflow_scope="procedure", created_by_intake=True, unit_settings=(("unit", str(s["unit"])),),
    )
