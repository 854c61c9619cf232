"""The trade workflow's effects (eakte.services.step_effects): what deciding a notification's step does.

- check() refuses, before anything is written: "datenuebermittlung/transmitted" while a transmission of the
  procedure is pending or failed (409 naming how many); "pruefung/complete" while the procedure is on hold
  (missing documents, eakte.services.trade.intake.hold).
- apply(), in the decision's transaction: "eintragung/register" → register.register_notification (a TradeEntry
  row, the case metadata mirror); entering "empfangsbescheinigung" → letters.file_receipt (PDF/A, kind
  `receipt`, in the procedure); entering "datenuebermittlung" → outbox.create_transmissions; the workflow
  finishing closes the procedure, and the case once the business is closed (an Abmeldung entered) or was never
  entered (an Anmeldung rejected).

This module must not import eakte.services.workflow (workflow imports it through step_effects); the letters and
outbox modules are called through their module attributes (imported when first needed), so each can be
replaced (and tested) on its own.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict
from eakte.models import Case, FollowUp, Procedure, Task, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import audit, indexing
from eakte.services.access import Actor
from eakte.services.trade import register
from workflows.engine import Outcome

HOLD_KEY = "hold"  # the procedure metadata key of a notification put on hold (intake.hold)


class TradeEffects:
    def check(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        procedure = task.procedure
        if procedure is None:
            return
        key = outcome.decision.key
        if task.step == "eintragung" and key == "register":
            # The business's lock before the decision writes anything: taken later (in register, after the
            # audit chain's lock) it deadlocks with a second Eintragung of the business holding the case row's
            # key-share lock of its new rows while waiting for the audit lock (PostgreSQL).
            register.lock_business(session, task.case_id)
        if task.step == "pruefung" and key == "complete" and (procedure.metadata_ or {}).get(HOLD_KEY):
            raise Conflict(f"{procedure.reference} is on hold for missing documents; resume it first",
                           detail_de=f"Die Anzeige {procedure.reference} ist wegen fehlender Unterlagen "
                                     "zurückgestellt; bitte zuerst fortsetzen")
        if task.step == "datenuebermittlung" and key == "transmitted":
            from eakte.services.trade import outbox
            waiting = outbox.open_count(session, procedure.id)
            if waiting:
                raise Conflict(f"{waiting} transmission(s) of {procedure.reference} have not gone out yet "
                               "(pending or failed)",
                               detail_de=f"{waiting} Datenübermittlung(en) der Anzeige {procedure.reference} "
                                         "sind noch nicht versandt (ausstehend oder fehlgeschlagen)",
                               pending=waiting)

    def apply(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        procedure = task.procedure
        if procedure is None:
            return
        # Imported here: the PDF library is loaded when a receipt is made, not by everything that imports the
        # workflow service.
        from eakte.services.trade import letters, outbox
        case = task.case
        if task.step == "eintragung" and outcome.decision.key == "register":
            register.register_notification(session, actor, case, procedure)
        if outcome.entered == "empfangsbescheinigung":
            letters.file_receipt(rt, session, actor, case, procedure)
        if outcome.entered == "datenuebermittlung":
            outbox.create_transmissions(rt, session, actor, case, procedure)
        if outcome.finished:
            _end_hold(session, actor, procedure)
            _finish(session, actor, case, procedure, outcome.finished)


def _end_hold(session: Session, actor: Actor, procedure: Procedure) -> None:
    """A notification rejected while it waited for documents waits no more: its reminder would come back to the
    Postkorb for something dealt with."""
    state = (procedure.metadata_ or {}).get(HOLD_KEY)
    if not state:
        return
    from eakte.services import followups
    fu_id = state.get("followup_id") if isinstance(state, dict) else None
    fu = session.get(FollowUp, fu_id) if isinstance(fu_id, int) else None
    if fu is not None and fu.status == "open" and fu.procedure_id == procedure.id:
        followups.mark_done(session, actor, fu.id)
    procedure.metadata_ = {k: v for k, v in (procedure.metadata_ or {}).items() if k != HOLD_KEY}
    audit.record(session, actor, "trade.resume", "procedure", procedure.id, case_id=procedure.case_id,
                 details={"procedure": procedure.reference, "held_since": state.get("since")
                          if isinstance(state, dict) else None, "by": "workflow finished"})


def _finish(session: Session, actor: Actor, case: Case, procedure: Procedure, how: str) -> None:
    """The notification is dealt with: its procedure is closed; the case too when the business is closed or never
    came into the register (a rejected Anmeldung), unless another notification of it is still open."""
    today = office_today()
    if procedure.status == "open":
        procedure.status, procedure.closed_at, procedure.updated_at = "closed", today, utcnow()
        audit.record(session, actor, "procedure.close", "procedure", procedure.id, case_id=case.id,
                     details={"reference": procedure.reference, "workflow": how})
    current = register.current_entry(session, case.id)
    if case.status != "open" or (current is not None and current.status != "closed"):
        return
    # Another notification still being dealt with (its workflow running); a procedure opened by hand for
    # correspondence is no notification and does not keep a deregistered business open.
    still_open = session.execute(select(WorkflowInstance.id).where(WorkflowInstance.case_id == case.id,
                                                                   WorkflowInstance.status == "running",
                                                                   WorkflowInstance.procedure_id != procedure.id)
                                 ).first()
    if still_open:
        return
    case.status, case.closed_at, case.updated_at = "closed", today, utcnow()
    audit.record(session, actor, "case.close", "case", case.id, case_id=case.id,
                 details={"closed_at": today.isoformat(), "by": "trade." + ("abmeldung" if current else how)})
    indexing.case_changed(session, case.id)


TRADE_EFFECTS = TradeEffects()
