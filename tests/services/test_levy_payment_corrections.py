"""Correcting the levy's payments without overwriting them: a payment booked in error is reversed (Storno) with a
reason, and a payment typed in by hand is confirmed, not doubled, by the cash office's line for the same money.
The database itself refuses to change or delete a payment."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from eakte.errors import Conflict, Forbidden, Invalid, NotFound, PaymentBookedAlready
from eakte.models import AuditEvent, LevyPayment
from eakte.runtime import Runtime
from eakte.services.levy import payments, queries
from tests.levy_fixtures import levy_actor, levy_runtime_at
from tests.services.test_levy_payments import HEADER, running

D = dt.date.fromisoformat


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 20, 9, tzinfo=dt.timezone.utc), town=True) as runtime:
        yield runtime


@pytest.fixture
def one(rt: Runtime) -> tuple[int, str, Decimal]:
    return running(rt, "GWH-1")


def _csv(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def test_a_reversed_payment_drops_out_of_the_balance_and_stays_listed(rt: Runtime,
                                                                      one: tuple[int, str, Decimal]) -> None:
    pid, _, monthly = one
    wilhelm = levy_actor(rt, "wilhelm")
    wrong = payments.record_payment(rt, wilhelm, pid, D("2026-04-02"), "500,00", "falscher Vorgang")
    payments.record_payment(rt, wilhelm, pid, D("2026-04-03"), str(monthly))
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == Decimal("500.00") + monthly

    reversal = payments.reverse_payment(rt, levy_actor(rt, "lena"), wrong.id, "  dem falschen Vorgang gebucht ")
    assert (reversal.source, reversal.supersedes_id, reversal.note, reversal.amount) == (
        "reversal", wrong.id, "dem falschen Vorgang gebucht", Decimal("500.00"))
    b = payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20"))
    assert b.paid == monthly and b.balance == b.expected_to_date - monthly
    assert [(p.id, p.counts, p.superseded_as) for p in b.payments] == [
        (wrong.id, False, "reversal"), (wrong.id + 1, True, None), (reversal.id, False, None)]
    assert queries.procedure_view(rt, wilhelm, pid).payments.total == f"{monthly:.2f}"  # the page's summary too
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "levy.payment.reverse")).scalar_one()
        assert (event.object_id, event.details["reason"], event.details["amount"]) == (
            str(wrong.id), "dem falschen Vorgang gebucht", "500.00")


def test_what_cannot_be_reversed(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid = one[0]
    wilhelm = levy_actor(rt, "wilhelm")
    paid = payments.record_payment(rt, wilhelm, pid, D("2026-04-02"), "10,00")
    with pytest.raises(Invalid) as exc:
        payments.reverse_payment(rt, wilhelm, paid.id, " \u200b ")  # a reason is required, invisible text is none
    assert exc.value.extra["field"] == "reason"
    with pytest.raises(Forbidden):
        payments.reverse_payment(rt, levy_actor(rt, "rita"), paid.id, "Prüferin")  # the auditor reads, no more
    with pytest.raises(NotFound):
        payments.reverse_payment(rt, levy_actor(rt, "anna"), paid.id, "fremde Einheit")
    with pytest.raises(NotFound):
        payments.reverse_payment(rt, wilhelm, 10**12, "gibt es nicht")
    reversal = payments.reverse_payment(rt, wilhelm, paid.id, "doppelt erfasst")
    with pytest.raises(Conflict, match="reversed already"):
        payments.reverse_payment(rt, wilhelm, paid.id, "noch einmal")
    with pytest.raises(Conflict, match="is a reversal"):
        payments.reverse_payment(rt, wilhelm, reversal.id, "Storno vom Storno")
    with rt.db.read() as session:
        assert len(session.execute(select(LevyPayment)).scalars().all()) == 2


def test_the_cash_offices_line_confirms_a_payment_typed_in_by_hand(rt: Runtime,
                                                                   one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    amount = f"{monthly}".replace(".", ",")
    wilhelm = levy_actor(rt, "wilhelm")
    typed = payments.record_payment(rt, wilhelm, pid, D("2026-04-01"), str(monthly), "bar eingezahlt")
    payments.record_payment(rt, wilhelm, pid, D("2026-03-01"), "7,00")  # another amount: not this line's
    report = payments.import_payments(rt, wilhelm, _csv(f"K-1;03.04.2026;{amount};FBA {ref}",
                                                        f"K-2;04.04.2026;{amount};FBA {ref}"))
    # The first line is the booking of the typed-in payment; the second is new money (nothing left to confirm).
    assert [(i.booking_id, i.confirms_payment_id) for i in report.imported] == [("K-1", typed.id), ("K-2", None)]
    b = payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20"))
    assert b.paid == 2 * monthly + Decimal("7.00")  # typed in + second line + 7,00; not the typed-in one twice
    confirmed = next(p for p in b.payments if p.id == typed.id)
    assert (confirmed.counts, confirmed.superseded_as) == (False, "import")
    with pytest.raises(Conflict, match="booking K-1 took its place; there is nothing to reverse"):
        payments.reverse_payment(rt, wilhelm, typed.id, "versehentlich")
    with rt.db.read() as session:
        summary = session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "levy.payments.import")).scalar_one()
        assert summary["confirmed"] == [2]


def test_a_line_far_from_the_typed_in_day_or_after_a_reversal_books_anew(rt: Runtime,
                                                                         one: tuple[int, str, Decimal]) -> None:
    pid, ref, _ = one
    wilhelm = levy_actor(rt, "wilhelm")
    far = payments.record_payment(rt, wilhelm, pid, D("2026-03-01"), "20,00")
    gone = payments.record_payment(rt, wilhelm, pid, D("2026-04-10"), "20,00")
    payments.reverse_payment(rt, wilhelm, gone.id, "falsch")
    report = payments.import_payments(rt, wilhelm, _csv(f"K-9;10.04.2026;20,00;{ref}"))
    assert report.imported[0].confirms_payment_id is None  # 40 days from `far`; `gone` is reversed
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == Decimal("40.00")
    assert far.id


def test_typing_in_what_is_booked_already_is_refused_unless_it_is_another_payment(
        rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    wilhelm = levy_actor(rt, "wilhelm")
    amount = f"{monthly}".replace(".", ",")
    payments.import_payments(rt, wilhelm, _csv(f"K-5;06.04.2026;{amount};FBA {ref}"))
    with pytest.raises(PaymentBookedAlready) as exc:  # the bank's line came first: the same money again
        payments.record_payment(rt, wilhelm, pid, D("2026-04-02"), str(monthly), "bar")
    assert exc.value.extra["booking_id"] == "K-5" and exc.value.extra["field"] == "separate"
    assert "bereits am 06.04.2026 gebucht (Buchung K-5)" in (exc.value.detail_de or "")
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == monthly  # counted once
    payments.record_payment(rt, wilhelm, pid, D("2026-04-02"), "9,99")  # another amount is no twin
    payments.record_payment(rt, wilhelm, pid, D("2026-03-01"), str(monthly))  # 36 days before: no twin
    extra = payments.record_payment(rt, wilhelm, pid, D("2026-04-02"), str(monthly), separate=True)
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == \
        3 * monthly + Decimal("9.99")
    with rt.db.read() as session:
        said = session.execute(select(AuditEvent).where(AuditEvent.action == "levy.payment.separate")).scalar_one()
        assert said.object_id == str(extra.id) and said.details["beside_booking_id"] == "K-5"
    with rt.db.read() as session:
        k5 = session.execute(select(LevyPayment.id).where(LevyPayment.booking_id == "K-5")).scalar_one()
    payments.reverse_payment(rt, wilhelm, k5, "dem falschen Vorgang zugeordnet")
    with pytest.raises(PaymentBookedAlready) as exc:  # the reversed line is no twin, the one typed in is
        payments.record_payment(rt, levy_actor(rt, "lena"), pid, D("2026-04-03"), str(monthly))
    assert (exc.value.extra["payment_id"], exc.value.extra["booking_id"]) == (extra.id, None)
    assert "vom 02.04.2026 ist bereits erfasst" in (exc.value.detail_de or "")
    payments.reverse_payment(rt, wilhelm, extra.id, "doch dieselbe Zahlung")
    payments.record_payment(rt, wilhelm, pid, D("2026-04-03"), str(monthly))  # nothing of that amount counts now


def test_a_typed_in_payment_the_import_confirmed_still_catches_its_re_entry_from_its_own_day(
        rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    wilhelm = levy_actor(rt, "wilhelm")
    typed = payments.record_payment(rt, wilhelm, pid, D("2026-04-01"), str(monthly))
    amount = f"{monthly}".replace(".", ",")
    report = payments.import_payments(rt, wilhelm, _csv(f"K-1;14.04.2026;{amount};FBA {ref}"))
    assert report.imported[0].confirms_payment_id == typed.id
    with pytest.raises(PaymentBookedAlready) as exc:  # 12 days from the day typed in, 25 from the bank's day
        payments.record_payment(rt, wilhelm, pid, D("2026-03-20"), str(monthly))
    assert exc.value.extra["booking_id"] == "K-1"
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == monthly


def test_a_payment_typed_in_while_the_import_runs_waits_for_it_and_is_not_counted_twice(
        rt: Runtime, one: tuple[int, str, Decimal], monkeypatch: pytest.MonkeyPatch) -> None:
    pid, ref, monthly = one
    wilhelm, lena = levy_actor(rt, "wilhelm"), levy_actor(rt, "lena")
    typed_in = payments._typed_in
    clerk: dict[str, object] = {}

    def lena_types_it_in_meanwhile() -> None:
        try:
            clerk["entry"] = payments.record_payment(rt, lena, pid, D("2026-04-03"), str(monthly))
        except Exception as exc:  # noqa: BLE001 - what she is told is the test's subject
            clerk["error"] = exc

    def matching(session, procedure, line, claimed):  # type: ignore[no-untyped-def]
        found = typed_in(session, procedure, line, claimed)
        if "thread" not in clerk:  # the import has matched its line and is about to book it
            thread = threading.Thread(target=lena_types_it_in_meanwhile)
            clerk["thread"] = thread
            thread.start()
            thread.join(1.0)
            clerk["waited"] = thread.is_alive()
        return found

    monkeypatch.setattr(payments, "_typed_in", matching)
    amount = f"{monthly}".replace(".", ",")
    payments.import_payments(rt, wilhelm, _csv(f"K-9;06.04.2026;{amount};FBA {ref}"))
    thread = clerk["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(30)
    assert clerk["waited"] is True  # for the import's lock on the procedure
    assert isinstance(clerk.get("error"), PaymentBookedAlready), clerk
    assert payments.procedure_balance(rt, wilhelm, pid, D("2026-04-20")).paid == monthly


def test_the_database_refuses_to_change_or_delete_a_payment(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    paid = payments.record_payment(rt, levy_actor(rt, "wilhelm"), one[0], D("2026-04-02"), "10,00")
    for statement in (f"UPDATE levy_payments SET amount = '99999.00' WHERE id = {paid.id}",
                      f"DELETE FROM levy_payments WHERE id = {paid.id}"):
        with pytest.raises(DBAPIError, match="immutable"):
            with rt.db.write() as session:
                session.execute(text(statement))
    with rt.db.read() as session:
        assert session.get(LevyPayment, paid.id).amount == "10.00"
