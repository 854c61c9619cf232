"""The rules of an adverse item (nachteiliger Vorgang) in a personnel file, as pure functions: the hearing comes
first (BBG §109), the item is filed with the statement beside it, and it is removed on the employee's application
once its removal date has passed, or at once when it proved unfounded (BBG §112). No database, no clock: the
caller passes today."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from workflows.dates import add_years

Status = Literal["hearing", "filed", "removed"]
RemovalGround = Literal["application", "unfounded"]


class AdverseRuleError(Exception):
    """A step the rules do not allow now; `message`/`message_de` say why."""

    def __init__(self, message: str, message_de: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_de = message_de


@dataclass(frozen=True)
class ItemState:
    status: Status
    heard: bool  # a statement was recorded, or that the employee declined to give one
    removal_due_on: dt.date | None = None


def hearing_due(today: dt.date, days: int) -> dt.date:
    return today + dt.timedelta(days=days)


def removal_due(filed_on: dt.date, years: int) -> dt.date:
    """The day from which the employee may apply for removal: `years` after filing."""
    return add_years(filed_on, years)


def require_may_record_hearing(state: ItemState) -> None:
    if state.status != "hearing":
        raise AdverseRuleError("the hearing of this item is over", "Die Anhörung zu diesem Vorgang ist abgeschlossen")
    if state.heard:
        raise AdverseRuleError("the employee's statement has already been recorded",
                               "Die Stellungnahme ist bereits erfasst")


def require_may_file(state: ItemState) -> None:
    """Filing needs the hearing: a statement recorded or declined. There is no way around it."""
    if state.status != "hearing":
        raise AdverseRuleError("this item is no longer waiting to be filed",
                               "Dieser Vorgang wartet nicht mehr auf die Aufnahme in die Akte")
    if not state.heard:
        raise AdverseRuleError("the employee must be heard first: record their statement or that they declined",
                               "Die beschäftigte Person ist zuerst anzuhören: Stellungnahme oder Verzicht erfassen")


def require_may_remove(state: ItemState, ground: RemovalGround, today: dt.date) -> None:
    """An unfounded item goes at once (also during the hearing); on application, only a filed item whose removal
    date has come."""
    if state.status == "removed":
        raise AdverseRuleError("this item has already been removed", "Dieser Vorgang wurde bereits entfernt")
    if ground == "unfounded":
        return
    if state.status != "filed" or state.removal_due_on is None:
        raise AdverseRuleError("only a filed item can be removed on application",
                               "Auf Antrag kann nur ein in die Akte aufgenommener Vorgang entfernt werden")
    if today < state.removal_due_on:
        raise AdverseRuleError(
            f"this item can be removed on application from {state.removal_due_on.isoformat()}",
            f"Dieser Vorgang kann erst ab dem {state.removal_due_on:%d.%m.%Y} auf Antrag entfernt werden")
