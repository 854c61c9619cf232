"""The one clock: every timestamp in eakte comes from here, so tests can move time."""
from __future__ import annotations

import datetime as dt
from typing import Callable

_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite drops time zones, so all stored timestamps are naive UTC everywhere."""
    return _now().astimezone(dt.timezone.utc).replace(tzinfo=None)


def set_clock(now: Callable[[], dt.datetime] | None) -> None:
    global _now
    _now = now or (lambda: dt.datetime.now(dt.timezone.utc))
