"""Payments of the levy (issue 14 point 7): the monthly amounts each sent notice makes due, payments typed in or
imported from the cash office's CSV (decimal comma; duplicates and unmatched lines reported and skipped; a
malformed file books nothing), balances and the arrears list. Clerks of the levy unit write; auditors read."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

from eakte.errors import Forbidden, Invalid, NotFound
from eakte.models import AuditEvent, LevyNotice, LevyPayment, Procedure
from eakte.runtime import Runtime
from eakte.services.levy import payments
from tests.levy_fixtures import (at_day, build_flat_procedure, flat_metadata, levy_actor, levy_runtime_at, members,
                                 run_to_running)

D = dt.date.fromisoformat
HEADER = "Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck\n"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc), town=True) as runtime:
        yield runtime


def running(rt: Runtime, flat_id: str, income: str = "27000.00") -> tuple[int, str, Decimal]:
    """(procedure id, reference, monthly amount) of a running levy, its notice sent on 2 April 2026."""
    _, pid = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), flat_metadata(flat_id=flat_id),
                                  household=members(income))
    notice_id = run_to_running(rt, pid)
    with rt.db.read() as session:
        return pid, session.get(Procedure, pid).reference, Decimal(session.get(LevyNotice, notice_id).monthly_levy)


@pytest.fixture
def one(rt: Runtime) -> tuple[int, str, Decimal]:
    return running(rt, "GWH-1")


def test_the_balance_counts_what_is_due_to_date(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    assert monthly > 0
    payments.record_payment(rt, levy_actor(rt, "wilhelm"), pid, D("2026-04-02"), str(monthly), "April")
    b = payments.procedure_balance(rt, levy_actor(rt, "rita"), pid, D("2026-06-15"))  # the auditor reads it
    assert (b.expected_to_date, b.paid, b.balance) == (3 * monthly, monthly, 2 * monthly)
    assert b.oldest_unpaid == D("2026-05-01")
    assert len(b.schedule) == 36 and b.expected_total == 36 * monthly
    assert [(p.amount, p.reference, p.source, p.recorded_by) for p in b.payments] == [
        (monthly, "April", "manual", "wilhelm")]
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "levy.payment.record")).scalar_one()
        assert event.details["amount"] == str(monthly) and event.case_id is not None


@pytest.mark.parametrize("amount", ["0", "-5,00", "12,345", "abc", "1e3", "100000,01"])
def test_a_payment_needs_a_positive_amount_in_cents(rt: Runtime, one: tuple[int, str, Decimal],
                                                     amount: str) -> None:
    with pytest.raises(Invalid) as exc:
        payments.record_payment(rt, levy_actor(rt, "wilhelm"), one[0], D("2026-04-02"), amount)
    assert exc.value.extra["field"] == "amount"


def test_german_amounts_and_dates_in_the_future(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid = one[0]
    assert payments.record_payment(rt, levy_actor(rt, "lena"), pid, D("2026-04-01"), "1.234,50").amount == \
        Decimal("1234.50")
    with pytest.raises(Invalid) as exc:
        payments.record_payment(rt, levy_actor(rt, "lena"), pid, D("2026-04-03"), "10,00")
    assert exc.value.extra["field"] == "paid_on"


def test_only_the_levy_units_clerks_record_payments(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid = one[0]
    with pytest.raises(NotFound):
        payments.record_payment(rt, levy_actor(rt, "anna"), pid, D("2026-04-02"), "10,00")
    with pytest.raises(NotFound):
        payments.procedure_balance(rt, levy_actor(rt, "anna"), pid)
    with pytest.raises(Forbidden):
        payments.record_payment(rt, levy_actor(rt, "rita"), pid, D("2026-04-02"), "10,00")
    with pytest.raises(Forbidden):
        payments.import_payments(rt, levy_actor(rt, "rita"), (HEADER + "B1;02.04.2026;10,00;x\n").encode())
    with pytest.raises(Forbidden):
        payments.import_payments(rt, levy_actor(rt, "anna"), (HEADER + "B1;02.04.2026;10,00;x\n").encode())
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevyPayment)).scalar() == 0


def test_the_cash_offices_csv_books_matched_lines_and_reports_the_rest(rt: Runtime,
                                                                       one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    pid2, ref2, _ = running(rt, "GWH-2")
    amount = f"{monthly}".replace(".", ",")
    data = (HEADER + f"K-001;01.04.2026;{amount};Fehlbelegungsabgabe {ref} April\n"
            f"K-002;02.04.2026;1.000,00;FBA {ref2}\n"
            f"K-001;02.04.2026;{amount};Fehlbelegungsabgabe {ref} April\n"        # twice in the file
            "K-003;02.04.2026;50,00;Miete Goethestraße\n"                         # no reference
            "K-004;02.04.2026;50,00;Abgabe 50.20/9999/2026-1\n"                   # no such procedure
            f"K-005;02.04.2026;50,00;{ref} und {ref2}\n"                           # two of them
            "\n").encode("utf-8")
    report = payments.import_payments(rt, levy_actor(rt, "wilhelm"), data, "kasse.csv")
    assert [(i.line, i.booking_id, i.procedure_id, i.amount) for i in report.imported] == [
        (2, "K-001", pid, monthly), (3, "K-002", pid2, Decimal("1000.00"))]
    assert [(p.line, p.kind) for p in report.problems] == [(4, "duplicate"), (5, "unmatched"), (6, "unmatched"),
                                                           (7, "unmatched")]
    assert "50.20/9999/2026-1" in report.problems[2].message_de
    # The same file again: every line booked before is a duplicate now, nothing is booked twice.
    again = payments.import_payments(rt, levy_actor(rt, "lena"), data, "kasse.csv")
    assert again.imported == [] and [p.kind for p in again.duplicates] == ["duplicate"] * 3
    with rt.db.read() as session:
        rows = session.execute(select(LevyPayment).order_by(LevyPayment.id)).scalars().all()
        assert [(r.booking_id, r.source, r.procedure_id) for r in rows] == [("K-001", "import", pid),
                                                                             ("K-002", "import", pid2)]
        summary = session.execute(select(AuditEvent.details).where(AuditEvent.action == "levy.payments.import")
                                  .order_by(AuditEvent.id)).scalars().all()
        assert [(s["imported"], s["duplicates"], s["unmatched"]) for s in summary] == [
            (2, [4], [5, 6, 7]), (0, [2, 3, 4], [5, 6, 7])]


@pytest.mark.parametrize("body, line, field", [
    ("K-1;02.04.2026;10,00;{ref}\nK-2;31.02.2026;10,00;{ref}\n", 3, "Buchungsdatum"),
    ("K-1;02.04.2026;10,00;{ref}\nK-2;02.04.2026;zehn;{ref}\n", 3, "Betrag"),
    ("K-1;02.04.2026;10,00;{ref}\nK-2;02.04.2026;-10,00;{ref}\n", 3, "Betrag"),
    ("K-1;02.04.2026;10,00\n", 2, "file"),
    (";02.04.2026;10,00;{ref}\n", 2, "Buchungsnummer"),
])
def test_a_malformed_file_books_nothing(rt: Runtime, one: tuple[int, str, Decimal], body: str, line: int,
                                        field: str) -> None:
    with pytest.raises(Invalid) as exc:
        payments.import_payments(rt, levy_actor(rt, "wilhelm"), (HEADER + body.format(ref=one[1])).encode())
    assert (exc.value.extra["line"], exc.value.extra["field"]) == (line, field)
    assert "nichts gebucht" in exc.value.detail_de
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevyPayment)).scalar() == 0


def test_a_wrong_header_or_no_text_is_malformed(rt: Runtime) -> None:
    for data in (b"Nummer;Datum;Betrag\n1;02.04.2026;1,00\n", b"", b"\xff\xfe\x00\x00"):
        with pytest.raises(Invalid) as exc:
            payments.import_payments(rt, levy_actor(rt, "wilhelm"), data)
        assert exc.value.extra["field"] == "file"


def test_a_windows_export_is_read(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    data = (HEADER + f"K-9;02.04.2026;10,00;Müller {one[1]} Abgabe\n").encode("cp1252")
    report = payments.import_payments(rt, levy_actor(rt, "wilhelm"), data)
    assert [i.procedure_id for i in report.imported] == [one[0]]
    with rt.db.read() as session:
        assert session.execute(select(LevyPayment.reference)).scalar_one() == f"Müller {one[1]} Abgabe"


def test_arrears_list_who_owes_since_when(rt: Runtime, one: tuple[int, str, Decimal]) -> None:
    pid, ref, monthly = one
    pid2, ref2, monthly2 = running(rt, "GWH-2")
    at_day("2026-06-10")
    payments.record_payment(rt, levy_actor(rt, "wilhelm"), pid, D("2026-06-01"), str(3 * monthly))  # paid up
    payments.record_payment(rt, levy_actor(rt, "wilhelm"), pid2, D("2026-04-05"), str(monthly2))  # April only
    rows = payments.arrears(rt, levy_actor(rt, "rita"))
    assert [(r.procedure_id, r.amount, r.oldest_unpaid) for r in rows] == [(pid2, 2 * monthly2, D("2026-05-01"))]
    assert rows[0].procedure_reference == ref2 and rows[0].expected_to_date == 3 * monthly2
    assert payments.arrears(rt, levy_actor(rt, "wilhelm"), D("2026-04-15"))[0].procedure_id == pid
    with pytest.raises(Forbidden):
        payments.arrears(rt, levy_actor(rt, "anna"))
