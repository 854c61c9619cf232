"""Helpers for the invoice parsing and check tests: where the samples are, an independent XPath reading of the
EN 16931 fields (the oracle the parser is compared with), and ways to derive variants of the samples.

The oracle deliberately shares no code with workflows.invoice: its paths are the ones of DOMAIN.md §3 (refined
where EN 16931's binding is more precise: BT-31 only from the VAT tax scheme, BT-110 in the document currency),
written out once more here.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, cast

from lxml import etree

TESTDATA = Path(__file__).resolve().parents[2] / "data"
XRECHNUNG_FILES = sorted((TESTDATA / "xrechnung").glob("*.xml"))
ZUGFERD_XML_FILES = sorted((TESTDATA / "zugferd").glob("*.xml"))
FACTURX_PDF = TESTDATA / "zugferd" / "facturx_invoice_EN16931.pdf"
ALL_XML_FILES = XRECHNUNG_FILES + ZUGFERD_XML_FILES

UBL_INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CN = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NSMAP = {
    "ubl": UBL_INV,
    "cn": UBL_CN,
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}

CONTRACT_FIELDS = (
    "invoice_number", "issue_date", "type_code", "currency", "due_date", "buyer_reference", "payment_terms",
    "skonto", "seller_name", "seller_vat_id", "buyer_name", "iban", "line_total", "total_net", "total_vat",
    "total_gross", "prepaid", "amount_due", "lines", "line_count",
)
MONEY_FIELDS = ("line_total", "total_net", "total_vat", "total_gross", "prepaid", "amount_due")


def sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _strings(root: etree._Element, path: str) -> list[str]:
    values = ["".join(n.itertext()).strip() for n in root.xpath(path, namespaces=NSMAP)]
    return [v for v in values if v]


def _first(root: etree._Element, path: str) -> str | None:
    values = _strings(root, path)
    return values[0] if values else None


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _cii_date(text: str | None) -> date | None:
    return None if text is None else date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _iso_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text[:10])


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_skonto(payment_terms: str | None, issue: date, amount_due: Decimal) -> list[dict[str, Any]]:
    """XRechnung's Skonto convention read the plain way: split each '#SKONTO#…' line at '#' into KEY=VALUE."""
    terms = []
    for line in (payment_terms or "").split("\n"):
        line = line.strip()
        if not line.startswith("#SKONTO#"):
            continue
        pairs = dict(part.split("=", 1) for part in line.split("#") if "=" in part)
        days = int(pairs["TAGE"])
        percent = Decimal(pairs["PROZENT"])
        base = Decimal(pairs["BASISBETRAG"]) if "BASISBETRAG" in pairs else None
        terms.append({
            "days": days, "percent": percent, "base": base, "deadline": issue + timedelta(days=days),
            "amount": cents((base if base is not None else amount_due) * percent / 100),
        })
    return terms


def _attribute(root: etree._Element, path: str, name: str) -> str | None:
    nodes = root.xpath(path, namespaces=NSMAP)
    return nodes[0].get(name) if nodes else None


def expected_line(line: etree._Element, *, line_id: str, name: str, quantity: str, price: str, amount: str,
                  tax: str, category: str, rate: str) -> dict[str, Any]:
    """One invoice line (BG-25) as a dict like vars(InvoiceLine), with the given paths relative to the line."""
    return {
        "line_id": _first(line, line_id), "name": _first(line, name), "quantity": _dec(_first(line, quantity)),
        "unit_code": _attribute(line, quantity, "unitCode"), "net_price": _dec(_first(line, price)),
        "net_amount": _dec(_first(line, amount)), "vat_category": _first(line, f"{tax}/{category}"),
        "vat_rate": _dec(_first(line, f"{tax}/{rate}")),
    }


def expected_fields(xml: bytes) -> dict[str, Any]:
    """Every field of InvoiceData read straight from the XML with XPath."""
    root = etree.fromstring(xml)
    ns = etree.QName(root).namespace
    out: dict[str, Any] = {}
    if ns in (UBL_INV, UBL_CN):
        credit = ns == UBL_CN
        line = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
        currency = _first(root, "cbc:DocumentCurrencyCode")
        notes = _strings(root, "cac:PaymentTerms/cbc:Note")
        due = _first(root, "cbc:DueDate") or (_first(root, "cac:PaymentMeans/cbc:PaymentDueDate") if credit else None)
        iban = _first(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
        out.update(
            syntax="ubl-creditnote" if credit else "ubl-invoice",
            invoice_number=_first(root, "cbc:ID"),
            issue_date=_iso_date(_first(root, "cbc:IssueDate")),
            type_code=_first(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode"),
            currency=currency,
            due_date=_iso_date(due),
            buyer_reference=_first(root, "cbc:BuyerReference"),
            payment_terms="\n".join(notes) if notes else None,
            seller_name=_first(root, "cac:AccountingSupplierParty//cac:PartyLegalEntity/cbc:RegistrationName"),
            seller_vat_id=_first(root, "cac:AccountingSupplierParty//cac:PartyTaxScheme"
                                       "[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"),
            iban=iban.replace(" ", "") if iban else None,
            line_total=_dec(_first(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount")),
            total_net=_dec(_first(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")),
            total_vat=_dec(_first(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']")),
            total_gross=_dec(_first(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")),
            prepaid=_dec(_first(root, "cac:LegalMonetaryTotal/cbc:PrepaidAmount")) or Decimal(0),
            amount_due=_dec(_first(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")),
            line_net_amounts=[Decimal(v) for v in _strings(root, f"{line}/cbc:LineExtensionAmount")],
            buyer_name=(_first(root, "cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:RegistrationName")
                        or _first(root, "cac:AccountingCustomerParty//cac:PartyName/cbc:Name")),
            lines=[expected_line(element, line_id="cbc:ID", name="cac:Item/cbc:Name",
                                 quantity="cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
                                 price="cac:Price/cbc:PriceAmount", amount="cbc:LineExtensionAmount",
                                 tax="cac:Item/cac:ClassifiedTaxCategory", category="cbc:ID", rate="cbc:Percent")
                   for element in root.xpath(line, namespaces=NSMAP)],
        )
    elif ns == CII:
        settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
        sums = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
        agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
        currency = _first(root, f"{settlement}/ram:InvoiceCurrencyCode")
        notes = _strings(root, f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:Description")
        iban = _first(root, f"{settlement}//ram:PayeePartyCreditorFinancialAccount/ram:IBANID")
        out.update(
            syntax="cii",
            invoice_number=_first(root, "rsm:ExchangedDocument/ram:ID"),
            issue_date=_cii_date(_first(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")),
            type_code=_first(root, "rsm:ExchangedDocument/ram:TypeCode"),
            currency=currency,
            due_date=_cii_date(_first(root, f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime"
                                            "/udt:DateTimeString")),
            buyer_reference=_first(root, f"{agreement}/ram:BuyerReference"),
            payment_terms="\n".join(notes) if notes else None,
            seller_name=_first(root, f"{agreement}/ram:SellerTradeParty/ram:Name"),
            seller_vat_id=_first(root, f"{agreement}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration"
                                       "/ram:ID[@schemeID='VA']"),
            iban=iban.replace(" ", "") if iban else None,
            line_total=_dec(_first(root, f"{sums}/ram:LineTotalAmount")),
            total_net=_dec(_first(root, f"{sums}/ram:TaxBasisTotalAmount")),
            total_vat=_dec(_first(root, f"{sums}/ram:TaxTotalAmount[@currencyID='{currency}']")),
            total_gross=_dec(_first(root, f"{sums}/ram:GrandTotalAmount")),
            prepaid=_dec(_first(root, f"{sums}/ram:TotalPrepaidAmount")) or Decimal(0),
            amount_due=_dec(_first(root, f"{sums}/ram:DuePayableAmount")),
            line_net_amounts=[Decimal(v) for v in _strings(
                root, "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem"
                      "/ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation"
                      "/ram:LineTotalAmount")],
            buyer_name=_first(root, f"{agreement}/ram:BuyerTradeParty/ram:Name"),
            lines=[expected_line(element, line_id="ram:AssociatedDocumentLineDocument/ram:LineID",
                                 name="ram:SpecifiedTradeProduct/ram:Name",
                                 quantity="ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
                                 price="ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
                                       "/ram:ChargeAmount",
                                 amount="ram:SpecifiedLineTradeSettlement"
                                        "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                                 tax="ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax",
                                 category="ram:CategoryCode", rate="ram:RateApplicablePercent")
                   for element in root.xpath("rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem",
                                             namespaces=NSMAP)],
        )
    else:
        raise AssertionError(f"not an invoice sample: {root.tag}")
    out["skonto"] = expected_skonto(out["payment_terms"], out["issue_date"], out["amount_due"])
    out["line_count"] = len(out["lines"])
    return out


def expected_metadata(fields: dict[str, Any]) -> dict[str, Any]:
    """What to_metadata should render for the oracle's fields."""
    meta: dict[str, Any] = {}
    for name in CONTRACT_FIELDS:
        value = fields[name]
        if name == "skonto":
            meta[name] = [{
                "days": t["days"], "percent": str(cents(t["percent"])),
                "base": None if t["base"] is None else str(cents(t["base"])),
                "deadline": t["deadline"].isoformat(), "amount": str(cents(t["amount"])),
            } for t in value]
        elif name == "lines":  # amounts in cents, quantity, unit price and rate as written
            meta[name] = [{**line, **{k: None if line[k] is None else str(line[k])
                                      for k in ("quantity", "net_price", "vat_rate")},
                           "net_amount": str(cents(line["net_amount"]))} for line in value]
        elif isinstance(value, Decimal):
            meta[name] = str(cents(value))
        elif isinstance(value, date):
            meta[name] = value.isoformat()
        else:
            meta[name] = value
    return meta


def pdf_embedded_xml_independently(pdf: Path) -> bytes:
    """The factur-x.xml of a Factur-X PDF, read with pypdf's attachment mapping (not with the code under test)."""
    from pypdf import PdfReader

    contents = PdfReader(pdf).attachments["factur-x.xml"]
    assert len(contents) == 1
    return contents[0]


# ------------------------------------------------------------------------------------------------ variants

def tamper_amount(xml: bytes, element: str, delta: Decimal) -> tuple[bytes, Decimal]:
    """The XML with the first `element` (e.g. b'cbc:TaxInclusiveAmount') changed by `delta`; also the new value."""
    pattern = re.compile(rb"(<" + re.escape(element.encode()) + rb"(?:\s[^>]*)?>)\s*([^<]+?)\s*(</)")
    match = pattern.search(xml)
    assert match is not None, f"{element} not in sample"
    new_value = Decimal(match.group(2).decode()) + delta
    changed = xml[:match.start(2)] + str(new_value).encode() + xml[match.end(2):]
    return changed, new_value


def remove_element(xml: bytes, xpath: str) -> bytes:
    root = etree.fromstring(xml)
    nodes = root.xpath(xpath, namespaces=NSMAP)
    assert nodes, f"{xpath} not in sample"
    for node in nodes:
        node.getparent().remove(node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def set_text(xml: bytes, xpath: str, text: str) -> bytes:
    root = etree.fromstring(xml)
    nodes = root.xpath(xpath, namespaces=NSMAP)
    assert nodes, f"{xpath} not in sample"
    nodes[0].text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def ubl_invoice_to_credit_note(xml: bytes) -> bytes:
    """A UBL 2.1 CreditNote made from a UBL Invoice sample: the renames the CreditNote schema demands, and BT-9
    moved to cac:PaymentMeans/cbc:PaymentDueDate, where the EN 16931 binding puts it for credit notes."""
    root = etree.fromstring(xml)
    cbc, cac = NSMAP["cbc"], NSMAP["cac"]
    renames = {
        f"{{{UBL_INV}}}Invoice": f"{{{UBL_CN}}}CreditNote",
        f"{{{cbc}}}InvoiceTypeCode": f"{{{cbc}}}CreditNoteTypeCode",
        f"{{{cac}}}InvoiceLine": f"{{{cac}}}CreditNoteLine",
        f"{{{cbc}}}InvoicedQuantity": f"{{{cbc}}}CreditedQuantity",
    }
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag in renames:
            node.tag = renames[node.tag]
    type_code = root.find(f"{{{cbc}}}CreditNoteTypeCode")
    type_code.text = "381"
    due = root.find(f"{{{cbc}}}DueDate")
    if due is not None:
        root.remove(due)
        means = root.find(f"{{{cac}}}PaymentMeans")
        moved = etree.SubElement(means, f"{{{cbc}}}PaymentDueDate")
        moved.text = due.text
        means.insert(1, moved)
    tree = etree.ElementTree(root)
    etree.cleanup_namespaces(tree)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def pdf_with_attachments(files: dict[str, bytes], *, af_only: bool = False, password: str | None = None) -> bytes:
    """A one-page PDF made with pypdf carrying `files` as embedded files: in the EmbeddedFiles name tree, or
    (af_only) reachable only through the catalog's /AF array as some PDF/A-3 producers write it."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    for name, data in files.items():
        writer.add_attachment(name, data)
    if af_only and files:
        name_tree = cast(DictionaryObject, cast(DictionaryObject, writer.root_object["/Names"])["/EmbeddedFiles"])
        names = cast(ArrayObject, name_tree["/Names"])
        writer.root_object[NameObject("/AF")] = ArrayObject(names[1::2])
        del writer.root_object["/Names"]
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
