"""The levy's dates after a notice: when a notice sent by post counts as notified, when the objection period
ends, and which monthly amounts a notice makes due. Pure: no database, no clock.

- Notification (§41(2) HVwVfG): a notice sent by post counts as notified on the third day after it was posted
  (`notification_days`, configurable). That day is not moved off a weekend: the period's end is (below).
- Objection period (§70 VwGO: one month after notification), counted like §§187(1), 188(2), (3) BGB (§57(2)
  VwGO, §222 ZPO): it ends on the day of the last month with the notified day's number, or on that month's last
  day when it has no such day (31 Jan + 1 month → 28/29 Feb); an end on a Saturday, Sunday or public holiday in
  Hesse moves to the next working day (§222(2) ZPO, §193 BGB).
- Monthly amounts: due on the 1st of each month, from the notice's effective day to the end of its period or
  the day before a later notice replaces it (superseded_from)."""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from functools import lru_cache

import holidays

HOLIDAY_REGION = ("DE", "HE")  # the town's public holidays: Germany, Hesse


@lru_cache(maxsize=64)
def _holidays(year: int) -> holidays.HolidayBase:
    country, subdiv = HOLIDAY_REGION
    return holidays.country_holidays(country, subdiv=subdiv, years=year)


def is_working_day(day: dt.date) -> bool:
    """Mon–Fri and no public holiday in Hesse (as the trade register counts: workflows.trade.recipients)."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the next one."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """The day with the same number `months` later, or that month's last day when it is shorter (§188(3) BGB)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def notified_on(sent_on: dt.date, notification_days: int) -> dt.date:
    """The day a notice posted on `sent_on` counts as notified (the third day: §41(2) HVwVfG)."""
    if notification_days < 0:
        raise ValueError(f"notification_days must not be negative, got {notification_days}")
    return sent_on + dt.timedelta(days=notification_days)


def objection_deadline(notified: dt.date, months: int) -> dt.date:
    """The last day for an objection against a notice notified on `notified` (§70 VwGO, §§188, 193 BGB)."""
    if months < 1:
        raise ValueError(f"the objection period must be at least one month, got {months}")
    return next_working_day(add_months(notified, months))


def is_late(received_on: dt.date, deadline: dt.date) -> bool:
    """An objection received after its deadline is late (it is still recorded, and flagged)."""
    return received_on > deadline


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def monthly_schedule(effective_from: dt.date, effective_to: dt.date, superseded_from: dt.date | None,
                     monthly: Decimal) -> list[tuple[dt.date, Decimal]]:
    """The amounts a notice makes due: `monthly` on the 1st of each month that begins within its effect — from
    `effective_from` to `effective_to`, or to the day before `superseded_from` when a later notice replaces it.
    Notices take effect on the 1st of a month (the services see to it); a month beginning before the notice does
    not count. No amounts for a notice of nothing (0.00, a cancellation)."""
    last = effective_to if superseded_from is None else min(effective_to, superseded_from - dt.timedelta(days=1))
    if monthly <= 0 or last < effective_from:
        return []
    due = effective_from if effective_from.day == 1 else add_months(month_start(effective_from), 1)
    out: list[tuple[dt.date, Decimal]] = []
    while due <= last:
        out.append((due, monthly))
        due = add_months(due, 1)
    return out

