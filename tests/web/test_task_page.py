"""The task page (issue 9, point 14): the invoice beside its checks and the decisions, the whole approval chain
through the browser, four-eyes, comments, CSRF, and who may see a task at all."""
from __future__ import annotations

import re

from tests.web.conftest import csrf_token, post_form
from tests.web.invoice_town import (XR, decide, inbox_rows, invoice_town, reference_of, rt,  # noqa: F401
                                    task_of, upload)


def _take_in(client) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    resp = upload(client, XR / "01.01a-INVOICE_ubl.xml")
    assert resp.status_code == 303
    task_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    return reference_of(client.get(resp.headers["Location"])), task_id


def _history(client, task_id: int) -> str:  # type: ignore[no-untyped-def]
    return client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_the_chain_through_the_browser_with_four_eyes(signed_in, invoice_town) -> None:
    anna, mia, kurt, otto = (signed_in(n) for n in ("anna", "mia", "kurt", "otto"))
    reference, receipt = _take_in(anna)
    page = anna.get(f"/tasks/{receipt}").get_data(as_text=True)
    # The e-invoice as a readable table: seller, number, amounts as money, the IBAN in groups, the Leitweg-ID.
    assert "Rechnungssteller" in page and "Zahlbetrag" in page and "€" in page
    assert re.search(r"DE\d\d \d{4} \d{4}", page)
    assert "Leitweg-ID" in page
    done = decide(anna, receipt, "forward")
    assert done.status_code == 303 and done.headers["Location"].endswith("/inbox")
    assert "Entscheidung gespeichert: An bestellende Stelle weiterleiten" in anna.get("/inbox").get_data(as_text=True)

    sachlich = task_of(mia, reference)  # the ordering unit (routed by the Leitweg-ID) finds it in its inbox
    resp = decide(mia, sachlich, "approve")
    assert resp.status_code == 303
    assert "Entscheidung gespeichert: Sachlich richtig" in mia.get("/inbox").get_data(as_text=True)

    # rechnerisch: mia is a finance clerk too, but she decided sachlich: the button is disabled with the reason.
    rechnerisch = task_of(mia, reference)
    page = mia.get(f"/tasks/{rechnerisch}").get_data(as_text=True)
    button = re.search(r'<button[^>]*value="approve"[^>]*>', page).group(0)
    assert "disabled" in button and 'aria-describedby="reason-approve"' in button
    reason = re.search(r'id="reason-approve">([^<]*)<', page).group(1)
    assert "Vier-Augen-Prinzip" in reason
    forced = decide(mia, rechnerisch, "approve")
    assert forced.status_code == 403 and "Vier-Augen-Prinzip" in forced.get_data(as_text=True)
    assert rechnerisch in inbox_rows(kurt)  # nothing was decided: still open for the finance clerks
    assert decide(kurt, task_of(kurt, reference), "approve").status_code == 303

    anordnung = task_of(otto, reference)
    assert decide(mia, anordnung, "approve").status_code == 403  # sachlich was hers
    assert decide(otto, anordnung, "approve").status_code == 303
    assert "Entscheidung gespeichert: Zahlung anordnen" in otto.get("/inbox").get_data(as_text=True)
    assert reference not in "".join(inbox_rows(otto).values())
    page = _history(otto, anordnung)
    assert "Diese Aufgabe ist erledigt" in page and "otto" in page


def test_a_required_comment_is_asked_for_at_the_field(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _, receipt = _take_in(anna)
    resp = decide(anna, receipt, "reject", comment="  ")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'<textarea[^>]*id="comment"[^>]*aria-invalid="true"', text)
    assert 'id="comment-error"' in text and "Bitte begründen Sie die Entscheidung „Ablehnen“" in text
    assert receipt in inbox_rows(anna)  # still open
    unconfirmed = decide(anna, receipt, "reject", comment="falscher Empfänger", confirm=False)
    assert unconfirmed.status_code == 422 and 'id="confirm-error"' in unconfirmed.get_data(as_text=True)
    assert receipt in inbox_rows(anna)
    assert decide(anna, receipt, "reject", comment="falscher Empfänger").status_code == 303
    assert receipt not in inbox_rows(anna)


def test_deciding_without_csrf_token_is_refused(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _, receipt = _take_in(anna)
    resp = anna.post(f"/tasks/{receipt}/decide", data={"decision": "forward", "confirm": "1"})
    assert resp.status_code == 400
    assert anna.post(f"/tasks/{receipt}/claim").status_code == 400
    assert receipt in inbox_rows(anna) and "anna" not in inbox_rows(anna)[receipt]


def test_a_user_of_another_unit_sees_neither_the_task_nor_its_page(signed_in, invoice_town) -> None:
    anna, paul, olga = signed_in("anna"), signed_in("paul"), signed_in("olga")
    reference, receipt = _take_in(anna)
    for other in (paul, olga):
        assert receipt not in inbox_rows(other)
        assert other.get(f"/tasks/{receipt}").status_code in (403, 404)
        assert reference not in other.get(f"/tasks/{receipt}").get_data(as_text=True)
        assert post_form(other, f"/tasks/{receipt}/decide", {"decision": "forward", "confirm": "1"},
                         token_from="/inbox").status_code in (403, 404)
    assert receipt in inbox_rows(anna)


def test_claim_and_release_on_the_task_page(signed_in, invoice_town) -> None:
    anna, kurt = signed_in("anna"), signed_in("kurt")
    _, receipt = _take_in(anna)
    token = csrf_token(anna, f"/tasks/{receipt}")
    resp = anna.post(f"/tasks/{receipt}/claim", data={"csrf_token": token, "next": f"/tasks/{receipt}"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/tasks/{receipt}")
    page = anna.get(f"/tasks/{receipt}").get_data(as_text=True)
    assert "Sie haben die Aufgabe übernommen" in page and "Zurückgeben" in page
    # A colleague cannot decide nor claim what anna has taken.
    assert decide(kurt, receipt, "forward").status_code == 409
    assert post_form(kurt, f"/tasks/{receipt}/claim", token_from="/inbox").status_code == 409
    released = post_form(anna, f"/tasks/{receipt}/release", token_from=f"/tasks/{receipt}")
    assert released.status_code == 303
    assert "Übernehmen" in kurt.get(f"/tasks/{receipt}").get_data(as_text=True)


def test_decisions_in_english_when_the_locale_is_english(signed_in, invoice_town) -> None:
    anna = signed_in("anna")
    _, receipt = _take_in(anna)
    assert post_form(anna, "/language", {"locale": "en", "next": f"/tasks/{receipt}"},
                     token_from=f"/tasks/{receipt}").status_code == 303
    page = anna.get(f"/tasks/{receipt}").get_data(as_text=True)
    assert "Forward to ordering unit" in page and "An bestellende Stelle weiterleiten" not in page
    assert "Seller" in page
