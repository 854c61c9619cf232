"""Invoice parsing against the official samples: every field compared with an independent XPath reading."""
from __future__ import annotations

import json
import time
from dataclasses import FrozenInstanceError
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.invoice.conftest_parse import (ALL_XML_FILES, CONTRACT_FIELDS, FACTURX_PDF, MONEY_FIELDS,
                                                    TESTDATA, XRECHNUNG_FILES, ZUGFERD_XML_FILES, cents,
                                                    expected_fields, expected_metadata,
                                                    pdf_embedded_xml_independently, pdf_with_attachments,
                                                    remove_element, sample_id, set_text, ubl_invoice_to_credit_note)
from workflows.invoice.model import InvoiceData, SkontoTerm
from workflows.invoice.parse import (MAX_XML_BYTES, InvoiceError, MalformedInvoice, NotAnInvoice,
                                     embedded_invoice_xml, parse_invoice_file, parse_invoice_xml, parse_skonto)

UBL_SAMPLE = TESTDATA / "xrechnung" / "01.01a-INVOICE_ubl.xml"
CII_SAMPLE = TESTDATA / "xrechnung" / "01.01a-INVOICE_uncefact.xml"


def test_testdata_is_there() -> None:
    # A wrong relative path would otherwise turn the parametrised tests into an empty, green run.
    assert len(XRECHNUNG_FILES) >= 20
    assert len(ZUGFERD_XML_FILES) >= 8
    assert FACTURX_PDF.is_file()


def assert_matches_xml(data: InvoiceData, xml: bytes) -> None:
    expected = expected_fields(xml)
    for name in CONTRACT_FIELDS:
        if name in ("skonto", "lines"):
            continue
        assert getattr(data, name) == expected[name], name
    assert [vars(line) for line in data.lines] == expected["lines"]
    assert data.syntax == expected["syntax"]
    assert data.line_net_amounts == expected["line_net_amounts"]
    assert [vars(t) for t in data.skonto] == expected["skonto"]
    for name in MONEY_FIELDS:
        value = getattr(data, name)
        assert value is None or isinstance(value, Decimal), name  # never float
    assert all(isinstance(v, Decimal) for v in data.line_net_amounts)
    assert isinstance(data.issue_date, date)
    metadata = data.to_metadata()
    assert metadata == expected_metadata(expected)
    json.dumps(metadata)  # JSON-ready as it is


@pytest.mark.parametrize("path", ALL_XML_FILES, ids=sample_id)
def test_sample_fields_match_xpath(path: Path) -> None:
    xml = path.read_bytes()
    data = parse_invoice_xml(xml)
    assert data.source == "xrechnung"
    assert_matches_xml(data, xml)


@pytest.mark.parametrize("path", ALL_XML_FILES, ids=sample_id)
def test_sample_via_parse_invoice_file(path: Path) -> None:
    data = parse_invoice_file(path, "application/xml")
    assert data is not None and data.invoice_number == expected_fields(path.read_bytes())["invoice_number"]


def test_facturx_pdf_fields_match_embedded_xml() -> None:
    xml = pdf_embedded_xml_independently(FACTURX_PDF)
    data = parse_invoice_file(FACTURX_PDF, "application/pdf")
    assert data is not None
    assert data.source == "zugferd"
    assert_matches_xml(data, xml)


def test_facturx_pdf_embedded_xml_agrees_with_factur_x_package() -> None:
    facturx = pytest.importorskip("facturx")
    filename, xml = facturx.get_xml_from_pdf(FACTURX_PDF.read_bytes(), check_xsd=False)
    assert filename == "factur-x.xml"
    assert embedded_invoice_xml(FACTURX_PDF) == xml


def test_to_metadata_shape() -> None:
    data = parse_invoice_xml(UBL_SAMPLE.read_bytes())
    meta = data.to_metadata()
    assert list(meta) == list(CONTRACT_FIELDS)
    assert meta["total_gross"] == str(cents(expected_fields(UBL_SAMPLE.read_bytes())["total_gross"]))
    assert meta["issue_date"] == data.issue_date.isoformat()
    assert meta["prepaid"] == "0.00"
    assert meta["due_date"] is None
    with pytest.raises(FrozenInstanceError):
        data.invoice_number = "x"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------ syntax variants

@pytest.mark.parametrize("path", sorted((TESTDATA / "xrechnung").glob("*_ubl.xml")), ids=sample_id)
def test_ubl_credit_note(path: Path) -> None:
    xml = ubl_invoice_to_credit_note(path.read_bytes())
    data = parse_invoice_xml(xml)
    assert data.syntax == "ubl-creditnote"
    assert data.type_code == "381"
    assert_matches_xml(data, xml)


def test_ubl_credit_note_due_date_from_payment_means() -> None:
    source = TESTDATA / "xrechnung" / "01.07a-INVOICE_ubl.xml"
    invoice = parse_invoice_xml(source.read_bytes())
    assert invoice.due_date is not None
    credit = parse_invoice_xml(ubl_invoice_to_credit_note(source.read_bytes()))
    assert credit.due_date == invoice.due_date


def test_ubl_two_tax_totals_take_document_currency() -> None:
    # VAT accounting currency (BT-6/BT-111) in USD, stated first, without breakdown, as UBL allows.
    xml = UBL_SAMPLE.read_bytes()
    eur_vat = expected_fields(xml)["total_vat"]
    xml = xml.replace(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>",
                      b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
                      b"<cbc:TaxCurrencyCode>USD</cbc:TaxCurrencyCode>", 1)
    xml = xml.replace(b"<cac:TaxTotal>",
                      b'<cac:TaxTotal><cbc:TaxAmount currencyID="USD">999.99</cbc:TaxAmount></cac:TaxTotal>'
                      b"<cac:TaxTotal>", 1)
    data = parse_invoice_xml(xml)
    assert data.total_vat == eur_vat
    assert_matches_xml(data, xml)


def test_cii_two_tax_totals_take_document_currency() -> None:
    xml = CII_SAMPLE.read_bytes()
    eur_vat = expected_fields(xml)["total_vat"]
    xml = xml.replace(b'<ram:TaxTotalAmount currencyID="EUR">',
                      b'<ram:TaxTotalAmount currencyID="USD">999.99</ram:TaxTotalAmount>'
                      b'<ram:TaxTotalAmount currencyID="EUR">', 1)
    data = parse_invoice_xml(xml)
    assert data.total_vat == eur_vat
    assert_matches_xml(data, xml)


def test_cii_sub_lines_are_not_summed() -> None:
    xml = CII_SAMPLE.read_bytes()
    expected = expected_fields(xml)["line_net_amounts"]
    sub_line = (b"<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1.1"
                b"</ram:LineID><ram:ParentLineID>1</ram:ParentLineID></ram:AssociatedDocumentLineDocument>"
                b"<ram:SpecifiedLineTradeSettlement><ram:SpecifiedTradeSettlementLineMonetarySummation>"
                b"<ram:LineTotalAmount>5.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>"
                b"</ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>")
    xml = xml.replace(b"<ram:ApplicableHeaderTradeAgreement>", sub_line + b"<ram:ApplicableHeaderTradeAgreement>", 1)
    assert parse_invoice_xml(xml).line_net_amounts == expected


def test_iban_spaces_removed() -> None:
    xml = UBL_SAMPLE.read_bytes().replace(b"<cbc:ID>DE79000000001234567890</cbc:ID>",
                                          b"<cbc:ID> DE79 0000 0000 1234 5678 90 </cbc:ID>")
    assert parse_invoice_xml(xml).iban == "DE79000000001234567890"


def test_optional_fields_absent() -> None:
    xml = UBL_SAMPLE.read_bytes()
    for path in ("cbc:BuyerReference", "cac:PaymentTerms", "cac:PaymentMeans",
                 "cac:AccountingSupplierParty//cac:PartyTaxScheme"):
        xml = remove_element(xml, path)
    data = parse_invoice_xml(xml)
    assert (data.buyer_reference, data.payment_terms, data.iban, data.seller_vat_id) == (None, None, None, None)
    assert data.skonto == []
    assert data.payment_means_code is None


# ------------------------------------------------------------------------------------------------- Skonto

def _with_payment_terms(note: str) -> bytes:
    xml = UBL_SAMPLE.read_bytes()
    old = b"<cbc:Note>Zahlbar sofort ohne Abzug.</cbc:Note>"
    assert old in xml
    return xml.replace(old, b"<cbc:Note>" + note.encode() + b"</cbc:Note>")


def test_skonto_line_parsed() -> None:
    xml = _with_payment_terms("#SKONTO#TAGE=14#PROZENT=2.00#\n")
    expected = expected_fields(xml)
    data = parse_invoice_xml(xml)
    assert data.skonto == [SkontoTerm(
        days=14, percent=Decimal("2.00"), base=None, deadline=expected["issue_date"] + timedelta(days=14),
        amount=cents(expected["amount_due"] * Decimal("0.02")))]
    assert data.payment_terms == "#SKONTO#TAGE=14#PROZENT=2.00#"
    assert data.to_metadata()["skonto"] == [{
        "days": 14, "percent": "2.00", "base": None,
        "deadline": (expected["issue_date"] + timedelta(days=14)).isoformat(),
        "amount": str(cents(expected["amount_due"] * Decimal("0.02")))}]


def test_skonto_several_lines_with_base_and_free_text() -> None:
    xml = _with_payment_terms("#SKONTO#TAGE=7#PROZENT=3.00#BASISBETRAG=100.05#\n"
                              "#SKONTO#TAGE=14#PROZENT=2.00#\n"
                              "Zahlbar innerhalb von 30 Tagen netto.\n")
    expected = expected_fields(xml)
    data = parse_invoice_xml(xml)
    assert [(t.days, t.percent, t.base) for t in data.skonto] == [
        (7, Decimal("3.00"), Decimal("100.05")), (14, Decimal("2.00"), None)]
    # 100.05 × 3 % = 3.0015 → 3.00; half-up rounding shows in the next test
    assert data.skonto[0].amount == Decimal("3.00")
    assert data.skonto[0].deadline == expected["issue_date"] + timedelta(days=7)
    assert [vars(t) for t in data.skonto] == expected["skonto"]


def test_skonto_rounds_half_up() -> None:
    (term,) = parse_skonto("#SKONTO#TAGE=10#PROZENT=2.50#BASISBETRAG=100.10#", date(2024, 1, 31), None)
    assert term.amount == Decimal("2.50")  # 2.5025
    (term,) = parse_skonto("#SKONTO#TAGE=10#PROZENT=1.00#BASISBETRAG=0.50#", date(2024, 1, 31), None)
    assert term.amount == Decimal("0.01")  # 0.005 half up, not to even
    assert term.deadline == date(2024, 2, 10)


def test_skonto_without_date_or_amount() -> None:
    (term,) = parse_skonto("#SKONTO#TAGE=10#PROZENT=2.00#", None, None)
    assert (term.deadline, term.amount, term.base) == (None, None, None)
    assert term.to_metadata() == {"days": 10, "percent": "2.00", "base": None, "deadline": None, "amount": None}


def test_skonto_in_official_sample() -> None:
    for path in sorted((TESTDATA / "xrechnung").glob("01.10a-INVOICE_*.xml")):
        data = parse_invoice_xml(path.read_bytes())
        assert [t.days for t in data.skonto] == [7, 14, 30]
        assert [vars(t) for t in data.skonto] == expected_fields(path.read_bytes())["skonto"]


# ---------------------------------------------------------------------------------------- errors and attacks

@pytest.mark.parametrize("data", [b"", b"<Invoice", b"not xml at all", b"<a><b></a>", b"\xff\xfe\x00<"])
def test_malformed_xml(data: bytes) -> None:
    with pytest.raises(MalformedInvoice) as info:
        parse_invoice_xml(data)
    assert isinstance(info.value, InvoiceError)
    assert info.value.message and info.value.message_de


def test_not_an_invoice_names_the_root() -> None:
    with pytest.raises(NotAnInvoice) as info:
        parse_invoice_xml(b"<foo/>")
    assert "foo" in info.value.message and "foo" in info.value.message_de


def test_other_ubl_document_is_not_an_invoice() -> None:
    order = b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>'
    with pytest.raises(NotAnInvoice, match="Order"):
        parse_invoice_xml(order)


def test_wrong_local_name_in_invoice_namespace() -> None:
    with pytest.raises(NotAnInvoice):
        parse_invoice_xml(b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')


UBL_MANDATORY = [
    ("cbc:ID", "BT-1"), ("cbc:IssueDate", "BT-2"), ("cbc:InvoiceTypeCode", "BT-3"),
    ("cbc:DocumentCurrencyCode", "BT-5"),
    ("cac:AccountingSupplierParty//cac:PartyLegalEntity/cbc:RegistrationName", "BT-27"),
    ("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", "BT-106"),
    ("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", "BT-109"),
    ("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "BT-112"),
    ("cac:LegalMonetaryTotal/cbc:PayableAmount", "BT-115"),
    ("cac:InvoiceLine[1]/cbc:LineExtensionAmount", "BT-131"),
]
CII_MANDATORY = [
    ("rsm:ExchangedDocument/ram:ID", "BT-1"), ("rsm:ExchangedDocument/ram:IssueDateTime", "BT-2"),
    ("rsm:ExchangedDocument/ram:TypeCode", "BT-3"), ("//ram:InvoiceCurrencyCode", "BT-5"),
    ("//ram:SellerTradeParty/ram:Name", "BT-27"),
    ("//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:LineTotalAmount", "BT-106"),
    ("//ram:TaxBasisTotalAmount", "BT-109"), ("//ram:GrandTotalAmount", "BT-112"),
    ("//ram:DuePayableAmount", "BT-115"),
    ("//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", "BT-131"),
]


@pytest.mark.parametrize(("sample", "xpath", "bt"),
                         [(UBL_SAMPLE, x, bt) for x, bt in UBL_MANDATORY]
                         + [(CII_SAMPLE, x, bt) for x, bt in CII_MANDATORY],
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_missing_mandatory_element_is_named(sample: Path, xpath: str, bt: str) -> None:
    xml = remove_element(sample.read_bytes(), xpath)
    with pytest.raises(MalformedInvoice) as info:
        parse_invoice_xml(xml)
    assert bt in info.value.message and bt in info.value.message_de


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "1e3", "12,50", ""])
def test_unreadable_amount(bad: str) -> None:
    xml = set_text(UBL_SAMPLE.read_bytes(), "cac:LegalMonetaryTotal/cbc:PayableAmount", bad)
    with pytest.raises(MalformedInvoice, match="BT-115"):
        parse_invoice_xml(xml)


@pytest.mark.parametrize(("sample", "xpath", "bad"), [
    (UBL_SAMPLE, "cbc:IssueDate", "04.04.2016"),
    (UBL_SAMPLE, "cbc:IssueDate", "2016-02-30"),
    (CII_SAMPLE, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "2016-04-04"),
    (CII_SAMPLE, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "20161304"),
])
def test_unreadable_date(sample: Path, xpath: str, bad: str) -> None:
    with pytest.raises(MalformedInvoice, match="BT-2"):
        parse_invoice_xml(set_text(sample.read_bytes(), xpath, bad))


def test_cii_date_format_other_than_102() -> None:
    xml = CII_SAMPLE.read_bytes().replace(b'<udt:DateTimeString format="102">20160404</udt:DateTimeString>',
                                          b'<udt:DateTimeString format="610">201604</udt:DateTimeString>', 1)
    with pytest.raises(MalformedInvoice, match="102"):
        parse_invoice_xml(xml)


def test_ubl_date_with_time_zone() -> None:
    xml = set_text(UBL_SAMPLE.read_bytes(), "cbc:IssueDate", "2016-04-04+02:00")
    assert parse_invoice_xml(xml).issue_date == date(2016, 4, 4)


XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
       b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
       b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
       b"<cbc:ID>&e;</cbc:ID></Invoice>")

BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b"]>\n<lolz>&lol9;</lolz>")


def test_xxe_refused() -> None:
    with pytest.raises(MalformedInvoice, match="DOCTYPE") as info:
        parse_invoice_xml(XXE)
    assert "root:" not in info.value.message


def test_xxe_inside_real_invoice_refused() -> None:
    xml = UBL_SAMPLE.read_bytes()
    xml = xml.replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                      b'<?xml version="1.0" encoding="UTF-8"?>\n'
                      b'<!DOCTYPE ubl:Invoice [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
    xml = xml.replace(b"<cbc:BuyerReference>04011000-12345-03", b"<cbc:BuyerReference>&e;", 1)
    with pytest.raises(MalformedInvoice, match="DOCTYPE"):
        parse_invoice_xml(xml)


def test_external_dtd_refused() -> None:
    xml = (b'<?xml version="1.0"?><!DOCTYPE Invoice SYSTEM "http://127.0.0.1:9/x.dtd">'
           b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
    with pytest.raises(MalformedInvoice, match="DOCTYPE"):
        parse_invoice_xml(xml)


def test_billion_laughs_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(MalformedInvoice):
        parse_invoice_xml(BILLION_LAUGHS)
    assert time.monotonic() - started < 2


def test_oversized_xml_refused() -> None:
    with pytest.raises(MalformedInvoice, match="MiB"):
        parse_invoice_xml(b"<a>" + b" " * MAX_XML_BYTES + b"</a>")


# -------------------------------------------------------------------------------------------------- PDFs

def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_plain_pdf_has_no_invoice(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "plain.pdf", pdf_with_attachments({}))
    assert embedded_invoice_xml(pdf) is None
    assert parse_invoice_file(pdf, "application/pdf") is None


def test_pdf_with_unrelated_attachment(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "a.pdf", pdf_with_attachments({"notes.xml": CII_SAMPLE.read_bytes()}))
    assert embedded_invoice_xml(pdf) is None


@pytest.mark.parametrize("name", ["factur-x.xml", "ZUGFeRD-invoice.xml", "zugferd-invoice.xml", "xrechnung.xml",
                                  "XRECHNUNG.XML", "Factur-X.xml"])
def test_accepted_attachment_names(tmp_path: Path, name: str) -> None:
    xml = CII_SAMPLE.read_bytes()
    pdf = _write(tmp_path, "z.pdf", pdf_with_attachments({"other.txt": b"hello", name: xml}))
    assert embedded_invoice_xml(pdf) == xml
    data = parse_invoice_file(pdf, "application/pdf")
    assert data is not None and data.source == "zugferd"
    assert_matches_xml(data, xml)


def test_ubl_embedded_as_xrechnung_xml(tmp_path: Path) -> None:
    xml = UBL_SAMPLE.read_bytes()
    pdf = _write(tmp_path, "x.pdf", pdf_with_attachments({"xrechnung.xml": xml}))
    data = parse_invoice_file(pdf, "application/pdf")
    assert data is not None and (data.syntax, data.source) == ("ubl-invoice", "zugferd")


def test_attachment_only_in_af_array(tmp_path: Path) -> None:
    xml = CII_SAMPLE.read_bytes()
    pdf = _write(tmp_path, "af.pdf", pdf_with_attachments({"factur-x.xml": xml}, af_only=True))
    assert embedded_invoice_xml(pdf) == xml


def test_pdf_bytes_accepted() -> None:
    xml = CII_SAMPLE.read_bytes()
    assert embedded_invoice_xml(pdf_with_attachments({"factur-x.xml": xml})) == xml


def test_encrypted_pdf_gives_none(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "enc.pdf", pdf_with_attachments({"factur-x.xml": CII_SAMPLE.read_bytes()},
                                                           password="secret"))
    assert embedded_invoice_xml(pdf) is None
    assert parse_invoice_file(pdf, "application/pdf") is None


def test_owner_password_only_pdf_is_read(tmp_path: Path) -> None:
    # Encrypted with an empty user password (common for "protected" PDFs): readable by anyone, so by us.
    xml = CII_SAMPLE.read_bytes()
    pdf = _write(tmp_path, "own.pdf", pdf_with_attachments({"factur-x.xml": xml}, password=""))
    assert embedded_invoice_xml(pdf) == xml


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", b"not a pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog"])
def test_broken_pdf_gives_none(tmp_path: Path, data: bytes) -> None:
    pdf = _write(tmp_path, "broken.pdf", data)
    assert embedded_invoice_xml(pdf) is None
    assert parse_invoice_file(pdf, "application/pdf") is None


def test_truncated_facturx_pdf(tmp_path: Path) -> None:
    raw = FACTURX_PDF.read_bytes()
    pdf = _write(tmp_path, "cut.pdf", raw[: len(raw) // 3])
    result = embedded_invoice_xml(pdf)
    assert result is None or result == pdf_embedded_xml_independently(FACTURX_PDF)


def test_missing_pdf_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        embedded_invoice_xml(tmp_path / "nope.pdf")


def test_embedded_malformed_xml_raises(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "bad.pdf", pdf_with_attachments({"factur-x.xml": b"<rsm:CrossIndustryInvoice"}))
    with pytest.raises(MalformedInvoice):
        parse_invoice_file(pdf, "application/pdf")


def test_embedded_non_invoice_xml_gives_none(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "z1.pdf", pdf_with_attachments({"ZUGFeRD-invoice.xml": b"<foo/>"}))
    assert parse_invoice_file(pdf, "application/pdf") is None


def test_embedded_xxe_refused(tmp_path: Path) -> None:
    pdf = _write(tmp_path, "xxe.pdf", pdf_with_attachments({"factur-x.xml": XXE}))
    with pytest.raises(MalformedInvoice, match="DOCTYPE"):
        parse_invoice_file(pdf, "application/pdf")


@pytest.mark.parametrize("mime", ["application/xml", "text/xml", "text/xml; charset=utf-8",
                                  "application/vnd.example+xml"])
def test_xml_mimes(mime: str) -> None:
    assert parse_invoice_file(CII_SAMPLE, mime) is not None


@pytest.mark.parametrize("mime", ["image/tiff", "image/png", "text/plain", "application/octet-stream"])
def test_other_mimes_give_none(tmp_path: Path, mime: str) -> None:
    assert parse_invoice_file(_write(tmp_path, "scan.bin", b"\x00\x01"), mime) is None


def test_xml_file_that_is_not_an_invoice(tmp_path: Path) -> None:
    with pytest.raises(NotAnInvoice):
        parse_invoice_file(_write(tmp_path, "foo.xml", b"<foo/>"), "application/xml")


def _fields(data: InvoiceData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in CONTRACT_FIELDS}


@pytest.mark.parametrize("case", sorted({p.name.split("-")[0] for p in XRECHNUNG_FILES}))
def test_ubl_and_cii_renderings_agree(case: str) -> None:
    # KoSIT ships each business case in both syntaxes; the parser must not care which one arrives.
    (ubl,) = (TESTDATA / "xrechnung").glob(f"{case}-*_ubl.xml")
    (cii,) = (TESTDATA / "xrechnung").glob(f"{case}-*_uncefact.xml")
    assert _fields(parse_invoice_xml(ubl.read_bytes())) == _fields(parse_invoice_xml(cii.read_bytes()))


def test_oversized_xml_file_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    with open(path, "wb") as fh:
        fh.write(b"<a>")
        fh.seek(MAX_XML_BYTES * 3)
        fh.write(b"</a>")
    with pytest.raises(MalformedInvoice, match="MiB"):
        parse_invoice_file(path, "application/xml")


def test_comment_inside_a_value_is_ignored() -> None:
    xml = UBL_SAMPLE.read_bytes().replace(b"<cbc:BuyerReference>04011000-12345-03",
                                          b"<cbc:BuyerReference>04011000-<!-- routing -->12345-03", 1)
    assert parse_invoice_xml(xml).buyer_reference == expected_fields(UBL_SAMPLE.read_bytes())["buyer_reference"]
