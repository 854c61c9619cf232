"""The levy's dates after a notice (workflows.levy.deadlines), worked by hand: the third day after posting, the
one-month objection period with the end-of-month rule and the move off weekends and Hessian holidays, and the
monthly amounts of a notice up to its end or its replacement."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from workflows.levy.deadlines import (add_months, is_late, is_working_day, monthly_schedule, next_working_day,
                                      notified_on, objection_deadline)

D = dt.date.fromisoformat


def test_a_notice_posted_counts_as_notified_on_the_third_day() -> None:
    assert notified_on(D("2026-03-02"), 3) == D("2026-03-05")
    # Not moved off a weekend (only the period's end is): posted Wednesday, notified Saturday.
    assert notified_on(D("2026-03-04"), 3) == D("2026-03-07")
    assert notified_on(D("2026-03-04"), 0) == D("2026-03-04")  # handed over in person
    with pytest.raises(ValueError):
        notified_on(D("2026-03-04"), -1)


@pytest.mark.parametrize("notified, expected", [
    ("2026-03-10", "2026-04-10"),  # a Friday: the day with the same number
    ("2028-01-31", "2028-02-29"),  # no 31 Feb: the month's last day (§188(3) BGB), a leap year, a Tuesday
    ("2026-01-30", "2026-03-02"),  # 28 Feb 2026 is a Saturday → Monday
    ("2027-01-31", "2027-03-01"),  # 28 Feb 2027 is a Sunday → Monday
    ("2026-04-02", "2026-05-04"),  # Saturday 2 May → Monday
    ("2026-03-03", "2026-04-07"),  # Good Friday, the weekend and Easter Monday → Tuesday
    ("2026-05-04", "2026-06-05"),  # Corpus Christi (a holiday in Hesse, not everywhere) → Friday
    ("2026-11-26", "2026-12-28"),  # Saturday 26 Dec (Second Day of Christmas), Sunday → Monday
])
def test_the_objection_period_is_one_month_to_the_next_working_day(notified: str, expected: str) -> None:
    assert objection_deadline(D(notified), 1) == D(expected)


def test_the_period_length_is_configurable() -> None:
    assert objection_deadline(D("2026-03-10"), 2) == D("2026-05-11")  # 10 May is a Sunday
    assert add_months(D("2026-12-31"), 2) == D("2027-02-28")
    with pytest.raises(ValueError):
        objection_deadline(D("2026-03-10"), 0)


def test_working_days_are_hessian() -> None:
    assert is_working_day(D("2026-06-03"))
    assert not is_working_day(D("2026-06-04"))  # Fronleichnam in Hesse
    assert not is_working_day(D("2026-10-03"))  # Tag der Deutschen Einheit (a Saturday anyway)
    assert not is_working_day(D("2026-03-07"))  # Saturday
    assert next_working_day(D("2026-12-24")) == D("2026-12-24")  # Christmas Eve is a working day
    assert next_working_day(D("2026-12-25")) == D("2026-12-28")


def test_an_objection_on_the_last_day_is_in_time_the_next_day_late() -> None:
    deadline = objection_deadline(notified_on(D("2026-03-02"), 3), 1)  # notified 5 Mar → 7 Apr (Easter)
    assert deadline == D("2026-04-07")
    assert not is_late(D("2026-04-07"), deadline)
    assert is_late(D("2026-04-08"), deadline)


def test_a_notice_is_due_monthly_to_the_end_of_its_period() -> None:
    rows = monthly_schedule(D("2026-04-01"), D("2029-03-31"), None, Decimal("147.60"))
    assert len(rows) == 36
    assert rows[0] == (D("2026-04-01"), Decimal("147.60"))
    assert rows[-1] == (D("2029-03-01"), Decimal("147.60"))
    assert sum(amount for _, amount in rows) == Decimal("5313.60")


def test_a_superseded_notice_ends_the_day_before_its_successor() -> None:
    rows = monthly_schedule(D("2026-04-01"), D("2029-03-31"), D("2027-01-01"), Decimal("100.00"))
    assert [d for d, _ in rows] == [D(f"2026-{m:02d}-01") for m in range(4, 13)]
    # Replaced from its first day (a remedy from the same date): nothing of it is due.
    assert monthly_schedule(D("2026-04-01"), D("2029-03-31"), D("2026-04-01"), Decimal("100.00")) == []


def test_nothing_is_due_from_a_notice_of_nothing_or_before_a_month_begins() -> None:
    assert monthly_schedule(D("2026-04-01"), D("2029-03-31"), None, Decimal("0.00")) == []
    # A notice from the middle of a month: its first amount is the next month's.
    rows = monthly_schedule(D("2026-04-15"), D("2026-06-30"), None, Decimal("10.00"))
    assert [d for d, _ in rows] == [D("2026-05-01"), D("2026-06-01")]
