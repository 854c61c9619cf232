"""The levy workflow's effects (eakte.services.step_effects): what deciding a levy procedure's step needs and does.

- check() refuses, before anything is written: "erhebung/no_answer" before the answer deadline has passed;
  "pruefung/complete" while the household is incomplete (an adult's income missing, …); "berechnung/computed"
  without a computation made in this round (in the Berechnung task being decided); "vier_augen/confirm" by the
  one who computed this round's result or decided its Berechnung (also as a deputy for them, and for a deputy who
  decided in their name), and when the inputs have changed since the computation; in "laufend": "objection"
  without a recorded open objection, "change"/"cancel" without the pending change or cancellation, "period_end"
  before the period's last day.
- apply(), in the decision's transaction: "erhebung/answered" marks the answer received; entering "bescheid"
  files the notice of this round's computation (notices.file_notice); "bescheid/sent" marks it sent;
  "laufend/period_end" sets the unit's re-survey follow-up; the workflow finishing closes the procedure.

Four-eyes is per round here, not the engine's NotSameAs (see workflows.levy.case_type). This module must not
import eakte.services.workflow (workflow imports it through step_effects); the levy modules that load the
computation, the tables and the PDF library are imported when first needed.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict
from eakte.models import LevyAssessment, LevyObjection, Procedure, Task, WorkflowEvent
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor, acting_for
from workflows.engine import Outcome

NOTICE_FOR = {"initial": "assessment", "change": "change", "remedy": "change"}


def _day(meta: dict[str, Any], key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(meta.get(key)))
    except ValueError:
        return None


def round_assessment(session: Session, procedure: Procedure, berechnung_task_id: int | None = None
                     ) -> LevyAssessment | None:
    """The procedure's newest computation, when it was made in this round: in the given Berechnung task, or
    (None) in the newest one."""
    from eakte.services.levy.assessment import ROUND_KEY, newest
    assessment = newest(session, procedure.id)
    if assessment is None:
        return None
    if berechnung_task_id is None:
        berechnung_task_id = session.execute(select(Task.id).where(Task.procedure_id == procedure.id,
                                                                   Task.step == "berechnung")
                                             .order_by(Task.id.desc()).limit(1)).scalar()
    return assessment if (assessment.result or {}).get(ROUND_KEY) == berechnung_task_id else None


def _deciders(session: Session, task_id: int) -> set[int]:
    """Who decided the task: the decider, and the absent colleagues a deputy decided it for."""
    task = session.get(Task, task_id)
    ids = {task.decided_by} if task is not None and task.decided_by is not None else set()
    for details in session.execute(select(WorkflowEvent.details).where(WorkflowEvent.task_id == task_id,
                                                                       WorkflowEvent.action == "decided")).scalars():
        found = details.get("on_behalf_of_ids") if isinstance(details, dict) else None
        ids |= {i for i in found or () if isinstance(i, int)}
    return ids


def _refuse(message: str, message_de: str, **extra: Any) -> Conflict:
    return Conflict(message, detail_de=message_de, **extra)


class LevyEffects:
    def check(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        procedure = task.procedure
        if procedure is None:
            return
        meta = dict(procedure.metadata_ or {})
        key = (task.step, outcome.decision.key)
        today = office_today()
        if key == ("erhebung", "no_answer"):
            if meta.get("answered_on"):  # the household answered: its figures decide, not the highest band
                raise _refuse("the household has answered: compute from its figures",
                              "Der Haushalt hat Auskunft gegeben; bitte nach seinen Angaben berechnen, nicht nach "
                              "der höchsten Stufe")
            deadline = _day(meta, "deadline")
            if deadline is None or deadline >= today:
                shown = deadline.strftime("%d.%m.%Y") if deadline else "–"
                raise _refuse(f"the answer deadline ({deadline}) has not passed yet",
                              f"Die Antwortfrist (bis {shown}) ist noch nicht abgelaufen; eine Festsetzung nach "
                              "der höchsten Stufe ist erst danach möglich", deadline=str(deadline))
        elif key == ("pruefung", "complete"):
            self._require_complete(session, procedure)
        elif key == ("berechnung", "computed"):
            if round_assessment(session, procedure, task.id) is None:
                raise _refuse(f"{procedure.reference} has not been computed in this round",
                              f"Für {procedure.reference} liegt noch keine Berechnung in diesem Durchgang vor; "
                              "bitte zuerst berechnen")
        elif key == ("vier_augen", "confirm"):
            self._four_eyes(session, actor, task, procedure)
        elif task.step in ("laufend", "widerspruch"):
            if task.step == "laufend":
                self._running(session, procedure, meta, outcome.decision.key, today)
            # objection/change/cancel and remedy/reject only with their record (objections.check_decision): a
            # cancel needs the cancellation notice the second clerk's confirmation files, not the application
            from eakte.services.levy.objections import check_decision
            check_decision(session, procedure, task.step, outcome.decision.key)

    @staticmethod
    def _require_complete(session: Session, procedure: Procedure) -> None:
        from eakte.services.levy.assessment import basis
        from workflows.levy.household import HouseholdError
        try:
            basis(session, procedure.case, procedure)
        except HouseholdError as exc:
            raise _refuse(f"the household is incomplete: {exc.message}",
                          f"Die Angaben des Haushalts sind unvollständig: {exc.message_de}", field=exc.path
                          ) from None
        except ValueError as exc:  # the computation's own input check (LevyInputError)
            raise _refuse(f"the household is incomplete: {exc}",
                          "Die Angaben des Haushalts sind unvollständig: "
                          f"{getattr(exc, 'message_de', None) or exc}",
                          field=getattr(exc, "field", None)) from None

    @staticmethod
    def _four_eyes(session: Session, actor: Actor, task: Task, procedure: Procedure) -> None:
        from eakte.services.levy.assessment import ROUND_KEY, basis
        from workflows.levy.household import HouseholdError, input_json
        assessment = round_assessment(session, procedure)
        if assessment is None:
            raise _refuse(f"{procedure.reference} has no computation of this round to confirm",
                          f"Für {procedure.reference} gibt es keine Berechnung dieses Durchgangs zu bestätigen")
        identities = {actor.principal.user_id} | set(acting_for(actor.principal, task) or ())
        round_task = (assessment.result or {}).get(ROUND_KEY)
        deciders = _deciders(session, round_task) if isinstance(round_task, int) else set()
        if assessment.computed_by in identities or deciders & identities:
            raise _refuse("four-eyes principle: whoever computed this result or decided its Berechnung may not "
                          "confirm it",
                          "Vier-Augen-Prinzip: Wer die Berechnung durchgeführt oder den Schritt Berechnung "
                          "entschieden hat, kann sie nicht bestätigen – auch nicht in Vertretung")
        try:
            now = input_json(basis(session, procedure.case, procedure).input)
        except (HouseholdError, ValueError):
            now = None
        if now != assessment.inputs:
            raise _refuse("the inputs have changed since the computation; compute anew",
                          "Die Angaben haben sich seit der Berechnung geändert; bitte zurück zur Berechnung und "
                          "neu berechnen")

    @staticmethod
    def _running(session: Session, procedure: Procedure, meta: dict[str, Any], key: str, today: dt.date) -> None:
        pending = meta.get("pending") if isinstance(meta.get("pending"), dict) else {}
        if key == "objection":
            open_one = session.execute(select(LevyObjection.id).where(LevyObjection.procedure_id == procedure.id,
                                                                      LevyObjection.status == "open")
                                       .limit(1)).scalar()
            if open_one is None:
                raise _refuse("no open objection is recorded for this procedure",
                              "Zu diesem Vorgang ist kein offener Widerspruch erfasst; bitte zuerst den "
                              "Widerspruch mit seinem Eingangsdatum erfassen")
        elif key == "change" and pending.get("kind") != "change":
            raise _refuse("no change (§8 FBAG) is recorded for this procedure",
                          "Zu diesem Vorgang ist keine Änderung nach § 8 FBAG erfasst; bitte zuerst die Änderung "
                          "mit ihrem Datum erfassen")
        elif key == "cancel" and pending.get("kind") != "cancellation":
            raise _refuse("no cancellation (§8 FBAG) is recorded for this procedure",
                          "Zu diesem Vorgang ist keine Aufhebung nach § 8 FBAG erfasst; bitte zuerst die Aufhebung "
                          "erfassen")
        elif key == "period_end":
            end = _day(meta, "period_end")
            if end is None or today < end:
                shown = end.strftime("%d.%m.%Y") if end else "–"
                raise _refuse(f"the payment period runs until {end}",
                              f"Der Leistungszeitraum läuft noch bis {shown}")

    def apply(self, rt: Runtime, session: Session, actor: Actor, task: Task, outcome: Outcome) -> None:
        procedure = task.procedure
        if procedure is None:
            return
        key = (task.step, outcome.decision.key)
        if key == ("erhebung", "answered") and not (procedure.metadata_ or {}).get("answered_on"):
            procedure.metadata_ = {**(procedure.metadata_ or {}), "answered_on": office_today().isoformat()}
        if outcome.entered == "bescheid":
            self._file_notice(rt, session, actor, procedure)
        if key == ("bescheid", "sent"):
            from eakte.services.levy import notices
            notices.mark_sent(session, actor, procedure)
        if key == ("laufend", "period_end"):
            self._resurvey(rt, session, actor, procedure)
        if outcome.finished:
            _close(session, actor, procedure, outcome.finished)

    @staticmethod
    def _file_notice(rt: Runtime, session: Session, actor: Actor, procedure: Procedure) -> None:
        from eakte.services.levy import notices
        assessment = round_assessment(session, procedure)
        if assessment is None:
            raise _refuse(f"{procedure.reference} has no computation of this round for a notice",
                          f"Für {procedure.reference} gibt es keine Berechnung dieses Durchgangs für einen Bescheid")
        notices.file_notice(rt, session, actor, procedure.case, procedure, NOTICE_FOR.get(assessment.kind,
                                                                                          "assessment"),
                            assessment, assessment.effective_from)
        meta = dict(procedure.metadata_ or {})
        pending = meta.get("pending")
        if isinstance(pending, dict) and pending.get("kind") in ("change", "remedy"):
            # The notice carries the change out: nothing is pending any more.
            meta.pop("pending")
            procedure.metadata_ = meta

    @staticmethod
    def _resurvey(rt: Runtime, session: Session, actor: Actor, procedure: Procedure) -> None:
        from eakte.services import followups
        meta = procedure.metadata_ or {}
        end = _day(meta, "period_end")
        note = (f"Neuerhebung Fehlbelegungsabgabe: der Leistungszeitraum von {procedure.reference} ist "
                f"{'am ' + end.strftime('%d.%m.%Y') + ' ' if end else ''}abgelaufen")
        followups.create_followup(session, actor, procedure.case_id,
                                  # At the case: the procedure closes now, the re-survey opens a new one.
                                  followups.NewFollowUp(office_today(), note, for_unit=True),
                                  registry=rt.registry)


def _close(session: Session, actor: Actor, procedure: Procedure, how: str) -> None:
    if procedure.status != "open":
        return
    procedure.status, procedure.closed_at, procedure.updated_at = "closed", office_today(), utcnow()
    audit.record(session, actor, "procedure.close", "procedure", procedure.id, case_id=procedure.case_id,
                 details={"reference": procedure.reference, "workflow": how})


LEVY_EFFECTS = LevyEffects()
