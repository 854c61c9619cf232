"""The invoice approval case type (Rechnungsworkflow, DOMAIN.md §3), built from its `[case_types.invoice]`
settings: which units receive, check and pay, the value tiers of the Anordnung, the due-date fallback."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from workflows.definition import CaseType, Decision, DocumentKind, NotSameAs, Step, ValueTiers
from workflows.fields import Field
from workflows.invoice.checks import run_checks_on_metadata

DEFAULTS: dict[str, Any] = {
    "file_plan_code": "20.30",      # where intake files new invoice cases
    "receipt_unit": "20",           # Rechnungseingang (central invoice receipt)
    "finance_unit": "20",           # rechnerisch richtig
    "cash_unit": "20",              # Zahlung (Stadtkasse)
    "tiers": [{"above": "5000", "role": "head_of_unit"}, {"above": "50000", "role": "mayor"}],
    "due_days": 10,                 # when an invoice has neither a Skonto deadline nor a due date
    "escalation_role": "head_of_unit",
    "routing": {},                  # Leitweg-ID fine part → ordering unit code
    "debtor_name": "Stadt Neu-Isenburg",
    "debtor_iban": "DE02500105170137075030",
    "debtor_bic": "",
}

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
    Field("iban", "IBAN des Zahlungsempfängers", "Payee IBAN", "iban"),
    Field("line_total", "Summe der Positionen (netto)", "Sum of line net amounts", "money"),
    Field("total_net", "Gesamtbetrag netto", "Total without VAT", "money"),
    Field("total_vat", "Umsatzsteuer", "Total VAT", "money"),
    Field("total_gross", "Gesamtbetrag brutto", "Total with VAT", "money", required=True),
    Field("prepaid", "Bereits gezahlt", "Paid amount", "money"),
    Field("amount_due", "Zahlbetrag", "Amount due", "money", required=True),
    Field("ordering_unit", "Bestellende Organisationseinheit", "Ordering unit", "unit", required=True),
    Field("checks", "Prüfergebnisse", "Checks", "list"),
    Field("source", "Eingangsformat", "Received as", "enum",
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


def invoice_case_type(settings: Mapping[str, Any]) -> CaseType:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    s = {**DEFAULTS, **settings}
    tiers = tuple((Decimal(str(t["above"])), str(t["role"])) for t in s["tiers"])
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
             due=due, escalate_to=(ordering, escalate)),
        Step("zahlung", "Zahlung freigeben", "Release payment", "clerk", units=(s["cash_unit"],),
             decisions=(Decision("release", "Zahlung freigeben", "Release payment", None),
                        Decision("return", "Zurück an Anordnung", "Return to payment order", "anordnung",
                                 "return")),
             guards=(NotSameAs(("sachlich", "rechnerisch", "anordnung")),), due=due,
             escalate_to=(s["cash_unit"], escalate)),
    )
    return CaseType(
        key="invoice", label_de="Rechnung", label_en="Invoice", fields=FIELDS,
        document_kinds=(DocumentKind("invoice", "Rechnung", "Invoice"),
                        DocumentKind("delivery_note", "Lieferschein", "Delivery note"),
                        DocumentKind("correspondence", "Schriftverkehr", "Correspondence")),
        steps=steps, start="eingang",
        extra_roles=tuple(sorted({escalate, *(role for _, role in tiers)})),
        settings=s, derive=_checks_for_typed_invoices,
    )


def _checks_for_typed_invoices(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Paper invoices get their checks from what the clerk typed; e-invoices keep the checks of their XML."""
    if metadata.get("source") not in (None, "paper"):
        return {}
    return {"checks": [c.to_metadata() for c in run_checks_on_metadata(metadata)]}
