"""Invoice lines (BG-25) and the buyer's name (BT-44): read from UBL, CII and ZUGFeRD/Factur-X, kept bounded in the
metadata, missing parts tolerated, unreadable numbers refused like every other amount."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from lxml import etree

from tests.workflows.invoice.conftest_parse import (FACTURX_PDF, NSMAP, TESTDATA, remove_element, set_text,
                                                    ubl_invoice_to_credit_note)
from workflows.invoice.checks import run_checks
from workflows.invoice.model import MAX_STORED_LINES, InvoiceLine
from workflows.invoice.parse import (MAX_CODE_TEXT, MAX_DISPLAY_TEXT, MalformedInvoice, parse_invoice_file,
                                     parse_invoice_xml)

XR = TESTDATA / "xrechnung"
UBL_0105 = XR / "01.05a-INVOICE_ubl.xml"
CII_0105 = XR / "01.05a-INVOICE_uncefact.xml"
ZUGFERD_RABATTE = TESTDATA / "zugferd" / "zugferd_2p1_EN16931_Rabatte.xml"
UBL_0101 = XR / "01.01a-INVOICE_ubl.xml"

SEMINAR = InvoiceLine(line_id="Seminar: […]", name="Seminar", quantity=Decimal("5"), unit_code="DAY",
                      net_price=Decimal("1340"), net_amount=Decimal("6700"), vat_category="S",
                      vat_rate=Decimal("19"))


@pytest.mark.parametrize("path", [UBL_0105, CII_0105], ids=lambda p: p.name)
def test_xrechnung_lines_in_both_syntaxes(path) -> None:  # type: ignore[no-untyped-def]
    data = parse_invoice_xml(path.read_bytes())
    assert data.buyer_name == "[Buyer name]"
    assert data.line_count == 4
    assert data.lines[0] == SEMINAR
    assert [(line.name, line.quantity, line.unit_code, line.net_amount) for line in data.lines[1:3]] == [
        ("Raumkosten", Decimal("5"), "DAY", Decimal("1500")),
        ("Reisekostenpauschale", Decimal("5"), "XPP", Decimal("450"))]
    assert data.line_net_amounts == [line.net_amount for line in data.lines]
    meta = data.to_metadata()
    assert meta["buyer_name"] == "[Buyer name]" and meta["line_count"] == 4
    assert meta["lines"][0] == {"line_id": "Seminar: […]", "name": "Seminar", "quantity": "5", "unit_code": "DAY",
                                "net_price": "1340", "net_amount": "6700.00", "vat_category": "S",
                                "vat_rate": "19"}
    json.dumps(meta)


def test_zugferd_unit_price_keeps_its_decimals() -> None:
    data = parse_invoice_xml(ZUGFERD_RABATTE.read_bytes())
    assert data.buyer_name == "Kunden AG Mitte"
    first = data.lines[0].to_metadata()
    # 3 m² at 3,3333 € are 10,00 €: a unit price rounded to cents would not add up.
    assert first == {"line_id": "1", "name": "Kunstrasen grün 3m breit", "quantity": "3.0000", "unit_code": "MTK",
                     "net_price": "3.3333", "net_amount": "10.00", "vat_category": "S", "vat_rate": "19.00"}
    assert data.lines[1].vat_rate == Decimal("7.00") and data.lines[1].unit_code == "KGM"


def test_facturx_pdf_lines() -> None:
    data = parse_invoice_file(FACTURX_PDF, "application/pdf")
    assert data is not None and data.source == "zugferd"
    assert data.buyer_name == "LE CLIENT"
    assert [line.to_metadata() for line in data.lines] == [
        {"line_id": "1", "name": "PRESTATION SUPPORT", "quantity": "1.0000", "unit_code": "C62",
         "net_price": "60.0000", "net_amount": "60.00", "vat_category": "E", "vat_rate": "0.00"},
        {"line_id": "2", "name": "FOURNITURES PAPIER", "quantity": "3.0000", "unit_code": "C62",
         "net_price": "30.0000", "net_amount": "28.00", "vat_category": "S", "vat_rate": "10.00"},
        {"line_id": "3", "name": "APPEL", "quantity": "1.0000", "unit_code": "C62",
         "net_price": "7.0000", "net_amount": "7.00", "vat_category": "S", "vat_rate": "20.00"}]


def test_credit_note_lines_use_credited_quantity() -> None:
    data = parse_invoice_xml(ubl_invoice_to_credit_note(UBL_0105.read_bytes()))
    assert data.syntax == "ubl-creditnote"
    assert data.lines[0] == SEMINAR


def test_vat_category_without_rate() -> None:
    (line,) = parse_invoice_xml((XR / "01.04a-INVOICE_ubl.xml").read_bytes()).lines
    assert (line.name, line.vat_category, line.vat_rate, line.net_amount) == (
        "Teilnahmegebühr", "O", None, Decimal("120"))


def test_buyer_name_falls_back_to_the_trading_name() -> None:
    xml = UBL_0101.read_bytes().replace(
        b"<cbc:RegistrationName>[Buyer name]</cbc:RegistrationName>", b"", 1).replace(
        b"<cac:PostalAddress>\n                <cbc:StreetName>[Buyer address line 1]",
        b"<cac:PartyName><cbc:Name>Stadt Musterhausen</cbc:Name></cac:PartyName>"
        b"<cac:PostalAddress>\n                <cbc:StreetName>[Buyer address line 1]", 1)
    assert parse_invoice_xml(xml).buyer_name == "Stadt Musterhausen"
    no_buyer = remove_element(UBL_0101.read_bytes(), "cac:AccountingCustomerParty")
    assert parse_invoice_xml(no_buyer).buyer_name is None


@pytest.mark.parametrize("path, line", [(UBL_0101, "cac:InvoiceLine"),
                                        (XR / "01.01a-INVOICE_uncefact.xml",
                                         "rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem")],
                         ids=["ubl", "cii"])
def test_invoice_without_lines(path, line) -> None:  # type: ignore[no-untyped-def]
    data = parse_invoice_xml(remove_element(path.read_bytes(), line))
    assert data.lines == [] and data.line_count == 0
    meta = data.to_metadata()
    assert meta["lines"] == [] and meta["line_count"] == 0
    assert {c.code: c.ok for c in run_checks(data)}["BR-16"] is False  # the check says so; parsing does not fail


def test_line_with_only_its_net_amount() -> None:
    xml = UBL_0101.read_bytes()
    for path in ("cac:InvoiceLine/cbc:ID", "cac:InvoiceLine/cbc:InvoicedQuantity", "cac:InvoiceLine/cac:Price",
                 "cac:InvoiceLine/cac:Item"):
        xml = remove_element(xml, path)
    lines = parse_invoice_xml(xml).lines
    assert lines[0] == InvoiceLine(None, None, None, None, None, Decimal("288.79"), None, None)
    assert lines[0].to_metadata()["net_amount"] == "288.79"


def test_quantity_without_unit_code_and_blank_unit_code() -> None:
    xml = UBL_0101.read_bytes().replace(b'<cbc:InvoicedQuantity unitCode="XPP">1<',
                                        b'<cbc:InvoicedQuantity unitCode=" ">1<', 1)
    assert parse_invoice_xml(xml).lines[0].unit_code is None


@pytest.mark.parametrize("path, bt", [("cac:InvoiceLine/cbc:InvoicedQuantity", "BT-129"),
                                      ("cac:InvoiceLine/cac:Price/cbc:PriceAmount", "BT-146"),
                                      ("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", "BT-152")])
def test_unreadable_line_number_refused(path: str, bt: str) -> None:
    with pytest.raises(MalformedInvoice, match=bt):
        parse_invoice_xml(set_text(UBL_0101.read_bytes(), path, "NaN"))


def test_overlong_item_name_is_cut() -> None:
    xml = set_text(UBL_0101.read_bytes(), "cac:InvoiceLine/cac:Item/cbc:Name", "x" * 100_000)
    name = parse_invoice_xml(xml).lines[0].name
    assert name is not None and len(name) == MAX_DISPLAY_TEXT and name.endswith("…")


def test_overlong_codes_are_cut() -> None:
    xml = set_text(UBL_0101.read_bytes(), "cac:InvoiceLine/cbc:ID", "7" * 10_000)
    xml = set_text(xml, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", "S" * 10_000)
    line = parse_invoice_xml(xml).lines[0]
    assert len(line.line_id or "") == MAX_CODE_TEXT and len(line.vat_category or "") == MAX_CODE_TEXT


@pytest.mark.parametrize("number", ["1" * 10_000, "1" * 19, "0." + "0" * 50 + "1"])
def test_absurd_numbers_in_a_line_are_refused_briefly(number: str) -> None:
    xml = set_text(UBL_0101.read_bytes(), "cac:InvoiceLine/cbc:InvoicedQuantity", number)
    with pytest.raises(MalformedInvoice, match="BT-129") as refused:
        parse_invoice_xml(xml)
    assert len(refused.value.message_de) < 300


def test_stored_lines_are_bounded_but_every_line_is_checked() -> None:
    root = etree.fromstring(UBL_0101.read_bytes())
    template = root.xpath("cac:InvoiceLine", namespaces=NSMAP)[-1]
    extra = MAX_STORED_LINES + 100
    for n in range(extra):
        copy = etree.fromstring(etree.tostring(template))
        copy.find("cbc:ID", NSMAP).text = f"L{n}"
        template.addnext(copy)
    data_lines = root.xpath("cac:InvoiceLine/cbc:LineExtensionAmount", namespaces=NSMAP)
    total = sum((Decimal(e.text) for e in data_lines), Decimal(0))
    root.xpath("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", namespaces=NSMAP)[0].text = str(total)
    data = parse_invoice_xml(etree.tostring(root))
    assert data.line_count == extra + 2
    meta = data.to_metadata()
    assert len(meta["lines"]) == MAX_STORED_LINES and meta["line_count"] == extra + 2
    assert meta["lines"][0]["name"] == "Zeitschrift [...]"
    checks = {c.code: c for c in run_checks(data)}
    assert checks["BR-CO-10"].ok  # the sum runs over all lines, not only the stored ones


def test_sum_of_lines_differing_from_bt106_is_reported() -> None:
    xml = set_text(UBL_0101.read_bytes(), "cac:InvoiceLine/cbc:LineExtensionAmount", "300.00")
    check = {c.code: c for c in run_checks(parse_invoice_xml(xml))}["BR-CO-10"]
    assert not check.ok and check.severity == "error"
    assert check.message_de == ("Summe der Positionsbeträge 326,07 EUR ≠ Summe der Positionen (BT-106) "
                                "314,86 EUR.")


def test_cii_sub_lines_are_not_listed() -> None:
    xml = (XR / "01.01a-INVOICE_uncefact.xml").read_bytes()
    sub_line = (b"<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1.1"
                b"</ram:LineID><ram:ParentLineID>1</ram:ParentLineID></ram:AssociatedDocumentLineDocument>"
                b"<ram:SpecifiedLineTradeSettlement><ram:SpecifiedTradeSettlementLineMonetarySummation>"
                b"<ram:LineTotalAmount>5.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>"
                b"</ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>")
    xml = xml.replace(b"<ram:ApplicableHeaderTradeAgreement>", sub_line + b"<ram:ApplicableHeaderTradeAgreement>", 1)
    assert [line.line_id for line in parse_invoice_xml(xml).lines] == ["Zeitschrift [...]", "Porto + Versandkosten"]
