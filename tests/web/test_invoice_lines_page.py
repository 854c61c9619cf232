"""The e-invoice's lines as a readable table beside the decision (issue 9, point 14), on the task page and on the case
page: values in the German formats, hostile texts inert, nothing shown for a paper invoice, no error without lines."""
from __future__ import annotations

import html
import re
from decimal import Decimal

from sqlalchemy import select

from eakte.models import Case
from eakte.presenters import InvoiceLineRow, InvoiceLines, invoice_lines
from tests.helpers import pdf_bytes
from tests.web.invoice_town import XR, invoice_town, reference_of, rt, upload  # noqa: F401
from tests.workflows.invoice.conftest_parse import TESTDATA, remove_element, set_text

HOSTILE = "<script>alert(1)</script>"


def _take_in(client, *, path=None, content: bytes | None = None, name: str | None = None):  # type: ignore[no-untyped-def]
    """(task id, case reference, task page HTML) of an invoice taken in through the intake form."""
    resp = upload(client, path, content=content, name=name)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    page = client.get(resp.headers["Location"])
    location = resp.headers["Location"]
    task_id = int(location.rsplit("/", 1)[1]) if "/tasks/" in location else None
    return task_id, reference_of(page), page.get_data(as_text=True)


def _lines_table(page: str) -> str:
    match = re.search(r'<table class="kern-table kern-table--small invoice-lines">.*?</table>', page, re.S)
    assert match, "no lines table"
    return match.group(0)


def _rows(table: str) -> list[list[str]]:
    body = table.split("<tbody", 1)[1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip().replace("\xa0", " ")
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def _case_id(rt, reference: str) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(Case.id).where(Case.reference == reference)).scalar_one()


def test_task_page_shows_the_lines_and_the_buyer(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _, _, page = _take_in(anna, path=XR / "01.05a-INVOICE_ubl.xml")
    table = _lines_table(page)
    assert '<caption class="kern-title kern-title--small">Rechnungspositionen</caption>' in table
    headers = re.findall(r'<th class="kern-table__header[^"]*" scope="col">([^<]*)</th>', table)
    assert headers == ["Pos.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis", "Nettobetrag", "USt."]
    rows = _rows(table)
    assert len(rows) == 4
    assert rows[0] == ["Seminar: […]", "Seminar", "5", "DAY", "1.340,00 €", "6.700,00 €", "19 % (S)"]
    assert rows[2][1:] == ["Reisekostenpauschale", "5", "XPP", "90,00 €", "450,00 €", "19 % (S)"]
    assert re.search(r"<th scope=\"row\">Rechnungsempfänger</th>\s*<td>\[Buyer name\]</td>", page)
    assert "Anzahl der Rechnungspositionen" not in page  # the count belongs to the table, not the field list


def test_zugferd_unit_prices_and_quantities_in_german_format(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _, _, page = _take_in(anna, path=TESTDATA / "zugferd" / "zugferd_2p1_EN16931_Rabatte.xml")
    rows = _rows(_lines_table(page))
    assert rows[0] == ["1", "Kunstrasen grün 3m breit", "3", "MTK", "3,3333 €", "10,00 €", "19 % (S)"]
    assert rows[1][2:] == ["5", "KGM", "5,50 €", "27,50 €", "7 % (S)"]


def test_case_page_shows_the_lines_too(signed_in, invoice_town, rt) -> None:
    anna = signed_in("anna")
    _, reference, _ = _take_in(anna, path=XR / "01.05a-INVOICE_uncefact.xml")
    page = anna.get(f"/cases/{_case_id(rt, reference)}").get_data(as_text=True)
    rows = _rows(_lines_table(page))
    assert rows[1] == ["Raumkosten Schulungsort", "Raumkosten", "5", "DAY", "300,00 €", "1.500,00 €", "19 % (S)"]
    assert "Rechnungsempfänger" in page and "[Buyer name]" in page


def test_hostile_item_and_buyer_names_are_inert(signed_in, invoice_town, rt) -> None:
    anna = signed_in("anna")
    xml = set_text((XR / "01.01a-INVOICE_ubl.xml").read_bytes(), "cac:InvoiceLine/cac:Item/cbc:Name", HOSTILE)
    xml = set_text(xml, "cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:RegistrationName", HOSTILE)
    _, reference, page = _take_in(anna, content=xml, name="boese.xml")
    case_page = anna.get(f"/cases/{_case_id(rt, reference)}").get_data(as_text=True)
    for text in (page, case_page):
        assert HOSTILE not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert _rows(_lines_table(text))[0][1] == HOSTILE  # shown as text, the way it was written


def test_invoice_without_lines_says_so(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    xml = remove_element((XR / "01.01a-INVOICE_ubl.xml").read_bytes(), "cac:InvoiceLine")
    _, _, page = _take_in(anna, content=xml, name="ohne-positionen.xml")
    assert "Keine Rechnungspositionen." in page and "invoice-lines" not in page


def test_paper_invoice_shows_no_lines(signed_in, invoice_town, rt) -> None:
    anna = signed_in("anna")
    _, reference, page = _take_in(anna, content=pdf_bytes("Rechnung P-1"), name="scan.pdf")
    assert "invoice-lines" not in page and "Keine Rechnungspositionen" not in page
    assert "Anzahl der Rechnungspositionen" not in page  # the typing form leaves out the empty computed count
    case_page = anna.get(f"/cases/{_case_id(rt, reference)}")
    assert case_page.status_code == 200 and "invoice-lines" not in case_page.get_data(as_text=True)


def test_presenter_reads_stored_lines_leniently() -> None:
    assert invoice_lines({}) is None and invoice_lines({"lines": "x"}) is None  # paper invoice, nonsense
    assert invoice_lines({"lines": []}) == InvoiceLines([], 0)
    shown = invoice_lines({"line_count": 700, "lines": [
        {"line_id": 1, "name": {"x": 1}, "quantity": "20.0000", "net_price": "9.9000", "net_amount": "NaN",
         "vat_rate": "1E+2", "unit_code": None},
        "not a line",
        {"quantity": "abc", "net_price": True, "net_amount": "1" * 40}]})
    assert shown is not None and shown.count == 700 and shown.truncated
    first, second = shown.rows
    assert (first.position, first.name, first.quantity, first.net_price, first.net_amount, first.vat_rate,
            first.unit_code) == ("1", "", Decimal("20"), Decimal("9.9"), None, Decimal("100"), "")
    assert str(first.vat_rate) == "100" and (second.quantity, second.net_price) == (None, None)
    assert second.net_amount == Decimal("1" * 40)
    assert invoice_lines({"line_count": 0, "lines": [{"net_amount": "1"}]}).count == 1  # type: ignore[union-attr]


def test_truncated_lines_say_how_many_there_are(app) -> None:  # type: ignore[no-untyped-def]
    lines = InvoiceLines([InvoiceLineRow("1", "A", Decimal(1), "H87", Decimal(2), Decimal(2), "S", Decimal(19))],
                         501)
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("invoices/_lines.html").module.invoice_lines
        out = str(macro(lines, "EUR"))
    assert "Gezeigt sind die ersten 1 von 501 Positionen" in out
    assert _rows(_lines_table(out)) == [["1", "A", "1", "H87", "2,00 €", "2,00 €", "19 % (S)"]]


def test_other_units_see_neither_task_nor_lines(signed_in, invoice_town, rt) -> None:
    anna, paul = signed_in("anna"), signed_in("paul")
    task_id, reference, _ = _take_in(anna, path=XR / "01.05a-INVOICE_ubl.xml")
    for resp in (paul.get(f"/tasks/{task_id}"), paul.get(f"/cases/{_case_id(rt, reference)}")):
        assert resp.status_code in (403, 404)
        assert "Reisekostenpauschale" not in resp.get_data(as_text=True)
