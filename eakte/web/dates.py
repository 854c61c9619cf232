"""Dates as forms send them."""
from __future__ import annotations

import datetime as dt


def form_date(value: str) -> dt.date | None:
    """ISO (what a date input sends) or TT.MM.JJJJ (typed where the browser has no date picker); None if neither."""
    for parse in (dt.date.fromisoformat, lambda v: dt.datetime.strptime(v, "%d.%m.%Y").date()):
        try:
            return parse(value.strip())
        except ValueError:
            continue
    return None
