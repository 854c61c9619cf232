"""The one clock: every timestamp and every date in eakte comes from here, so tests can move time.

Nothing else in eakte/ calls `datetime.now`, `date.today` or `time.time` for the wall clock (a test greps for
it); workflows/ may not import eakte, so the services hand the engine `now` from here."""
from __future__ import annotations

import datetime as dt
from typing import Callable
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Europe/Berlin")  # dates in the office's calendar, not UTC's


def _system_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


_now: Callable[[], dt.datetime] = _system_now


def now() -> dt.datetime:
    """Aware UTC, for comparing with times from outside the database (blob ages, file times)."""
    return _now().astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite drops time zones, so all stored timestamps are naive UTC everywhere."""
    return now().replace(tzinfo=None)


def office_now() -> dt.datetime:
    """Aware local time of the office (Europe/Berlin)."""
    return now().astimezone(OFFICE_TZ)


def office_today() -> dt.date:
    """Today in the office's calendar: a deputyship or a closing date changes at midnight in Berlin, not UTC."""
    return office_now().date()


def set_clock(now: Callable[[], dt.datetime] | None) -> None:
    """Replace the clock (tests, demos); None restores the system clock. `now` returns an aware datetime."""
    global _now
    _now = now or _system_now
