"""Creating a case through the web form: the form follows the case type's field schema, errors sit at their
fields, German amounts are read, and nobody creates cases outside their units."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from eakte.models import Case
from tests.conftest import SQLITE_ONLY
from tests.web.conftest import post_form

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY

NEW = "/cases/new"


def _cases(rt):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(Case).order_by(Case.id)).scalars())


def test_case_type_is_chosen_first_without_script(signed_in) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    page = anna.get(NEW).get_data(as_text=True)
    assert 'method="get"' in page and 'name="case_type"' in page
    assert "Allgemeine Akte" in page and "Rechnung" in page
    form = anna.get(NEW + "?case_type=invoice").get_data(as_text=True)
    # Generated from the invoice schema: money as decimal text with the German hint, dates as date inputs,
    # read-only fields (checks, source) left out; units: only where anna may create (20).
    assert re.search(r'id="metadata-total_gross"[^>]*type="text"[^>]*inputmode="decimal"', form, re.S)
    assert "z. B. 1.234,56" in form
    assert re.search(r'id="metadata-issue_date"[^>]*type="date"', form, re.S)
    assert 'metadata.checks' not in form and 'metadata.source' not in form
    unit_select = re.search(r'<select[^>]*id="unit".*?</select>', form, re.S).group(0)
    assert 'value="20"' in unit_select and 'value="32"' not in unit_select


def test_create_general_case(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = post_form(anna, NEW, {"case_type": "general", "title": "Büromöbel", "file_plan_code": "20.30",
                                 "unit": "20"}, token_from=NEW + "?case_type=general")
    assert resp.status_code == 303
    [case] = _cases(rt)
    assert resp.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.title == "Büromöbel" and case.reference.startswith("20.30/0001/")


def test_invoice_with_german_amounts_and_dates(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = post_form(anna, NEW, {"case_type": "invoice", "title": "Rechnung Büromaterial", "file_plan_code": "20.30",
                                 "unit": "20", "metadata.invoice_number": "R-2026-7",
                                 "metadata.issue_date": "2026-11-03", "metadata.currency": "EUR",
                                 "metadata.seller_name": "Papier & Co. KG", "metadata.total_gross": "1.234,56",
                                 "metadata.amount_due": "1234,5", "metadata.ordering_unit": "20"},
                     token_from=NEW + "?case_type=invoice")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    [case] = _cases(rt)
    assert case.case_type == "invoice"
    assert case.metadata_["total_gross"] == "1234.56" and case.metadata_["amount_due"] == "1234.50"
    assert case.metadata_["issue_date"] == "2026-11-03" and case.metadata_["seller_name"] == "Papier & Co. KG"


def test_missing_title_is_shown_at_the_field(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = post_form(anna, NEW, {"case_type": "general", "title": " ", "file_plan_code": "20.30", "unit": "20"},
                     token_from=NEW + "?case_type=general")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert re.search(r'<input[^>]*id="title"[^>]*aria-invalid="true"[^>]*aria-describedby="title-error"', page, re.S)
    assert re.search(r'id="title-error".*?Bitte geben Sie einen Betreff ein\.', page, re.S)
    assert 'href="#title"' in page  # the error summary links to the field
    assert _cases(rt) == []


def test_wrong_amount_is_shown_at_its_field(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = post_form(anna, NEW, {"case_type": "invoice", "title": "Rechnung", "file_plan_code": "20.30",
                                 "unit": "20", "metadata.total_gross": "zwölf Euro",
                                 "metadata.seller_name": "<script>alert(1)</script>"},
                     token_from=NEW + "?case_type=invoice")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert re.search(r'id="metadata-total_gross"[^>]*aria-invalid="true"[^>]*aria-describedby="metadata-total_gross-hint '
                     r'metadata-total_gross-error"', page, re.S)
    assert re.search(r'id="metadata-total_gross-error".*?Gesamtbetrag brutto: Bitte geben Sie einen Betrag wie '
                     r'1\.234,56 ein\.', page, re.S)
    assert 'value="zwölf Euro"' in page  # what was typed stays
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert _cases(rt) == []


def test_olga_cannot_create_in_the_kaemmerei(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    olga = signed_in("olga")
    form = olga.get(NEW + "?case_type=general").get_data(as_text=True)
    unit_select = re.search(r'<select[^>]*id="unit".*?</select>', form, re.S).group(0)
    assert 'value="32"' in unit_select and 'value="20"' not in unit_select
    resp = post_form(olga, NEW, {"case_type": "general", "title": "Fremd", "file_plan_code": "20.30", "unit": "20"},
                     token_from=NEW + "?case_type=general")
    assert resp.status_code == 403
    assert _cases(rt) == []


def test_without_csrf_token_nothing_is_created(signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    anna = signed_in("anna")
    resp = anna.post(NEW, data={"case_type": "general", "title": "X", "file_plan_code": "20.30", "unit": "20"})
    assert resp.status_code == 400
    assert _cases(rt) == []


def test_get_creates_nothing_and_needs_login(web, signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    assert web.get(NEW).status_code == 302
    anna = signed_in("anna")
    anna.get(NEW + "?case_type=general&title=X&file_plan_code=20.30&unit=20")
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar() == 0
