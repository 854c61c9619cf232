"""What an incoming e-invoice says, independent of its syntax (UBL or CII) and carrier (XML or PDF).

Field names follow the EN 16931 business terms (BT-x) and are an external contract: the metadata stored with the
invoice document uses them as keys. Money is `Decimal` exactly as written in the invoice; rounding happens only
when rendering (`to_metadata`) and in the checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

CENT = Decimal("0.01")

Syntax = Literal["ubl-invoice", "ubl-creditnote", "cii"]
Source = Literal["xrechnung", "zugferd"]

# The keys `InvoiceData.to_metadata` writes, in a stable order (forms and exports list them in this order).
METADATA_FIELDS: tuple[str, ...] = (
    "invoice_number", "issue_date", "type_code", "currency", "due_date", "buyer_reference", "payment_terms",
    "skonto", "seller_name", "seller_vat_id", "buyer_name", "iban", "line_total", "total_net", "total_vat",
    "total_gross", "prepaid", "amount_due", "lines", "line_count",
)
# The metadata keeps at most this many lines (`line_count` says how many the invoice has): a case row stays small
# whatever an invoice from outside holds; the checks still see every line, and the XML itself is in the case.
MAX_STORED_LINES = 500


def money(value: Decimal) -> Decimal:
    """Rounded to cents the commercial way (half up), as German invoices and cash offices do, not banker's."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | None) -> str | None:
    return None if value is None else str(money(value))


@dataclass(frozen=True)
class SkontoTerm:
    """One `#SKONTO#TAGE=..#PROZENT=..#[BASISBETRAG=..#]` line of BT-20 (XRechnung, BR-DE-18).

    `base` is the BASISBETRAG as written, None when the line has none. `amount` is the discount in money:
    (base, or else the amount due BT-115) × percent / 100, rounded half up to cents. `deadline` is the issue date
    plus `days`. Either is None only when the inputs it needs are unknown (e.g. typed metadata without a date).
    """

    days: int
    percent: Decimal
    base: Decimal | None
    deadline: date | None
    amount: Decimal | None

    def to_metadata(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "percent": str(money(self.percent)),
            "base": money_str(self.base),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "amount": money_str(self.amount),
        }


@dataclass(frozen=True)
class InvoiceLine:
    """One top-level invoice line (BG-25), for the approver to read; the checks use `net_amount` only.

    Quantity and unit price are kept exactly as written (prices per unit often have four decimals), the line
    net amount is money like the totals. Everything but the net amount may be missing in a sloppy invoice.
    """

    line_id: str | None  # BT-126
    name: str | None  # BT-153
    quantity: Decimal | None  # BT-129
    unit_code: str | None  # BT-130 (UN/ECE Recommendation 20, e.g. H87 piece, DAY, XPP)
    net_price: Decimal | None  # BT-146
    net_amount: Decimal  # BT-131
    vat_category: str | None  # BT-151 (S, Z, E, AE, K, G, O, L, M)
    vat_rate: Decimal | None  # BT-152, percent

    def to_metadata(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "name": self.name,
            "quantity": None if self.quantity is None else str(self.quantity),
            "unit_code": self.unit_code,
            "net_price": None if self.net_price is None else str(self.net_price),
            "net_amount": money_str(self.net_amount),
            "vat_category": self.vat_category,
            "vat_rate": None if self.vat_rate is None else str(self.vat_rate),
        }


@dataclass(frozen=True)
class InvoiceData:
    invoice_number: str  # BT-1
    issue_date: date  # BT-2
    type_code: str  # BT-3 (380 invoice, 381 credit note, 384 corrected, 389 self-billed, …)
    currency: str  # BT-5
    due_date: date | None  # BT-9
    buyer_reference: str | None  # BT-10, for public buyers the Leitweg-ID
    payment_terms: str | None  # BT-20, every note, stripped, joined with "\n"
    skonto: list[SkontoTerm]  # parsed from BT-20
    seller_name: str  # BT-27
    seller_vat_id: str | None  # BT-31
    iban: str | None  # BT-84 of the first payment account, without spaces, upper case
    line_total: Decimal  # BT-106
    total_net: Decimal  # BT-109
    total_vat: Decimal | None  # BT-110 in document currency; EN 16931 allows it to be absent
    total_gross: Decimal  # BT-112
    prepaid: Decimal  # BT-113, 0 when absent
    amount_due: Decimal  # BT-115
    syntax: Syntax
    source: Source
    line_net_amounts: list[Decimal] = field(default_factory=list)  # BT-131 of every top-level line
    buyer_name: str | None = None  # BT-44 (mandatory in EN 16931, but not needed to pay, so not refused)
    lines: list[InvoiceLine] = field(default_factory=list)  # every top-level line, in document order
    # Not part of the metadata contract, but the checks need them to judge a correct invoice correctly:
    payment_means_code: str | None = None  # BT-81 of the first payment means (BR-DE-1)
    rounding_amount: Decimal = Decimal("0")  # BT-114: BT-115 = BT-112 − BT-113 + BT-114

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def to_metadata(self) -> dict[str, Any]:
        """The contract fields, JSON-ready: money as strings with two decimals, dates ISO, skonto and lines as
        dicts (at most MAX_STORED_LINES lines; `line_count` is the number the invoice has)."""
        rendered: dict[str, Any] = {}
        for name in METADATA_FIELDS:
            value = getattr(self, name)
            if name == "skonto":
                rendered[name] = [term.to_metadata() for term in value]
            elif name == "lines":
                rendered[name] = [line.to_metadata() for line in value[:MAX_STORED_LINES]]
            elif isinstance(value, Decimal):
                rendered[name] = money_str(value)
            elif isinstance(value, date):
                rendered[name] = value.isoformat()
            else:
                rendered[name] = value
        return rendered
