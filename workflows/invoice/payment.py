"""Payment export for released invoices (step 5 "Zahlung" of the invoice workflow): a CSV list for the cash
office and a SEPA credit transfer file (pain.001.001.09) for the bank.

Pure logic: no Flask, no database. The caller turns released invoices into `Payment`s, lists every one of them
in the CSV and puts those that `check_sepa_payable` accepts into the pain.001 file.

Why pain.001.001.09 is written with lxml and not with the `sepaxml` library: sepaxml (2.7) does support .09 and
validates its output against the ISO XSD it bundles, but it fixes MsgId and CreDtTm itself (a random id and
`datetime.now()`), leaves an empty `DbtrAgt/FinInstnId` where the German DK rules want `Othr/Id NOTPROVIDED`,
transliterates "ä" to "a" instead of "ae", keeps characters outside the SEPA set (such as "&"), and takes
amounts as integer cents. Working around that would mean patching its private tree, so the file is written here
and the tests validate it against the ISO 20022 pain.001.001.09 schema that sepaxml ships.
"""
from __future__ import annotations

import csv
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, TextIO

from lxml import etree

from workflows.spreadsheet import safe_cell
from workflows.validators import compact_iban, iban_valid

__all__ = [
    "CSV_HEADER", "NAME_MAX", "PAIN001_NAMESPACE", "PAIN001_VERSION", "REMITTANCE_MAX", "Debtor", "InvalidAccount",
    "NotSepaPayable", "Payment", "check_sepa_payable", "normalize_bic", "normalize_iban", "sepa_text", "write_csv",
    "write_pain001",
]

PAIN001_VERSION = "pain.001.001.09"
PAIN001_NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN001_VERSION}"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XmlWriter = Any  # what etree.xmlfile yields; lxml does not export its class

CSV_HEADER = ("Aktenzeichen", "Rechnungsnummer", "Empfänger", "IBAN", "BIC", "Betrag", "Währung",
              "Verwendungszweck", "Ausführungsdatum", "End-to-End-ID")

REMITTANCE_MAX = 140  # SEPA unstructured remittance information (RmtInf/Ustrd)
NAME_MAX = 70  # DK rules cap party names at 70 characters
_CENT = Decimal("0.01")
_SEPA_MAX_AMOUNT = Decimal("999999999.99")  # EPC rulebook limit for one credit transfer

_SEPA_CHARS = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")
# German transliteration first (DIN 5007: ä -> ae), then a few symbols that have an obvious SEPA-safe stand-in;
# everything else loses its accents via NFKD or becomes a space.
_TRANSLITERATION = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS",
    "&": "+", "€": "EUR", "_": "-", '"': "'", "„": "'", "“": "'", "”": "'", "‚": "'", "‘": "'", "’": "'",
    "«": "'", "»": "'", "–": "-", "—": "-", "\u2044": "/",
})
# Identifiers (MsgId, EndToEndId) are not transliterated: they must round-trip unchanged to reconcile the bank
# statement, so anything outside the SEPA set is refused instead.
_SEPA_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")
_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")  # ISO 9362, as in the pain.001 XSD
# Excel runs cells starting with these as formulas; supplier names and remittance text come from outside.
class InvalidAccount(ValueError):
    """An IBAN that fails the ISO 13616 format or mod-97 check, or a malformed BIC."""


class NotSepaPayable(ValueError):
    """A payment that cannot go into a SEPA credit transfer; the caller lists it in the CSV only."""

    def __init__(self, reason: str, payment: Payment | None = None) -> None:
        super().__init__(reason if payment is None else f"{payment.end_to_end_id}: {reason}")
        self.reason = reason
        self.payment = payment


def sepa_text(s: str, max_len: int) -> str:
    """`s` reduced to the SEPA Latin character set and cut to at most `max_len` characters."""
    if max_len < 1:
        raise ValueError("max_len must be positive")
    # NFC first so that a decomposed "a" + combining diaeresis still becomes "ae", not "a"; the table again after
    # NFKD because compatibility forms decompose into characters it maps ("½" -> "1⁄2", fullwidth "＆" -> "&").
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", s).translate(_TRANSLITERATION))
    text = text.translate(_TRANSLITERATION)
    kept = "".join(c if c in _SEPA_CHARS else " " for c in text if not unicodedata.combining(c))
    return " ".join(kept.split())[:max_len].rstrip()


def normalize_iban(iban: str) -> str:
    """The IBAN without spaces in upper case; raises InvalidAccount unless it passes the ISO 13616 check."""
    if not iban_valid(iban):
        raise InvalidAccount(f"invalid IBAN {iban!r}")
    return compact_iban(iban)


def normalize_bic(bic: str | None) -> str | None:
    """The BIC in upper case, None when absent or blank; raises InvalidAccount when malformed."""
    if bic is None or not bic.strip():
        return None
    compact = "".join(bic.split()).upper()
    if not _BIC.fullmatch(compact):
        raise InvalidAccount(f"invalid BIC {bic!r}")
    return compact


@dataclass(frozen=True)
class Debtor:
    """The municipality's own account (from configuration) that the credit transfers are paid from."""

    name: str
    iban: str
    bic: str | None = None

    def __post_init__(self) -> None:
        if not sepa_text(self.name, NAME_MAX):
            raise ValueError("debtor name is empty in the SEPA character set")
        object.__setattr__(self, "iban", normalize_iban(self.iban))
        object.__setattr__(self, "bic", normalize_bic(self.bic))


@dataclass(frozen=True)
class Payment:
    """One released invoice to be paid. IBAN and BIC are checked and normalized on construction."""

    end_to_end_id: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str | None
    amount: Decimal
    currency: str
    remittance: str
    requested_date: date
    case_reference: str
    invoice_number: str

    def __post_init__(self) -> None:
        # A float here means money already went through binary rounding somewhere upstream.
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise TypeError("amount must be a finite Decimal")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")
        # datetime is a date too, but would put a time into ReqdExctnDt/Dt.
        if isinstance(self.requested_date, datetime) or not isinstance(self.requested_date, date):
            raise TypeError("requested_date must be a date")
        object.__setattr__(self, "creditor_iban", normalize_iban(self.creditor_iban))
        object.__setattr__(self, "creditor_bic", normalize_bic(self.creditor_bic))


def check_sepa_payable(payment: Payment) -> None:
    """Raises NotSepaPayable when `payment` cannot be a SEPA credit transfer."""
    if payment.currency != "EUR":
        raise NotSepaPayable(f"currency {payment.currency} is not EUR", payment)
    if payment.amount <= 0:
        raise NotSepaPayable("amount is not positive (a credit note is no credit transfer)", payment)
    if payment.amount != payment.amount.quantize(_CENT):
        raise NotSepaPayable("amount has fractions of a cent", payment)
    if payment.amount > _SEPA_MAX_AMOUNT:
        raise NotSepaPayable("amount exceeds the SEPA maximum", payment)
    if not _is_sepa_id(payment.end_to_end_id):
        raise NotSepaPayable("end-to-end id is not 1-35 SEPA characters", payment)
    if not sepa_text(payment.creditor_name, NAME_MAX):
        raise NotSepaPayable("creditor name is empty in the SEPA character set", payment)


def _is_sepa_id(value: str) -> bool:
    # EPC rule for references: no leading "/" and no "//" anywhere.
    return bool(_SEPA_ID.fullmatch(value)) and not value.startswith("/") and "//" not in value


def write_csv(payments: Iterable[Payment], out: TextIO) -> None:
    """Writes all payments (SEPA-payable or not) as a CSV list for the cash office.

    The format is what German Excel opens by double-click without an import dialog: `;` as delimiter (the comma
    is the decimal separator in German locales), amounts with a decimal comma and no thousands separator,
    dates as TT.MM.JJJJ, and UTF-8 with a byte order mark, without which Excel reads the file as Windows-1252
    and garbles umlauts. The BOM is written here, so open `out` with encoding "utf-8" (not "utf-8-sig") and
    newline="" as the csv module requires. Text fields keep their original characters; a text field starting
    with = + - @ gets a leading apostrophe so Excel does not run it as a formula (CSV injection). Purely
    numeric ids longer than 15 digits would still be shown in scientific notation by Excel.
    """
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for p in payments:
        writer.writerow((
            safe_cell(p.case_reference), safe_cell(p.invoice_number), safe_cell(p.creditor_name), p.creditor_iban,
            p.creditor_bic or "", _german_amount(p.amount), p.currency, safe_cell(p.remittance),
            p.requested_date.strftime("%d.%m.%Y"), safe_cell(p.end_to_end_id),
        ))


def _german_amount(amount: Decimal) -> str:
    # Always at least cents, but never round away digits a non-EUR currency may carry.
    if amount.as_tuple().exponent > -2:  # type: ignore[operator]  # finite, checked in Payment
        amount = amount.quantize(_CENT)
    if amount == 0:
        amount = abs(amount)  # no "-0,00"
    return f"{amount:f}".replace(".", ",")


def write_pain001(payments: Iterable[Payment], debtor: Debtor, message_id: str, created_at: datetime,
                  out: BinaryIO, *, batch_booking: bool = True) -> None:
    """Writes a SEPA credit transfer initiation (pain.001.001.09) with one PmtInf per requested execution date.

    Every payment is checked before the first byte is written, so a refused payment (NotSepaPayable, or
    ValueError for a bad message id, an empty list or a repeated end-to-end id) leaves `out` untouched. The
    XML is streamed to `out` element by element. Names are cut to 70 and remittance text to 140 characters of
    the SEPA character set; amounts are written with exactly two decimals.
    """
    items = list(payments)
    if not items:
        raise ValueError("a pain.001 file needs at least one payment")
    if not _is_sepa_id(message_id):
        raise ValueError("message id must be 1-35 SEPA characters, without leading '/' or '//'")
    seen: set[str] = set()
    for p in items:
        check_sepa_payable(p)
        # The same id twice in one file most likely is the same invoice twice: a double payment.
        if p.end_to_end_id in seen:
            raise ValueError(f"end-to-end id {p.end_to_end_id!r} occurs twice")
        seen.add(p.end_to_end_id)
    by_date: dict[date, list[Payment]] = {}
    for p in items:
        by_date.setdefault(p.requested_date, []).append(p)

    debtor_name = sepa_text(debtor.name, NAME_MAX)
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        with xf.element(_q("Document"), {f"{{{_XSI}}}schemaLocation": f"{PAIN001_NAMESPACE} {PAIN001_VERSION}.xsd"},
                        nsmap={None: PAIN001_NAMESPACE, "xsi": _XSI}):
            with xf.element(_q("CstmrCdtTrfInitn")):
                with xf.element(_q("GrpHdr")):
                    _leaf(xf, "MsgId", message_id)
                    _leaf(xf, "CreDtTm", created_at.replace(microsecond=0).isoformat())
                    _leaf(xf, "NbOfTxs", str(len(items)))
                    _leaf(xf, "CtrlSum", _amount(sum((p.amount for p in items), Decimal(0))))
                    with xf.element(_q("InitgPty")):
                        _leaf(xf, "Nm", debtor_name)
                xf.write("\n")
                for execution_date in sorted(by_date):
                    _write_payment_info(xf, by_date[execution_date], execution_date, debtor, debtor_name,
                                        f"{message_id[:26]}-{execution_date:%Y%m%d}", batch_booking)


def _write_payment_info(xf: _XmlWriter, group: Sequence[Payment], execution_date: date, debtor: Debtor,
                        debtor_name: str, payment_info_id: str, batch_booking: bool) -> None:
    with xf.element(_q("PmtInf")):
        _leaf(xf, "PmtInfId", payment_info_id)
        _leaf(xf, "PmtMtd", "TRF")
        _leaf(xf, "BtchBookg", "true" if batch_booking else "false")
        _leaf(xf, "NbOfTxs", str(len(group)))
        _leaf(xf, "CtrlSum", _amount(sum((p.amount for p in group), Decimal(0))))
        with xf.element(_q("PmtTpInf")), xf.element(_q("SvcLvl")):
            _leaf(xf, "Cd", "SEPA")
        with xf.element(_q("ReqdExctnDt")):
            _leaf(xf, "Dt", execution_date.isoformat())
        with xf.element(_q("Dbtr")):
            _leaf(xf, "Nm", debtor_name)
        _account(xf, "DbtrAcct", debtor.iban)
        with xf.element(_q("DbtrAgt")), xf.element(_q("FinInstnId")):
            if debtor.bic:
                _leaf(xf, "BICFI", debtor.bic)
            else:
                # DK rules: without a BIC (optional within SEPA since 2016) the agent is stated as NOTPROVIDED.
                with xf.element(_q("Othr")):
                    _leaf(xf, "Id", "NOTPROVIDED")
        _leaf(xf, "ChrgBr", "SLEV")  # the only charge bearer code SEPA allows
        xf.write("\n")
        for p in group:
            _write_transaction(xf, p)
            xf.write("\n")
    xf.write("\n")


def _write_transaction(xf: _XmlWriter, p: Payment) -> None:
    with xf.element(_q("CdtTrfTxInf")):
        with xf.element(_q("PmtId")):
            _leaf(xf, "EndToEndId", p.end_to_end_id)
        with xf.element(_q("Amt")):
            _leaf(xf, "InstdAmt", _amount(p.amount), Ccy="EUR")
        if p.creditor_bic:
            with xf.element(_q("CdtrAgt")), xf.element(_q("FinInstnId")):
                _leaf(xf, "BICFI", p.creditor_bic)
        with xf.element(_q("Cdtr")):
            _leaf(xf, "Nm", sepa_text(p.creditor_name, NAME_MAX))
        _account(xf, "CdtrAcct", p.creditor_iban)
        remittance = sepa_text(p.remittance, REMITTANCE_MAX)
        if remittance:  # Ustrd must not be empty; RmtInf itself is optional
            with xf.element(_q("RmtInf")):
                _leaf(xf, "Ustrd", remittance)


def _account(xf: _XmlWriter, tag: str, iban: str) -> None:
    with xf.element(_q(tag)), xf.element(_q("Id")):
        _leaf(xf, "IBAN", iban)


def _leaf(xf: _XmlWriter, tag: str, text: str, **attrib: str) -> None:
    with xf.element(_q(tag), attrib):
        xf.write(text)


def _q(tag: str) -> str:
    return f"{{{PAIN001_NAMESPACE}}}{tag}"


def _amount(amount: Decimal) -> str:
    return f"{amount.quantize(_CENT):f}"
