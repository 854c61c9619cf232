"""Reading e-invoices: XRechnung / EN 16931 in UBL 2.1 (Invoice, CreditNote) or UN/CEFACT CII, bare or embedded
in a ZUGFeRD 2.x / Factur-X PDF.

Invoices arrive from outside, so the XML parser is locked down (no DTDs, no entities, no network) and a document
with a DOCTYPE is refused outright: EN 16931 documents are defined by XSD and never carry one.
"""
from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from workflows.invoice.model import InvoiceData, InvoiceLine, SkontoTerm, Source, money

__all__ = [
    "InvoiceError", "MalformedInvoice", "NotAnInvoice", "EMBEDDED_XML_NAMES", "MAX_XML_BYTES", "XML_MIMES",
    "embedded_invoice_xml", "parse_invoice_file", "parse_invoice_xml", "parse_skonto",
]

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": CII_NS,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}

# Real invoices are a few hundred kB even with thousands of lines; anything far larger is an attack or an error.
MAX_XML_BYTES = 20 * 1024 * 1024
# Compared case-insensitively; ZUGFeRD 1 used "ZUGFeRD-invoice.xml", ZUGFeRD 2.x/Factur-X "factur-x.xml",
# the XRECHNUNG profile often "xrechnung.xml". Earlier names in the tuple win when a PDF carries several.
EMBEDDED_XML_NAMES: tuple[str, ...] = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
XML_MIMES = frozenset({"application/xml", "text/xml"})
PDF_MIME = "application/pdf"


class InvoiceError(Exception):
    """A file that was offered as an e-invoice cannot be read as one; `message_de` is shown to the clerk."""

    def __init__(self, message: str, message_de: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_de = message_de


class MalformedInvoice(InvoiceError):
    """Not well-formed XML, refused XML constructs, or an EN 16931 mandatory element missing or unreadable."""


class NotAnInvoice(InvoiceError):
    """Well-formed XML, but its root is neither a UBL Invoice/CreditNote nor a CII CrossIndustryInvoice."""


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not safe to share between threads. Comments and processing
    # instructions go at parse time so that itertext() never mixes their text into a value.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def _load_xml(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise MalformedInvoice(f"XML larger than {MAX_XML_BYTES // (1024 * 1024)} MiB",
                               f"XML-Datei größer als {MAX_XML_BYTES // (1024 * 1024)} MiB")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedInvoice(f"not well-formed XML: {exc}", f"Kein wohlgeformtes XML: {exc}") from exc
    if root is None:  # lxml returns None for some recoverable-but-empty inputs
        raise MalformedInvoice("empty XML document", "Leeres XML-Dokument")
    if root.getroottree().docinfo.doctype:
        # Entities are not expanded by the parser above, but refusing the whole construct means no later code
        # (a serialiser, another parser) can ever expand them either.
        raise MalformedInvoice("XML with a DOCTYPE declaration is refused (DTDs and entities are not allowed "
                               "in e-invoices)",
                               "XML mit DOCTYPE-Deklaration wird abgelehnt (DTDs und Entitäten sind in "
                               "E-Rechnungen nicht zulässig)")
    return root


# ---------------------------------------------------------------------------------------------- value readers

_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")  # xsd:decimal; keeps out NaN, Infinity and exponents
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")  # xsd:date; the zone is ignored
_DATE_102_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")


@functools.lru_cache(maxsize=256)
def _xpath(path: str) -> etree.XPath:
    """A path compiled once: an invoice's lines ask the same few paths of every line, and compiling each time
    made an invoice of many (hostile: hundreds of thousands of) lines several times slower to read."""
    return etree.XPath(path, namespaces=NS)


class _Reader:
    """XPath access relative to one context element, with errors that name the business term and path."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root

    def texts(self, path: str, context: etree._Element | None = None) -> list[str]:
        nodes = _xpath(path)(context if context is not None else self.root)
        out = []
        for node in nodes:
            text = node if isinstance(node, str) else "".join(node.itertext())
            text = text.strip()
            if text:
                out.append(text)
        return out

    def text(self, path: str, context: etree._Element | None = None) -> str | None:
        found = self.texts(path, context)
        return found[0] if found else None

    def required(self, path: str, bt: str) -> str:
        value = self.text(path)
        if value is None:
            raise MalformedInvoice(f"mandatory element {bt} missing: {path}",
                                   f"Pflichtelement {bt} fehlt: {path}")
        return value


# xsd:decimal has no length limit, but no invoice figure needs more: a longer "number" (a hostile invoice may have
# hundreds of them in its lines) would only cost memory, and 10^18 and more cannot be rounded to cents.
MAX_DECIMAL_CHARS = 40
MAX_DECIMAL_DIGITS_BEFORE_POINT = 18


def _decimal(text: str, bt: str, path: str) -> Decimal:
    if len(text) > MAX_DECIMAL_CHARS or not _DECIMAL_RE.fullmatch(text):
        shown = text if len(text) <= MAX_DECIMAL_CHARS else text[:MAX_DECIMAL_CHARS] + "…"
        raise MalformedInvoice(f"{bt} ({path}) is not a decimal number: {shown!r}",
                               f"{bt} ({path}) ist keine Dezimalzahl: {shown!r}")
    value = Decimal(text)
    if value and value.adjusted() >= MAX_DECIMAL_DIGITS_BEFORE_POINT:
        raise MalformedInvoice(f"{bt} ({path}) is too large: {text!r}", f"{bt} ({path}) ist zu groß: {text!r}")
    return value


def _date(text: str, pattern: re.Pattern[str], bt: str, path: str) -> date:
    match = pattern.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise MalformedInvoice(f"{bt} ({path}) is not a valid date: {text!r}",
                               f"{bt} ({path}) ist kein gültiges Datum: {text!r}") from None


def _iban(text: str | None) -> str | None:
    if text is None:
        return None
    compact = re.sub(r"\s+", "", text).upper()
    return compact or None


def _notes(texts: list[str]) -> str | None:
    return "\n".join(texts) if texts else None


# Texts shown to the approver but not needed to pay (item names, the buyer's name) are cut to this length, the
# case fields' default limit: a supplier's overlong item description neither refuses the invoice nor bloats the
# stored metadata (the full text stays in the XML).
MAX_DISPLAY_TEXT = 500
MAX_CODE_TEXT = 100  # line ids and codes (unit, VAT category); real ones are a few characters


def _clip(text: str | None, limit: int = MAX_DISPLAY_TEXT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit - 1] + "…"


def _optional_decimal(reader: _Reader, path: str, context: etree._Element, bt: str, where: str) -> Decimal | None:
    """A number of a line that may be missing (None); one that is there but no number refuses the invoice, as
    for every other amount."""
    text = reader.text(path, context)
    return None if text is None else _decimal(text, bt, f"{where}/{path}")


@dataclass(frozen=True)
class _LinePaths:
    """Where a syntax keeps the parts of an invoice line (BG-25), relative to the line element."""

    where: str  # the line element's path, for error messages
    line_id: str  # BT-126
    name: str  # BT-153
    quantity: str  # BT-129, its unitCode attribute is BT-130
    net_price: str  # BT-146
    net_amount: str  # BT-131
    vat_category: str  # BT-151
    vat_rate: str  # BT-152


def _invoice_lines(reader: _Reader, elements: list[etree._Element], paths: _LinePaths) -> list[InvoiceLine]:
    lines = []
    for element in elements:
        amount = reader.text(paths.net_amount, element)
        if amount is None:
            where = f"{paths.where}/{paths.net_amount}"
            raise MalformedInvoice(f"mandatory element BT-131 missing: {where}",
                                   f"Pflichtelement BT-131 fehlt: {where}")
        quantity = _xpath(paths.quantity)(element)
        unit_code = quantity[0].get("unitCode") if quantity else None
        lines.append(InvoiceLine(
            line_id=_clip(reader.text(paths.line_id, element), MAX_CODE_TEXT),
            name=_clip(reader.text(paths.name, element)),
            quantity=_optional_decimal(reader, paths.quantity, element, "BT-129", paths.where),
            unit_code=_clip(unit_code.strip() or None, MAX_CODE_TEXT) if unit_code else None,
            net_price=_optional_decimal(reader, paths.net_price, element, "BT-146", paths.where),
            net_amount=_decimal(amount, "BT-131", f"{paths.where}/{paths.net_amount}"),
            vat_category=_clip(reader.text(paths.vat_category, element), MAX_CODE_TEXT),
            vat_rate=_optional_decimal(reader, paths.vat_rate, element, "BT-152", paths.where),
        ))
    return lines


# --------------------------------------------------------------------------------------------------- Skonto

_SKONTO_RE = re.compile(
    r"#SKONTO#TAGE=(?P<days>\d{1,4})#PROZENT=(?P<percent>\d{1,3}(?:\.\d+)?)#"
    r"(?:BASISBETRAG=(?P<base>-?\d+(?:\.\d+)?)#)?")


def parse_skonto(payment_terms: str | None, issue_date: date | None,
                 amount_due: Decimal | None) -> list[SkontoTerm]:
    """The Skonto terms in BT-20 (XRechnung, BR-DE-18): one `#SKONTO#TAGE=n#PROZENT=p#[BASISBETRAG=b#]` per line.

    Lines that are not Skonto terms (free text) are skipped; the segment keywords are upper case by the
    XRechnung specification but matched case-insensitively, since suppliers' generators are not all strict.
    The discount amount uses the BASISBETRAG where given, else the amount due for payment (BT-115).
    """
    if not payment_terms:
        return []
    terms = []
    for line in payment_terms.splitlines():
        match = _SKONTO_RE.fullmatch(line.strip().upper())
        if match is None:
            continue
        days = int(match["days"])
        percent = Decimal(match["percent"])
        base = Decimal(match["base"]) if match["base"] is not None else None
        effective_base = base if base is not None else amount_due
        terms.append(SkontoTerm(
            days=days,
            percent=percent,
            base=base,
            deadline=issue_date + timedelta(days=days) if issue_date is not None else None,
            amount=money(effective_base * percent / 100) if effective_base is not None else None,
        ))
    return terms


# ------------------------------------------------------------------------------------------------ the syntaxes

def _document_tax_total(candidates: list[tuple[etree._Element, bool]], currency: str) -> etree._Element | None:
    """BT-110 among the tax totals: UBL and CII may state the VAT twice, once in the document currency (BT-110)
    and once in the VAT accounting currency (BT-111). The one in the document currency counts; failing a
    currencyID, the one that carries the breakdown (UBL TaxSubtotal), failing that the first."""
    if not candidates:
        return None
    for amount, _ in candidates:
        if amount.get("currencyID") == currency:
            return amount
    without_currency = [c for c in candidates if c[0].get("currencyID") is None]
    pool = without_currency or candidates
    for amount, has_breakdown in pool:
        if has_breakdown:
            return amount
    return pool[0][0]


def _money_required(reader: _Reader, path: str, bt: str) -> Decimal:
    return _decimal(reader.required(path, bt), bt, path)


def _money_optional(reader: _Reader, path: str, bt: str) -> Decimal:
    """An amount EN 16931 lets the invoice leave out where it is zero (prepaid, rounding)."""
    text = reader.text(path)
    return Decimal(0) if text is None else _decimal(text, bt, path)


def _parse_ubl(reader: _Reader, credit_note: bool, source: Source) -> InvoiceData:
    r = reader
    currency = r.required("cbc:DocumentCurrencyCode", "BT-5")
    issue_date = _date(r.required("cbc:IssueDate", "BT-2"), _ISO_DATE_RE, "BT-2", "cbc:IssueDate")

    due_path = "cbc:DueDate"
    due_text = r.text(due_path)
    if due_text is None and credit_note:
        # UBL 2.1 CreditNote has no DueDate; the EN 16931 binding puts BT-9 into the payment means there.
        due_path = "cac:PaymentMeans/cbc:PaymentDueDate"
        due_text = r.text(due_path)
    due_date = _date(due_text, _ISO_DATE_RE, "BT-9", due_path) if due_text else None

    tax_totals = [(amount, bool(total.xpath("cac:TaxSubtotal", namespaces=NS)))
                  for total in r.root.xpath("cac:TaxTotal", namespaces=NS)
                  for amount in total.xpath("cbc:TaxAmount", namespaces=NS)]
    tax_amount = _document_tax_total(tax_totals, currency)
    total_vat = None
    if tax_amount is not None and (tax_amount.text or "").strip():
        total_vat = _decimal(tax_amount.text.strip(), "BT-110", "cac:TaxTotal/cbc:TaxAmount")

    line_tag = "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine"
    tax = "cac:Item/cac:ClassifiedTaxCategory"
    lines = _invoice_lines(
        r, r.root.xpath(line_tag, namespaces=NS),  # direct children only: sub-lines are not summed in BT-106
        _LinePaths(where=line_tag, line_id="cbc:ID", name="cac:Item/cbc:Name",
                   quantity="cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity",
                   net_price="cac:Price/cbc:PriceAmount", net_amount="cbc:LineExtensionAmount",
                   vat_category=f"{tax}/cbc:ID", vat_rate=f"{tax}/cbc:Percent"))

    payment_terms = _notes(r.texts("cac:PaymentTerms/cbc:Note"))
    amount_due = _money_required(r, "cac:LegalMonetaryTotal/cbc:PayableAmount", "BT-115")
    supplier = "cac:AccountingSupplierParty/cac:Party"
    customer = "cac:AccountingCustomerParty/cac:Party"
    return InvoiceData(
        invoice_number=r.required("cbc:ID", "BT-1"),
        issue_date=issue_date,
        type_code=r.required("cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode", "BT-3"),
        currency=currency,
        due_date=due_date,
        buyer_reference=r.text("cbc:BuyerReference"),
        payment_terms=payment_terms,
        skonto=parse_skonto(payment_terms, issue_date, amount_due),
        seller_name=r.required(f"{supplier}/cac:PartyLegalEntity/cbc:RegistrationName", "BT-27"),
        # PartyTaxScheme also carries the tax number (BT-32) under another scheme; only the VAT one is BT-31.
        seller_vat_id=r.text(f"{supplier}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"),
        # BT-44 is bound to the registration name; older generators put the buyer only into the trading name.
        buyer_name=_clip(r.text(f"{customer}/cac:PartyLegalEntity/cbc:RegistrationName")
                         or r.text(f"{customer}/cac:PartyName/cbc:Name")),
        iban=_iban(r.text("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")),
        line_total=_money_required(r, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "BT-106"),
        total_net=_money_required(r, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "BT-109"),
        total_vat=total_vat,
        total_gross=_money_required(r, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "BT-112"),
        prepaid=_money_optional(r, "cac:LegalMonetaryTotal/cbc:PrepaidAmount", "BT-113"),
        amount_due=amount_due,
        syntax="ubl-creditnote" if credit_note else "ubl-invoice",
        source=source,
        line_net_amounts=[line.net_amount for line in lines],
        lines=lines,
        payment_means_code=r.text("cac:PaymentMeans/cbc:PaymentMeansCode"),
        rounding_amount=_money_optional(r, "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount", "BT-114"),
    )


def _cii_date(reader: _Reader, path: str, bt: str) -> date | None:
    """A udt:DateTimeString; EN 16931 allows only format 102 (YYYYMMDD) for BT-2 and BT-9."""
    nodes = reader.root.xpath(path, namespaces=NS)
    if not nodes or not "".join(nodes[0].itertext()).strip():
        return None
    node = nodes[0]
    fmt = node.get("format", "102")
    if fmt != "102":
        raise MalformedInvoice(f"{bt} ({path}) has date format {fmt!r}, EN 16931 requires 102 (YYYYMMDD)",
                               f"{bt} ({path}) hat Datumsformat {fmt!r}, EN 16931 verlangt 102 (JJJJMMTT)")
    return _date("".join(node.itertext()).strip(), _DATE_102_RE, bt, path)


def _parse_cii(reader: _Reader, source: Source) -> InvoiceData:
    r = reader
    doc = "rsm:ExchangedDocument"
    agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    sums = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"

    currency = r.required(f"{settlement}/ram:InvoiceCurrencyCode", "BT-5")
    issue_path = f"{doc}/ram:IssueDateTime/udt:DateTimeString"
    issue_date = _cii_date(r, issue_path, "BT-2")
    if issue_date is None:
        raise MalformedInvoice(f"mandatory element BT-2 missing: {issue_path}",
                               f"Pflichtelement BT-2 fehlt: {issue_path}")

    tax_amounts = [(amount, False) for amount in r.root.xpath(f"{sums}/ram:TaxTotalAmount", namespaces=NS)]
    tax_amount = _document_tax_total(tax_amounts, currency)
    total_vat = None
    if tax_amount is not None and (tax_amount.text or "").strip():
        total_vat = _decimal(tax_amount.text.strip(), "BT-110", f"{sums}/ram:TaxTotalAmount")

    # Lines with a ParentLineID are sub-lines (XRechnung extension, ZUGFeRD EXTENDED): informative detail of a
    # line that is already counted, so they stay out of the BT-106 sum.
    line_items = r.root.xpath(
        "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
        "[not(ram:AssociatedDocumentLineDocument/ram:ParentLineID)]", namespaces=NS)
    line_settlement = "ram:SpecifiedLineTradeSettlement"
    line_tax = f"{line_settlement}/ram:ApplicableTradeTax"
    lines = _invoice_lines(r, line_items, _LinePaths(
        where="ram:IncludedSupplyChainTradeLineItem",
        line_id="ram:AssociatedDocumentLineDocument/ram:LineID", name="ram:SpecifiedTradeProduct/ram:Name",
        quantity="ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
        net_price="ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",
        net_amount=f"{line_settlement}/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
        vat_category=f"{line_tax}/ram:CategoryCode", vat_rate=f"{line_tax}/ram:RateApplicablePercent"))

    payment_terms = _notes(r.texts(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:Description"))
    amount_due = _money_required(r, f"{sums}/ram:DuePayableAmount", "BT-115")
    seller = f"{agreement}/ram:SellerTradeParty"
    account = f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount"
    return InvoiceData(
        invoice_number=r.required(f"{doc}/ram:ID", "BT-1"),
        issue_date=issue_date,
        type_code=r.required(f"{doc}/ram:TypeCode", "BT-3"),
        currency=currency,
        due_date=_cii_date(r, f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
                           "BT-9"),
        buyer_reference=r.text(f"{agreement}/ram:BuyerReference"),
        payment_terms=payment_terms,
        skonto=parse_skonto(payment_terms, issue_date, amount_due),
        seller_name=r.required(f"{seller}/ram:Name", "BT-27"),
        seller_vat_id=r.text(f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
        buyer_name=_clip(r.text(f"{agreement}/ram:BuyerTradeParty/ram:Name")),
        # BT-84 is the IBAN where there is one, else a proprietary account id (same as UBL's single cbc:ID).
        iban=_iban(r.text(f"({account}/ram:IBANID | {account}/ram:ProprietaryID)")),
        line_total=_money_required(r, f"{sums}/ram:LineTotalAmount", "BT-106"),
        total_net=_money_required(r, f"{sums}/ram:TaxBasisTotalAmount", "BT-109"),
        total_vat=total_vat,
        total_gross=_money_required(r, f"{sums}/ram:GrandTotalAmount", "BT-112"),
        prepaid=_money_optional(r, f"{sums}/ram:TotalPrepaidAmount", "BT-113"),
        amount_due=amount_due,
        syntax="cii",
        source=source,
        line_net_amounts=[line.net_amount for line in lines],
        lines=lines,
        payment_means_code=r.text(f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode"),
        rounding_amount=_money_optional(r, f"{sums}/ram:RoundingAmount", "BT-114"),
    )


_SYNTAXES: dict[tuple[str, str], Callable[[_Reader, Source], InvoiceData]] = {
    (UBL_INVOICE_NS, "Invoice"): lambda r, s: _parse_ubl(r, False, s),
    (UBL_CREDITNOTE_NS, "CreditNote"): lambda r, s: _parse_ubl(r, True, s),
    (CII_NS, "CrossIndustryInvoice"): _parse_cii,
}


def parse_invoice_xml(data: bytes, *, source: Source = "xrechnung") -> InvoiceData:
    """The EN 16931 core of an XRechnung / ZUGFeRD XML document.

    Raises MalformedInvoice (not well-formed, DOCTYPE, a mandatory element missing or unreadable) or
    NotAnInvoice (well-formed, but another kind of document). `source` is "zugferd" when the XML came out of a
    PDF. The document is not validated against XSD or Schematron; `checks.run_checks` covers what the approver
    needs to see.
    """
    root = _load_xml(data)
    qname = etree.QName(root)
    parse = _SYNTAXES.get((qname.namespace or "", qname.localname))
    if parse is None:
        found = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
        raise NotAnInvoice(
            f"root element {found} is not a UBL Invoice/CreditNote or a UN/CEFACT CrossIndustryInvoice",
            f"Wurzelelement {found} ist keine UBL-Invoice/CreditNote und keine UN/CEFACT-CrossIndustryInvoice")
    return parse(_Reader(root), source)


# ------------------------------------------------------------------------------------------------------- PDF

def _embedded_files(reader: PdfReader, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """(lower-case file name, content) of the embedded files whose name is in `wanted`: first from the
    EmbeddedFiles name tree (via pypdf), then from the catalog's /AF array, which PDF/A-3 requires and which some
    generators fill without a name tree. Only matching files are decompressed."""
    attachments = reader.attachments
    for name in list(attachments):
        if name.lower() in wanted:
            for content in attachments[name]:
                yield name.lower(), content
    af = reader.root_object.get("/AF")
    specs = af.get_object() if af is not None else None
    if not isinstance(specs, ArrayObject):
        return
    for ref in specs:
        spec = ref.get_object()
        if not isinstance(spec, DictionaryObject):
            continue
        names = {str(spec[key]).lower() for key in ("/UF", "/F") if key in spec} & wanted
        ef = spec.get("/EF")
        ef = ef.get_object() if ef is not None else None
        if not names or not isinstance(ef, DictionaryObject):
            continue
        stream = (ef.get("/UF") or ef.get("/F"))
        stream = stream.get_object() if stream is not None else None
        if isinstance(stream, StreamObject):
            yield min(names, key=EMBEDDED_XML_NAMES.index), stream.get_data()


def embedded_invoice_xml(pdf: str | os.PathLike[str] | bytes) -> bytes | None:
    """The invoice XML embedded in a ZUGFeRD / Factur-X / XRechnung PDF (a path or the PDF's bytes), or None.

    None also for PDFs pypdf cannot read (broken, or encrypted with a password other than the empty one): such
    a file cannot be an e-invoice to us, and the clerk enters its figures like for any plain PDF. A missing file
    raises OSError as usual.
    """
    raw = bytes(pdf) if isinstance(pdf, (bytes, bytearray)) else Path(pdf).read_bytes()
    # pypdf signals damaged input with many exception types (its own, ValueError, KeyError, AttributeError,
    # RecursionError…); all of them mean "unreadable" here, which is why the net is wide.
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        found = [(EMBEDDED_XML_NAMES.index(name), content)
                 for name, content in _embedded_files(reader, set(EMBEDDED_XML_NAMES)) if content]
    except Exception:  # noqa: BLE001 - see above
        return None
    return min(found, key=lambda item: item[0])[1] if found else None


def parse_invoice_file(path: str | os.PathLike[str], mime: str) -> InvoiceData | None:
    """The invoice data of an uploaded file, or None where the file carries none (plain PDF, scan, image).

    XML (application/xml, text/xml, */*+xml) is parsed and may raise MalformedInvoice / NotAnInvoice. A PDF
    with an embedded invoice XML is parsed with source="zugferd"; a malformed embedded XML raises
    MalformedInvoice (the supplier sent a broken e-invoice, worth telling), but an embedded XML that is not an
    EN 16931 invoice at all (e.g. ZUGFeRD 1.0's CrossIndustryDocument) gives None: the PDF is then handled like
    a plain PDF.
    """
    base_mime = mime.split(";", 1)[0].strip().lower()
    if base_mime in XML_MIMES or base_mime.endswith("+xml"):
        with open(path, "rb") as fh:
            # One byte over the limit is enough for parse_invoice_xml to refuse it; no need to read a huge file.
            return parse_invoice_xml(fh.read(MAX_XML_BYTES + 1))
    if base_mime == PDF_MIME:
        xml = embedded_invoice_xml(path)
        if xml is None:
            return None
        try:
            return parse_invoice_xml(xml, source="zugferd")
        except NotAnInvoice:
            return None
    return None
