"""Calendar arithmetic the case types share (pure: no clock)."""
from __future__ import annotations

import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` plus whole years; 29 February becomes 28 February in a year without it (periods end no later)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
