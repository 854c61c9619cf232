"""The invoice approval case type (Rechnungsworkflow, DOMAIN.md §3), built from its `[case_types.invoice]`
settings: which units receive, check and pay, the value tiers of the Anordnung, the due-date fallback."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from workflows.definition import CaseType, Decision, DocumentKind, NotSameAs, ReadOnlyWhen, Step, Tier, ValueTiers
from workflows.fields import Field
from workflows.invoice.checks import run_checks_on_metadata
from workflows.invoice.model import METADATA_FIELDS
from workflows.invoice.payment import Debtor

DEFAULTS: dict[str, Any] = {
    "file_plan_code": "20.30",      # where intake files new invoice cases
    "receipt_unit": "20",           # Rechnungseingang (central invoice receipt)
    "finance_unit": "20",           # rechnerisch richtig
    "cash_unit": "20",              # Zahlung (Stadtkasse)
    "tiers": [{"above": "5000", "role": "head_of_unit"}, {"above": "50000", "role": "mayor"}],
    "due_days": 10,                 # when an invoice has neither a Skonto deadline nor a due date
    "escalation_role": "head_of_unit",
    "routing": {},                  # Leitweg-ID fine part → ordering unit code
    # The municipality's own account for the pain.001 file. No default: until it is configured the payment export
    # refuses, rather than pay from an account that is not the installation's own.
    "debtor_name": "",
    "debtor_iban": "",
    "debtor_bic": "",
}
PAYMENT_ORDER_STEP = "anordnung"  # its approval records what the payment export pays
# The confirmations a payment rests on: the export pays an invoice only while each holds a valid approval, so a
# workflow walked around one of them (a voided, never repeated "sachlich richtig") is never paid.
PAYMENT_REQUIRES = ("sachlich", "rechnerisch", PAYMENT_ORDER_STEP)
# What the Anordnung approves; the payment export pays exactly these values and refuses a case that differs.
PAYMENT_FIELDS = ("amount_due", "currency", "iban", "seller_name", "invoice_number")

FIELDS = (
    Field("invoice_number", "Rechnungsnummer", "Invoice number", required=True),
    Field("issue_date", "Rechnungsdatum", "Issue date", "date", required=True),
    Field("type_code", "Rechnungsart", "Type code"),
    Field("currency", "Währung", "Currency", required=True, max_length=3),
    Field("due_date", "Fälligkeitsdatum", "Due date", "date"),
    Field("buyer_reference", "Leitweg-ID / Käuferreferenz", "Buyer reference (Leitweg-ID)"),
    Field("payment_terms", "Zahlungsbedingungen", "Payment terms", max_length=5000),
    Field("skonto", "Skonto", "Early payment discount", "list"),
    Field("seller_name", "Rechnungssteller", "Seller", required=True),
    Field("seller_vat_id", "USt-IdNr. des Verkäufers", "Seller VAT id"),
    Field("buyer_name", "Rechnungsempfänger", "Buyer"),
    Field("iban", "IBAN des Zahlungsempfängers", "Payee IBAN", "iban"),
    Field("line_total", "Summe der Positionen (netto)", "Sum of line net amounts", "money"),
    Field("total_net", "Gesamtbetrag netto", "Total without VAT", "money"),
    Field("total_vat", "Umsatzsteuer", "Total VAT", "money"),
    Field("total_gross", "Gesamtbetrag brutto", "Total with VAT", "money", required=True),
    Field("prepaid", "Bereits gezahlt", "Paid amount", "money"),
    Field("amount_due", "Zahlbetrag", "Amount due", "money", required=True),
    # Only an e-invoice has lines (read from its XML, like the fields above); a paper invoice is typed by its
    # totals, so nobody writes lines, and the BR-CO-10 check never meets lines it did not read itself.
    Field("lines", "Rechnungspositionen", "Invoice lines", "list", read_only=True),
    Field("line_count", "Anzahl der Rechnungspositionen", "Number of invoice lines", "integer", read_only=True),
    Field("ordering_unit", "Bestellende Organisationseinheit", "Ordering unit", "unit", required=True),
    Field("checks", "Prüfergebnisse", "Checks", "list", read_only=True),
    Field("source", "Eingangsformat", "Received as", "enum", read_only=True,
          choices=("xrechnung-ubl", "xrechnung-cii", "zugferd", "paper")),
    Field("duplicate_override", "Begründung für Doppelerfassung", "Reason for accepting a duplicate",
          max_length=2000),
)


@dataclass(frozen=True)
class SkontoOrDueDate:
    """The task is due at the Skonto deadline where there is one (still ahead), else at the due date (BT-9)."""

    fallback_days: int

    def __call__(self, metadata: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
        deadlines = sorted(d for term in metadata.get("skonto") or []
                           if (d := term.get("deadline")) and Decimal(str(term.get("percent") or 0)) > 0)
        upcoming = [d for d in deadlines if dt.date.fromisoformat(d) >= now.date()]
        chosen = upcoming[0] if upcoming else metadata.get("due_date")
        if chosen:
            return dt.datetime.combine(dt.date.fromisoformat(chosen), dt.time(23, 59))
        return now + dt.timedelta(days=self.fallback_days)


def _is_e_invoice(metadata: Mapping[str, Any]) -> bool:
    return metadata.get("source") not in (None, "paper")


# What the supplier's XML says is theirs to correct (with a corrected invoice), not the receiving clerk's.
READ_FROM_XML = ReadOnlyWhen(METADATA_FIELDS, _is_e_invoice, "read from the e-invoice", "aus der E-Rechnung gelesen")
# Once the ordering unit has confirmed the invoice, what it confirmed (and who orders the payment) is fixed.
FROZEN_AFTER = {"sachlich": (*METADATA_FIELDS, "ordering_unit")}


def configured_debtor(settings: Mapping[str, Any]) -> Debtor | None:
    """The debtor account from the settings, None while it is not configured; ValueError when it is invalid."""
    name, iban = str(settings.get("debtor_name") or "").strip(), str(settings.get("debtor_iban") or "").strip()
    if not name and not iban:
        return None
    if not (name and iban):
        raise ValueError("debtor_name and debtor_iban are set together or not at all")
    return Debtor(name, iban, str(settings.get("debtor_bic") or "") or None)


def invoice_case_type(settings: Mapping[str, Any]) -> CaseType:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    s = {**DEFAULTS, **settings}
    configured_debtor(s)  # a wrong debtor account stops the start, named, instead of failing the first export
    # A tier may name the unit its role must be held in (e.g. the mayor's office); else the ordering unit's.
    tiers = tuple(Tier(Decimal(str(t["above"])), str(t["role"]), str(t["unit"]) if t.get("unit") else None)
                  for t in s["tiers"])
    due = SkontoOrDueDate(int(s["due_days"]))
    escalate = str(s["escalation_role"])
    ordering = "$field:ordering_unit"
    ret = Decision("return", "Zurückgeben", "Return", "eingang", "return")
    reject = Decision("reject", "Ablehnen", "Reject", None, "reject")
    steps = (
        Step("eingang", "Rechnungseingang", "Invoice receipt", "clerk", units=(s["receipt_unit"],),
             decisions=(Decision("forward", "An bestellende Stelle weiterleiten", "Forward to ordering unit",
                                 "sachlich"), reject),
             due=due, escalate_to=(s["receipt_unit"], escalate),
             required_fields=("invoice_number", "issue_date", "currency", "seller_name", "total_gross",
                              "amount_due", "ordering_unit")),
        Step("sachlich", "Sachlich richtig", "Factually correct", "approver", units=(ordering,),
             decisions=(Decision("approve", "Sachlich richtig", "Confirm delivery", "rechnerisch"), ret, reject),
             due=due, escalate_to=(ordering, escalate)),
        Step("rechnerisch", "Rechnerisch richtig", "Arithmetically correct", "clerk", units=(s["finance_unit"],),
             decisions=(Decision("approve", "Rechnerisch richtig", "Confirm figures", "anordnung"), ret, reject),
             guards=(NotSameAs(("sachlich",)),), due=due, escalate_to=(s["finance_unit"], escalate)),
        Step("anordnung", "Anordnung", "Payment order", "approver", units=(ordering,),
             decisions=(Decision("approve", "Zahlung anordnen", "Order payment", "zahlung"), ret, reject),
             guards=(NotSameAs(("sachlich", "rechnerisch")), ValueTiers("amount_due", tiers)),
             due=due, escalate_to=(ordering, escalate), records=PAYMENT_FIELDS),
        Step("zahlung", "Zahlung freigeben", "Release payment", "clerk", units=(s["cash_unit"],),
             decisions=(Decision("release", "Zahlung freigeben", "Release payment", None),
                        Decision("return", "Zurück an Anordnung", "Return to payment order", "anordnung",
                                 "return")),
             guards=(NotSameAs(("sachlich", "rechnerisch", "anordnung")),), due=due,
             escalate_to=(s["cash_unit"], escalate)),
    )
    return CaseType(
        key="invoice", label_de="Rechnung", label_en="Invoice", fields=FIELDS,
        # The invoice document is what "sachlich richtig" confirmed, as its fields are (FROZEN_AFTER).
        document_kinds=(DocumentKind("invoice", "Rechnung", "Invoice", frozen_after="sachlich"),
                        DocumentKind("delivery_note", "Lieferschein", "Delivery note"),
                        DocumentKind("correspondence", "Schriftverkehr", "Correspondence")),
        steps=steps, start="eingang",
        extra_roles=tuple(sorted({escalate, *(tier.role for tier in tiers)})),
        settings=s, derive=_checks_for_typed_invoices, frozen_after=FROZEN_AFTER, read_only_when=(READ_FROM_XML,),
        unit_settings=_unit_settings(s, tiers),
    )


def _unit_settings(s: Mapping[str, Any], tiers: tuple[Tier, ...]) -> tuple[tuple[str, str], ...]:
    """Every unit code the settings name, with the setting that names it."""
    named = [(key, str(s[key])) for key in ("receipt_unit", "finance_unit", "cash_unit")]
    named += [(f"tiers[{i}].unit", tier.unit) for i, tier in enumerate(tiers) if tier.unit]
    named += [(f"routing.{part}", str(code)) for part, code in sorted(s["routing"].items())]
    return tuple(named)


def _checks_for_typed_invoices(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Paper invoices get their checks from what the clerk typed; e-invoices keep the checks of their XML."""
    if _is_e_invoice(metadata):
        return {}
    return {"checks": [c.to_metadata() for c in run_checks_on_metadata(metadata)]}
