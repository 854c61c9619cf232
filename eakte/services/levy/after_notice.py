"""What a levy procedure's page shows after the notice: its objections, the open one, the deadline of an
objection against the newest sent notice, the balance, and which actions the actor may take in this step."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eakte.clock import office_today
from eakte.models import User
from eakte.runtime import Runtime
from eakte.services.access import Actor
from eakte.services.levy import objections, payments, queries


@dataclass(frozen=True)
class PendingCancellation:
    """An application for cancellation awaiting the second clerk (eakte.services.levy.changes)."""

    effective_from: dt.date
    reason: str
    requested_by: str  # the applicant's name
    may_confirm: bool  # a levy clerk other than the applicant
    may_withdraw: bool


@dataclass(frozen=True)
class AfterNotice:
    """The after-notice section of a procedure page."""

    procedure_id: int
    step: str | None
    may_change: bool
    objections: list[objections.ObjectionEntry]
    open_objection: objections.ObjectionEntry | None
    deadline: objections.Deadline | None  # of an objection against the newest sent notice
    balance: payments.Balance
    may_object: bool
    may_change_or_cancel: bool
    may_decide: bool
    may_pay: bool
    cancellation: PendingCancellation | None = None


def after_notice(rt: Runtime, actor: Actor, procedure_id: int) -> AfterNotice | None:
    """The section's data; None before any notice (nothing after it yet)."""
    view = queries.procedure_view(rt, actor, procedure_id)
    if not view.notices:
        return None
    with rt.db.read() as session:
        entries = objections.objections_of(session, procedure_id)
        balance = payments.balance_in(session, view.procedure, office_today())
        sent = objections.newest_notice(session, procedure_id, sent=True)
        deadline = objections.deadline_of(rt, sent) if sent is not None else None
        # shown while the levy runs (after the confirmation the record stays in the metadata, as a change's does)
        cancellation = _cancellation(session, actor, view.pending, view.may_change) \
            if view.step == "laufend" else None
    open_one = next((o for o in reversed(entries) if o.status == "open"), None)
    running = view.may_change and view.step == "laufend"
    return AfterNotice(procedure_id, view.step, view.may_change, entries, open_one, deadline, balance,
                       may_object=running and deadline is not None and open_one is None,
                       may_change_or_cancel=running and open_one is None and not view.pending,
                       may_decide=view.may_change and view.step == "widerspruch" and open_one is not None,
                       may_pay=view.may_change, cancellation=cancellation)


def _cancellation(session: Session, actor: Actor, pending: dict[str, Any] | None,
                  running: bool) -> PendingCancellation | None:
    if not pending or pending.get("kind") != "cancellation":
        return None
    applicant = pending.get("requested_by")
    user = session.get(User, applicant) if isinstance(applicant, int) else None
    return PendingCancellation(dt.date.fromisoformat(str(pending["effective_from"])), str(pending.get("reason") or ""),
                               (user.display_name or user.username) if user is not None else "–",
                               may_confirm=running and applicant != actor.principal.user_id, may_withdraw=running)
