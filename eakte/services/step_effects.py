"""What deciding a step does beyond routing, per case type: preconditions the pure engine cannot see (they need
the database) and effects inside the deciding transaction (a trade notification's Eintragung writes the register
entry, entering the receipt step files the receipt). The workflow service calls them; the case types' services
implement them. One table, so the workflow service depends on no case type's service by name."""
from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from eakte.models import Task
from eakte.runtime import Runtime
from eakte.services.access import Actor
from eakte.services.levy.effects import LEVY_EFFECTS
from eakte.services.trade.effects import TRADE_EFFECTS
from workflows.engine import Outcome


class StepEffects(Protocol):
    def check(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        """Refuse the decision the engine allowed (raise an EakteError), e.g. while transmissions are pending."""

    def apply(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        """Carry out what the decision means, in its transaction (the task is closed, new tasks are added)."""


_EFFECTS: dict[str, StepEffects] = {"trade": TRADE_EFFECTS, "levy": LEVY_EFFECTS}


def effects_for(case_type_key: str) -> StepEffects | None:
    return _EFFECTS.get(case_type_key)
