"""The computation of a levy procedure (Berechnung): the input from the flat (the case's fields), the household,
the reference date and whether the household answered; the tables in force (eakte.services.levy.tables); the
pure computation (workflows.levy.compute). Each computation is a new LevyAssessment row (immutable) holding every
input, the result, the table version and its hash, who computed it and for which round (the Berechnung task it
was made in, so the four-eyes check knows this round's computation from an earlier one)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eakte.errors import Conflict
from eakte.models import Case, LevyAssessment, Procedure, Task
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.levy.common import levy_procedure, require_step
from eakte.services.levy.household import invalid
from workflows.levy.household import HouseholdError, input_json, levy_input

PENDING_KINDS = ("change", "remedy")  # a pending §8 change or objection remedy: computed from its date
ROUND_KEY = "round_task_id"  # the result's note of the Berechnung task the computation was made in


@dataclass(frozen=True)
class Basis:
    """What a computation of the procedure is made from now."""

    kind: str  # initial | change | remedy
    effective_from: dt.date
    reference_date: dt.date
    answered: bool
    input: Any  # workflows.levy.compute.LevyInput


def _day(meta: dict[str, Any], key: str, label_de: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(meta.get(key)))
    except ValueError:
        raise Conflict(f"the procedure has no valid {key}", field=key,
                       detail_de=f"Der Vorgang hat kein gültiges Datum „{label_de}“") from None


def pending(meta: dict[str, Any]) -> dict[str, Any] | None:
    value = meta.get("pending")
    return value if isinstance(value, dict) else None


# The decisions that lead into Berechnung: whether the household answered is the latest one's word.
INTO_BERECHNUNG = (("erhebung", "no_answer"), ("pruefung", "complete"), ("laufend", "change"),
                   ("widerspruch", "remedy"))


def answered(session: Session, procedure: Procedure) -> bool:
    """False when this round came to Berechnung because the survey went unanswered (Erhebung decided
    "no_answer"): the highest band. An answer that comes late goes through Prüfung again (Berechnung "back"),
    and a change or remedy brings the household's own information."""
    rows = session.execute(select(Task.step, Task.decision).where(Task.procedure_id == procedure.id,
                                                                  Task.status == "done")
                           .order_by(Task.id.desc())).all()
    last = next(((step, decision) for step, decision in rows if (step, decision) in INTO_BERECHNUNG), None)
    return last != ("erhebung", "no_answer")


def basis(session: Session, case: Case, procedure: Procedure) -> Basis:
    """The computation's input as the procedure's data give it now (HouseholdError when incomplete)."""
    meta = dict(procedure.metadata_ or {})
    p = pending(meta)
    if p is not None and p.get("kind") in PENDING_KINDS:
        kind = str(p["kind"])
        effective_from = reference = _day(p, "effective_from", "wirksam ab")
    else:
        kind = "initial"
        effective_from = _day(meta, "period_start", "Beginn des Leistungszeitraums")
        reference = _day(meta, "reference_date", "Stichtag")
    says = answered(session, procedure)
    inp = levy_input(case.metadata_ or {}, meta.get("household") or {}, reference, says)
    return Basis(kind, effective_from, reference, says, inp)


def newest(session: Session, procedure_id: int) -> LevyAssessment | None:
    return session.execute(select(LevyAssessment).where(LevyAssessment.procedure_id == procedure_id)
                           .order_by(LevyAssessment.number.desc()).limit(1)).scalar()


def _open_task(session: Session, procedure: Procedure, step: str) -> Task | None:
    return session.execute(select(Task).where(Task.procedure_id == procedure.id, Task.step == step,
                                              Task.status == "open").order_by(Task.id.desc()).limit(1)).scalar()


def compute(rt: Runtime, actor: Actor, procedure_id: int) -> LevyAssessment:
    """Compute the procedure's levy in step Berechnung (409 otherwise) and record it; 422 naming the field when
    the data do not allow it (an income missing, a row of the tables missing)."""
    from eakte.services.levy.tables import active_tables, input_invalid, tables_invalid
    from workflows.levy.compute import LevyInputError, compute_levy
    from workflows.levy.tables import TablesError
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        require_step(session, procedure, ("berechnung",), "computing the levy", "Die Berechnung")
        case = procedure.case
        try:
            b = basis(session, case, procedure)
        except HouseholdError as exc:
            raise invalid(exc) from None
        active = active_tables(session)
        try:
            result = compute_levy(b.input, active.tables)
        except LevyInputError as exc:
            raise input_invalid(exc) from None
        except TablesError as exc:
            raise tables_invalid(exc, field=exc.path or "tables") from None
        task = _open_task(session, procedure, "berechnung")
        number = (session.execute(select(func.max(LevyAssessment.number))
                                  .where(LevyAssessment.procedure_id == procedure.id)).scalar() or 0) + 1
        shown = result.to_json()
        row = LevyAssessment(case_id=case.id, procedure_id=procedure.id, number=number, kind=b.kind,
                             effective_from=b.effective_from, inputs=input_json(b.input),
                             result={**shown, "tables_confirmed": bool(active.confirmed),
                                     ROUND_KEY: task.id if task is not None else None},
                             monthly_levy=str(shown.get("monthly_levy")), table_version=active.label,
                             table_sha256=active.sha256, computed_by=actor.principal.user_id)
        session.add(row)
        session.flush()
        audit.record(session, actor, "levy.assessment", "procedure", procedure.id, case_id=case.id,
                     details={"procedure": procedure.reference, "number": number, "kind": b.kind,
                              "effective_from": b.effective_from.isoformat(), "outcome": shown.get("outcome"),
                              "monthly_levy": row.monthly_levy, "table_version": active.label,
                              "table_sha256": active.sha256, "answered": b.answered})
        return row
