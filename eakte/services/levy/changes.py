"""§8 FBAG: a running levy changed or cancelled from a date.

- A change (of the household or its income, on application or ex officio) is asked for with its effective day
  and reason: the procedure metadata `pending` {"kind": "change", …} says so, and the running task is decided
  "change" (→ Berechnung). There the clerk updates the household, computes anew, a colleague confirms, and a
  change notice (kind "change") replaces the earlier notice from that day (eakte.services.levy.notices).
- A cancellation (Aufhebung, e.g. the household moved out or its income fell below the threshold) is applied
  for by one clerk (`pending` {"kind": "cancellation", …, "requested_by"}) and confirmed by another: then the
  cancellation notice is filed (kind "cancellation", no assessment; it replaces the earlier notice from its day
  and is posted with the decision) and the running task is decided "cancel" (the workflow ends, the procedure
  closes). Until then the levy runs on; the application can be withdrawn.

Both take effect on the 1st of a month within the payment period, not before the current notice's own day (a
notice is never changed backwards past where it began). The record first, the step's decision second, as for
objections (eakte.services.levy.objections)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid
from eakte.models import Procedure
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, acting_for
from eakte.services.levy.common import levy_procedure, require_step, required_text
from eakte.services.levy.objections import decide, newest_notice, open_objection, open_task, require_may_decide

REASON_MAX = 5_000


@dataclass(frozen=True)
class ChangeResult:
    procedure_id: int
    procedure_reference: str
    kind: str  # change | cancellation
    effective_from: dt.date
    notice_id: int | None  # the cancellation notice (a change's notice comes after the new computation)
    step: str | None  # where the procedure's workflow is now (None: finished)


def _period(procedure: Procedure) -> tuple[dt.date, dt.date]:
    meta = procedure.metadata_ or {}
    return dt.date.fromisoformat(str(meta["period_start"])), dt.date.fromisoformat(str(meta["period_end"]))


def _check_effective_from(session: Session, procedure: Procedure, effective_from: dt.date) -> None:
    """The 1st of a month, within the payment period, not before the current notice takes effect."""
    if effective_from.day != 1:
        raise Invalid("effective_from must be the first day of a month", field="effective_from",
                      detail_de="Eine Änderung wirkt ab dem Ersten eines Monats")
    start, end = _period(procedure)
    if not start <= effective_from <= end:
        raise Invalid(f"effective_from lies outside the payment period {start} – {end}", field="effective_from",
                      detail_de=f"Das Datum liegt außerhalb des Leistungszeitraums ({start:%d.%m.%Y} – "
                                f"{end:%d.%m.%Y})")
    current = newest_notice(session, procedure.id)
    if current is not None and effective_from < current.effective_from:
        raise Invalid("effective_from lies before the current notice takes effect", field="effective_from",
                      detail_de="Das Datum liegt vor dem Beginn des geltenden Bescheids "
                                f"({current.effective_from:%d.%m.%Y})")


def _running(rt: Runtime, session: Session, actor: Actor, procedure_id: int, what: str,
             what_de: str) -> Procedure:
    procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
    require_step(session, procedure, ("laufend",), what, what_de)
    if newest_notice(session, procedure.id, sent=True) is None:
        raise Conflict(f"{procedure.reference} has no sent notice", detail_de=f"Im Vorgang {procedure.reference} "
                                                                              "ist noch kein Bescheid versandt")
    if open_objection(session, procedure.id) is not None:
        raise Conflict(f"{procedure.reference} has an objection not yet decided",
                       detail_de="Zuerst ist über den offenen Widerspruch zu entscheiden")
    pending = (procedure.metadata_ or {}).get("pending") or {}
    if pending.get("kind") == "cancellation":
        raise Conflict(f"a cancellation of {procedure.reference} awaits its confirmation",
                       detail_de="Für diesen Vorgang ist eine Aufhebung beantragt; sie ist zuerst zu bestätigen "
                                 "oder zu verwerfen")
    if pending:
        raise Conflict(f"{procedure.reference} is waiting for a new computation already",
                       detail_de="Für diesen Vorgang ist bereits eine neue Berechnung angefordert")
    return procedure


def _result(rt: Runtime, actor: Actor, procedure_id: int, kind: str, effective_from: dt.date,
            notice_id: int | None) -> ChangeResult:
    from eakte.services.levy.common import current_step
    with rt.db.read() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id)
        return ChangeResult(procedure.id, procedure.reference, kind, effective_from, notice_id,
                            current_step(session, procedure))


def request_change(rt: Runtime, actor: Actor, procedure_id: int, effective_from: dt.date,
                   reason: str) -> ChangeResult:
    """Ask for a new computation from `effective_from` (§8): clerks of the levy unit, while the levy runs."""
    with rt.db.write() as session:
        procedure = _running(rt, session, actor, procedure_id, "A change (§8)", "Eine Änderung nach § 8 FBAG")
        text = required_text(reason, "reason", "den Grund der Änderung", REASON_MAX)
        _check_effective_from(session, procedure, effective_from)
        task = open_task(session, procedure, "laufend")
        require_may_decide(session, actor, task)
        pending = {"kind": "change", "effective_from": effective_from.isoformat(), "reason": text,
                   "objection_id": None}
        procedure.metadata_ = {**(procedure.metadata_ or {}), "pending": pending}
        procedure.updated_at = utcnow()
        audit.record(session, actor, "levy.change.request", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, **pending})
        task_id = task.id
    decide(rt, actor, task_id, "change", f"Änderung ab {effective_from:%d.%m.%Y}: {text}")
    return _result(rt, actor, procedure_id, "change", effective_from, None)


def cancel(rt: Runtime, actor: Actor, procedure_id: int, effective_from: dt.date, reason: str) -> ChangeResult:
    """Apply for the cancellation of the levy from `effective_from` (§8): recorded as pending, to be confirmed by
    a second clerk (`confirm_cancellation`) — ending a levy, possibly back to its first month, is a decision on
    money owed, made by four eyes as a computation is."""
    with rt.db.write() as session:
        procedure = _running(rt, session, actor, procedure_id, "A cancellation (§8)",
                             "Eine Aufhebung nach § 8 FBAG")
        text = required_text(reason, "reason", "den Grund der Aufhebung", REASON_MAX)
        _check_effective_from(session, procedure, effective_from)
        require_may_decide(session, actor, open_task(session, procedure, "laufend"))
        pending = {"kind": "cancellation", "effective_from": effective_from.isoformat(), "reason": text,
                   "objection_id": None, "requested_by": actor.principal.user_id}
        procedure.metadata_ = {**(procedure.metadata_ or {}), "pending": pending}
        procedure.updated_at = utcnow()
        audit.record(session, actor, "levy.cancel.request", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, **pending})
    return _result(rt, actor, procedure_id, "cancellation", effective_from, None)


def _pending_cancellation(procedure: Procedure) -> dict[str, Any]:
    pending = (procedure.metadata_ or {}).get("pending") or {}
    if pending.get("kind") != "cancellation":
        raise Conflict(f"no cancellation is applied for in {procedure.reference}",
                       detail_de=f"Für den Vorgang {procedure.reference} ist keine Aufhebung beantragt")
    return dict(pending)


def confirm_cancellation(rt: Runtime, actor: Actor, procedure_id: int) -> ChangeResult:
    """The second clerk's confirmation: the cancellation notice is filed and posted today, then the running task
    is decided "cancel" (the workflow ends). Whoever applied for it may not confirm it, nor their deputy."""
    from eakte.services.levy import notices  # the PDF library loads when a notice is made
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        require_step(session, procedure, ("laufend",), "A cancellation (§8)", "Eine Aufhebung nach § 8 FBAG")
        pending = _pending_cancellation(procedure)
        task = open_task(session, procedure, "laufend")
        require_may_decide(session, actor, task)
        identities = {actor.principal.user_id} | set(acting_for(actor.principal, task) or ())
        if pending.get("requested_by") in identities:
            raise Conflict("four-eyes principle: whoever applied for the cancellation may not confirm it",
                           detail_de="Vier-Augen-Prinzip: Wer die Aufhebung erfasst hat, kann sie nicht bestätigen "
                                     "– auch nicht in Vertretung")
        effective_from = dt.date.fromisoformat(str(pending["effective_from"]))
        _check_effective_from(session, procedure, effective_from)
        notice = notices.file_notice(rt, session, actor, procedure.case, procedure, "cancellation", None,
                                     effective_from)
        if notice.sent_on is None:
            notice.sent_on = office_today()  # no Bescheid step follows: it goes out with this decision
        session.flush()
        audit.record(session, actor, "levy.cancel", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "effective_from": effective_from.isoformat(),
                              "reason": pending.get("reason"), "requested_by": pending.get("requested_by"),
                              "notice_id": notice.id, "sent_on": notice.sent_on.isoformat()})
        task_id, notice_id, text = task.id, notice.id, str(pending.get("reason") or "")
    decide(rt, actor, task_id, "cancel", f"Aufhebung ab {effective_from:%d.%m.%Y}: {text}")
    return _result(rt, actor, procedure_id, "cancellation", effective_from, notice_id)


def withdraw_cancellation(rt: Runtime, actor: Actor, procedure_id: int) -> ChangeResult:
    """Drop an application for cancellation not yet confirmed (clerks of the levy unit): the levy runs on."""
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        require_step(session, procedure, ("laufend",), "A cancellation (§8)", "Eine Aufhebung nach § 8 FBAG")
        pending = _pending_cancellation(procedure)
        procedure.metadata_ = {k: v for k, v in (procedure.metadata_ or {}).items() if k != "pending"}
        procedure.updated_at = utcnow()
        audit.record(session, actor, "levy.cancel.withdraw", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, **pending})
    return _result(rt, actor, procedure_id, "cancellation", dt.date.fromisoformat(str(pending["effective_from"])),
                   None)
