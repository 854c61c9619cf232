"""What the approver is shown before confirming an invoice "rechnerisch richtig": EN 16931 mandatory fields and
arithmetic, the German BR-DE rules for public buyers, the IBAN and the Leitweg-ID check digits.

The checks do not validate the XML (that is XSD/Schematron work); they look at the figures that decide whether
the municipality pays the right amount to the right account. They run on parsed e-invoices (`run_checks`) and
on figures a clerk typed from a plain PDF or scan (`run_checks_on_metadata`), so both go through one neutral
set of facts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Mapping

from workflows.invoice.model import InvoiceData, money
from workflows.validators import (
    compact_iban,
    iban_valid,
    leitweg_id_valid,
    looks_like_leitweg_id,
)

__all__ = ["Check", "Severity", "iban_valid", "leitweg_id_valid", "looks_like_leitweg_id", "run_checks",
           "run_checks_on_metadata"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Check:
    code: str  # the EN 16931 / XRechnung rule id where there is one (BR-DE-15, BR-CO-15, …)
    ok: bool
    severity: Severity  # how bad it is when not ok
    message_de: str
    message_en: str

    def to_metadata(self) -> dict[str, Any]:
        """JSON-ready, for storing the results with the invoice (the approver sees what was checked then)."""
        return {"code": self.code, "ok": self.ok, "severity": self.severity, "message_de": self.message_de,
                "message_en": self.message_en}


# -------------------------------------------------------------------------------------------- shared checks

@dataclass
class _Facts:
    """What the checks look at; None means unknown (missing, or typed in a form that could not be read)."""

    invoice_number: str | None = None
    issue_date: date | None = None
    type_code: str | None = None
    currency: str | None = None
    seller_name: str | None = None
    buyer_reference: str | None = None
    iban: str | None = None
    payment_means_code: str | None = None
    line_net_amounts: list[Decimal] | None = None  # None: lines unknown (typed metadata)
    line_total: Decimal | None = None
    total_net: Decimal | None = None
    total_vat: Decimal | None = None
    total_gross: Decimal | None = None
    prepaid: Decimal = Decimal(0)
    rounding_amount: Decimal = Decimal(0)
    amount_due: Decimal | None = None
    mandatory: tuple[str, ...] = ()
    problems: list[Check] = field(default_factory=list)  # fields present but unreadable


# field → (the EN 16931 rule that makes it mandatory, German label, English label)
_MANDATORY: dict[str, tuple[str, str, str]] = {
    "invoice_number": ("BR-02", "Rechnungsnummer (BT-1)", "Invoice number (BT-1)"),
    "issue_date": ("BR-03", "Rechnungsdatum (BT-2)", "Issue date (BT-2)"),
    "type_code": ("BR-04", "Rechnungsart (BT-3)", "Invoice type code (BT-3)"),
    "currency": ("BR-05", "Währung (BT-5)", "Currency (BT-5)"),
    "seller_name": ("BR-06", "Name des Verkäufers (BT-27)", "Seller name (BT-27)"),
    "line_total": ("BR-12", "Summe der Positionen (BT-106)", "Sum of line net amounts (BT-106)"),
    "total_net": ("BR-13", "Gesamtbetrag ohne USt. (BT-109)", "Total without VAT (BT-109)"),
    "total_gross": ("BR-14", "Gesamtbetrag mit USt. (BT-112)", "Total with VAT (BT-112)"),
    "amount_due": ("BR-15", "Zahlbetrag (BT-115)", "Amount due for payment (BT-115)"),
}
_ALL_MANDATORY = tuple(_MANDATORY)
# A clerk copying a paper invoice has no type code and often no separate line sum; demanding them would only
# make people invent figures.
_METADATA_MANDATORY = ("invoice_number", "issue_date", "currency", "seller_name", "total_net", "total_gross",
                       "amount_due")


def _de(value: Decimal) -> str:
    """German number format for messages: 1.487,50."""
    return f"{money(value):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _en(value: Decimal) -> str:
    return f"{money(value):,.2f}"


def _equal_in_cents(left: Decimal, right: Decimal) -> bool:
    return money(left) == money(right)


def _arithmetic(f: _Facts) -> list[Check]:
    checks: list[Check] = []
    cur = f" {f.currency}" if f.currency else ""

    if f.line_net_amounts is not None:
        has_lines = bool(f.line_net_amounts)
        checks.append(Check(
            "BR-16", has_lines, "error",
            f"Die Rechnung hat {len(f.line_net_amounts)} Position(en)." if has_lines
            else "Die Rechnung enthält keine Rechnungsposition.",
            f"The invoice has {len(f.line_net_amounts)} line(s)." if has_lines else "The invoice has no line."))
        if f.line_total is not None:
            lines = sum(f.line_net_amounts, Decimal(0))
            ok = _equal_in_cents(lines, f.line_total)
            checks.append(Check(
                "BR-CO-10", ok, "error",
                f"Summe der Positionsbeträge {_de(lines)}{cur} "
                + ("= " if ok else "≠ ") + f"Summe der Positionen (BT-106) {_de(f.line_total)}{cur}.",
                f"Sum of line net amounts {_en(lines)}{cur} "
                + ("= " if ok else "≠ ") + f"sum of lines (BT-106) {_en(f.line_total)}{cur}."))

    if f.total_net is not None and f.total_vat is not None and f.total_gross is not None:
        expected = f.total_net + f.total_vat
        ok = _equal_in_cents(expected, f.total_gross)
        checks.append(Check(
            "BR-CO-15", ok, "error",
            f"Netto (BT-109) {_de(f.total_net)} + USt. (BT-110) {_de(f.total_vat)} = {_de(expected)}{cur}"
            + ("" if ok else f", aber Brutto (BT-112) ist {_de(f.total_gross)}{cur}") + ".",
            f"Net (BT-109) {_en(f.total_net)} + VAT (BT-110) {_en(f.total_vat)} = {_en(expected)}{cur}"
            + ("" if ok else f", but the gross total (BT-112) is {_en(f.total_gross)}{cur}") + "."))

    if f.total_gross is not None and f.amount_due is not None:
        expected = f.total_gross - f.prepaid + f.rounding_amount
        ok = _equal_in_cents(expected, f.amount_due)
        rounding_de = f" + Rundung (BT-114) {_de(f.rounding_amount)}" if f.rounding_amount else ""
        rounding_en = f" + rounding (BT-114) {_en(f.rounding_amount)}" if f.rounding_amount else ""
        checks.append(Check(
            "BR-CO-16", ok, "error",
            f"Brutto (BT-112) {_de(f.total_gross)} − bereits gezahlt (BT-113) {_de(f.prepaid)}{rounding_de} = "
            f"{_de(expected)}{cur}" + ("" if ok else f", aber Zahlbetrag (BT-115) ist {_de(f.amount_due)}{cur}")
            + ".",
            f"Gross (BT-112) {_en(f.total_gross)} − prepaid (BT-113) {_en(f.prepaid)}{rounding_en} = "
            f"{_en(expected)}{cur}" + ("" if ok else f", but the amount due (BT-115) is {_en(f.amount_due)}{cur}")
            + "."))
    return checks


def _run(f: _Facts) -> list[Check]:
    checks: list[Check] = list(f.problems)
    unreadable = {c.code.removeprefix("FORMAT:") for c in f.problems}

    for name in f.mandatory:
        if name in unreadable:
            continue  # already reported as unreadable; "missing" would be wrong
        rule, label_de, label_en = _MANDATORY[name]
        present = getattr(f, name) not in (None, "")
        checks.append(Check(rule, present, "error",
                            f"{label_de} " + ("vorhanden." if present else "fehlt."),
                            f"{label_en} " + ("present." if present else "missing.")))

    has_ref = bool(f.buyer_reference)
    checks.append(Check(
        "BR-DE-15", has_ref, "error",
        "Käuferreferenz/Leitweg-ID (BT-10) vorhanden." if has_ref else "Käuferreferenz/Leitweg-ID (BT-10) fehlt.",
        "Buyer reference/Leitweg-ID (BT-10) present." if has_ref else "Buyer reference/Leitweg-ID (BT-10) missing."))
    if f.buyer_reference and looks_like_leitweg_id(f.buyer_reference):
        ok = leitweg_id_valid(f.buyer_reference)
        # A warning, not an error: the XRechnung rules do not test these digits, and the clerk can still route
        # the invoice by hand; but a wrong id often means the invoice was meant for another authority.
        checks.append(Check(
            "LEITWEG-ID", ok, "warning",
            f"Leitweg-ID {f.buyer_reference} " + ("ist gültig." if ok else "hat eine falsche Prüfziffer oder Form."),
            f"Leitweg-ID {f.buyer_reference} " + ("is valid." if ok else "has a wrong check number or format.")))

    has_payment = bool(f.iban or f.payment_means_code)
    checks.append(Check(
        "BR-DE-1", has_payment, "error",
        "Zahlungsanweisungen (IBAN/Zahlungsart) vorhanden." if has_payment
        else "Zahlungsanweisungen fehlen (keine IBAN, keine Zahlungsart).",
        "Payment instructions (IBAN/payment means) present." if has_payment
        else "Payment instructions missing (no IBAN, no payment means)."))
    if f.iban:
        ok = iban_valid(f.iban)
        checks.append(Check(
            "BR-DE-19", ok, "error",
            f"IBAN {f.iban} " + ("ist gültig." if ok else "ist ungültig (Prüfziffer, Länge oder Form)."),
            f"IBAN {f.iban} " + ("is valid." if ok else "is invalid (check digits, length or format).")))

    checks.extend(_arithmetic(f))
    return checks


def run_checks(data: InvoiceData) -> list[Check]:
    """Every check for a parsed e-invoice, passed or not, in a stable order (the approver sees a checklist)."""
    return _run(_Facts(
        invoice_number=data.invoice_number, issue_date=data.issue_date, type_code=data.type_code,
        currency=data.currency, seller_name=data.seller_name, buyer_reference=data.buyer_reference,
        iban=data.iban, payment_means_code=data.payment_means_code,
        line_net_amounts=list(data.line_net_amounts), line_total=data.line_total, total_net=data.total_net,
        # EN 16931 lets an invoice leave out BT-110; the totals then treat it as zero.
        total_vat=data.total_vat if data.total_vat is not None else Decimal(0),
        total_gross=data.total_gross, prepaid=data.prepaid, rounding_amount=data.rounding_amount,
        amount_due=data.amount_due, mandatory=_ALL_MANDATORY,
    ))


# ------------------------------------------------------------------------------------------------- metadata

_PLAIN_DECIMAL_RE = re.compile(r"[+-]?\d+(?:\.\d+)?")
_COMMA_DECIMAL_RE = re.compile(r"[+-]?\d+(?:,\d+)?")
_GERMAN_GROUPED_RE = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+")


def _typed_amount(value: Any) -> Decimal:
    """An amount from a form: "1487.50", "1487,50" and "1.487,50" are read; "1.487" (thousands or
    decimals?) is not, rather than guessed."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (Decimal, int)):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))  # the float as written, not its binary expansion
    else:
        text = str(value).strip().replace(" ", "").removesuffix("€").removesuffix("EUR")
        if _PLAIN_DECIMAL_RE.fullmatch(text) and not re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", text):
            result = Decimal(text)
        elif _COMMA_DECIMAL_RE.fullmatch(text):
            result = Decimal(text.replace(",", "."))
        elif _GERMAN_GROUPED_RE.fullmatch(text):
            result = Decimal(text.replace(".", "").replace(",", "."))
        else:
            raise ValueError(value)
    if not result.is_finite():
        raise ValueError(value)
    return result


def _typed_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) or re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if match is None:
        raise ValueError(value)
    parts = [int(p) for p in match.groups()]
    return date(*parts) if len(match[1]) == 4 else date(parts[2], parts[1], parts[0])


_AMOUNT_FIELDS = {
    "line_total": ("BT-106", "Summe der Positionen", "Sum of lines"),
    "total_net": ("BT-109", "Nettobetrag", "Net total"),
    "total_vat": ("BT-110", "Umsatzsteuer", "VAT total"),
    "total_gross": ("BT-112", "Bruttobetrag", "Gross total"),
    "prepaid": ("BT-113", "Bereits gezahlt", "Prepaid amount"),
    "amount_due": ("BT-115", "Zahlbetrag", "Amount due"),
}


def run_checks_on_metadata(metadata: Mapping[str, Any]) -> list[Check]:
    """The checks for figures typed by a clerk (keys as in `InvoiceData.to_metadata`, values mostly strings).

    Arithmetic runs on the totals that are present (a missing VAT total skips BR-CO-15; a missing prepaid
    amount counts as 0); there are no lines, so BR-16/BR-CO-10 are left out. Values that cannot be read give
    a "FORMAT:<field>" error instead of a silent skip.
    """
    facts = _Facts(mandatory=_METADATA_MANDATORY, line_net_amounts=None)

    def text(key: str) -> str | None:
        value = metadata.get(key)
        if value is None:
            return None
        stripped = str(value).strip()
        return stripped or None

    facts.invoice_number = text("invoice_number")
    facts.type_code = text("type_code")
    facts.currency = text("currency")
    facts.seller_name = text("seller_name")
    facts.buyer_reference = text("buyer_reference")
    facts.iban = compact_iban(text("iban") or "") or None
    facts.payment_means_code = text("payment_means_code")

    if text("issue_date") is not None:
        try:
            facts.issue_date = _typed_date(metadata["issue_date"])
        except ValueError:
            facts.problems.append(Check(
                "FORMAT:issue_date", False, "error",
                f"Rechnungsdatum (BT-2) ist kein gültiges Datum: {metadata['issue_date']!r}.",
                f"Issue date (BT-2) is not a valid date: {metadata['issue_date']!r}."))

    for key, (bt, label_de, label_en) in _AMOUNT_FIELDS.items():
        if text(key) is None:
            continue
        try:
            amount = _typed_amount(metadata[key])
        except (ValueError, ArithmeticError):
            facts.problems.append(Check(
                f"FORMAT:{key}", False, "error",
                f"{label_de} ({bt}) ist kein lesbarer Betrag: {metadata[key]!r}.",
                f"{label_en} ({bt}) is not a readable amount: {metadata[key]!r}."))
            continue
        setattr(facts, key, amount)
    return _run(facts)
