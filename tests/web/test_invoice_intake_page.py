"""Invoice intake in the browser (issue 9, point 11): e-invoices, duplicates with a reasoned override, paper
invoices whose fields the clerk types, and who may take in invoices at all."""
from __future__ import annotations

import re

from tests.helpers import pdf_bytes
from tests.web.conftest import post_form
from tests.web.invoice_town import XR, invoice_town, reference_of, rt, upload  # noqa: F401 - fixtures


def test_an_xrechnung_becomes_a_case_and_opens_its_receipt_task(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    resp = upload(anna, XR / "01.01a-INVOICE_ubl.xml")
    assert resp.status_code == 303 and re.search(r"/tasks/\d+$", resp.headers["Location"])
    page = anna.get(resp.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    reference = reference_of(page)
    assert reference.startswith("20.30/")
    assert "Rechnungsdaten" in text and "Prüfergebnisse" in text
    assert "kern-badge--success" in text  # the checks passed
    assert "An bestellende Stelle weiterleiten" in text  # the receipt step's decision, in German


def test_a_duplicate_shows_the_match_and_the_override_needs_a_reason(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    first = reference_of(anna.get(upload(anna, XR / "01.01a-INVOICE_ubl.xml").headers["Location"]))
    dup = upload(anna, XR / "01.01a-INVOICE_uncefact.xml")  # the same invoice in the other syntax
    text = dup.get_data(as_text=True)
    assert dup.status_code == 409
    assert first in text and "Trotzdem übernehmen" in text
    no_reason = upload(anna, XR / "01.01a-INVOICE_uncefact.xml", override="1", duplicate_of=first,
                       duplicate_reason="  ")
    assert no_reason.status_code == 422
    assert 'id="duplicate_reason-error"' in no_reason.get_data(as_text=True)
    assert "Bitte begründen Sie" in no_reason.get_data(as_text=True)
    ok = upload(anna, XR / "01.01a-INVOICE_uncefact.xml", override="1", duplicate_of=first,
                duplicate_reason="Korrigierte Zweitschrift")
    assert ok.status_code == 303
    second = reference_of(anna.get(ok.headers["Location"]))
    assert second != first


def test_a_paper_invoice_leads_to_the_typing_form(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    resp = upload(anna, content=pdf_bytes("Rechnung 4711"), name="scan.pdf")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/fields")
    form_path = resp.headers["Location"]
    form = anna.get(form_path).get_data(as_text=True)
    assert 'name="invoice_number"' in form and 'name="source"' not in form  # system fields are not editable
    bad = post_form(anna, form_path, {"invoice_number": "R-4711", "issue_date": "kein Datum"})
    assert bad.status_code == 422
    assert 'id="field-issue_date-error"' in bad.get_data(as_text=True)
    saved = post_form(anna, form_path, {"invoice_number": "R-4711", "issue_date": "2026-11-02",
                                        "seller_name": "Büro Müller", "currency": "EUR", "total_gross": "119.00",
                                        "amount_due": "119.00", "iban": "DE89370400440532013000",
                                        "ordering_unit": "32"})
    assert saved.status_code == 303
    after = anna.get(form_path).get_data(as_text=True)
    assert 'value="R-4711"' in after
    # The receipt task shows the scan inline (the document preview) and the typed fields as the invoice's data.
    task = re.search(r'href="(/tasks/\d+)"', after).group(1)
    page = anna.get(task).get_data(as_text=True)
    assert re.search(r'<iframe[^>]*src="/documents/\d+/preview"', page)
    assert "R-4711" in page and "Büro Müller" in page and "119,00" in page
    # The checks run on what was typed: a Zahlbetrag that does not follow from the totals fails, visibly.
    post_form(anna, form_path, {"invoice_number": "R-4711", "issue_date": "2026-11-02", "seller_name": "Büro Müller",
                                "currency": "EUR", "total_gross": "119.00", "amount_due": "100.00",
                                "ordering_unit": "32"})
    page = anna.get(task).get_data(as_text=True)
    assert "kern-badge--danger" in page and "nicht bestanden" in page


def test_only_who_may_take_in_invoices_sees_the_intake(signed_in, invoice_town) -> None:
    olga = signed_in("olga")  # a clerk of the Ordnungsamt, not of the Rechnungseingang
    denied = olga.get("/invoices/intake")
    assert denied.status_code == 403 and "Keine Berechtigung" in denied.get_data(as_text=True)
    assert 'href="/invoices/intake"' not in olga.get("/inbox").get_data(as_text=True)  # nor offered in the nav
    token = post_form(olga, "/invoices/intake", token_from="/inbox")
    assert token.status_code == 403
    assert signed_in("anna").get("/invoices/intake").status_code == 200


def test_intake_without_csrf_token_is_refused(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    resp = anna.post("/invoices/intake", content_type="multipart/form-data",
                     data={"file": (open(XR / "01.01a-INVOICE_ubl.xml", "rb"), "a.xml")})
    assert resp.status_code == 400
    assert "Keine Aufgaben" in signed_in("anna").get("/inbox").get_data(as_text=True)
