"""What every levy service needs: the installed case type, its unit, a levy procedure with the caller's rights
checked, the step its workflow is in, and the letters' template directory."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.errors import Conflict, NotFound
from eakte.models import Procedure, Unit, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import inputs
from eakte.services.access import Actor, require_change_case, require_view_procedure
from eakte.services.pdf_letters import LetterTemplates
from workflows.definition import CaseType

CASE_TYPE = "levy"
LETTERS = LetterTemplates(Path(__file__).resolve().parent / "templates")


def levy_type(rt: Runtime) -> CaseType:
    case_type = rt.registry.get(CASE_TYPE)
    if case_type is None:
        raise Conflict("the misallocation levy (case type 'levy') is not installed",
                       detail_de="Die Fehlbelegungsabgabe (Aktenart „levy“) ist nicht eingerichtet")
    return case_type


def levy_unit(session: Session, case_type: CaseType) -> Unit:
    code = str(case_type.settings.get("unit") or case_type.home_unit or "")
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar()
    if unit is None:
        raise Conflict(f"the levy unit {code!r} does not exist",
                       detail_de=f"Die Organisationseinheit {code!r} der Fehlbelegungsabgabe fehlt")
    return unit


def levy_procedure(rt: Runtime, session: Session, actor: Actor, procedure_id: int, *,
                   change: bool = False, lock: bool = False) -> Procedure:
    """The levy procedure `procedure_id` as the actor may see it (404 otherwise, also for other case types);
    with `change`, they must also be allowed to change its case; with `lock`, its row is locked."""
    procedure = require_view_procedure(session, actor.principal, rt.registry,
                                       session.get(Procedure, procedure_id, with_for_update=lock or None))
    if procedure.case.case_type != CASE_TYPE or "survey_id" not in (procedure.metadata_ or {}):
        raise NotFound(f"no levy procedure {procedure_id}",
                       detail_de="Kein Vorgang der Fehlbelegungsabgabe mit dieser Nummer")
    if change:
        require_change_case(actor.principal, procedure.case)
    return procedure


def current_step(session: Session, procedure: Procedure) -> str | None:
    """The step the procedure's workflow is in; None when it has finished."""
    return session.execute(select(WorkflowInstance.current_step)
                           .where(WorkflowInstance.procedure_id == procedure.id)).scalar()


def require_step(session: Session, procedure: Procedure, steps: tuple[str, ...], what: str, what_de: str) -> str:
    """The current step, which must be one of `steps`: else 409 saying what cannot be done now."""
    step = current_step(session, procedure)
    if step not in steps:
        raise Conflict(f"{what} is not possible in step {step or 'finished'} of {procedure.reference}",
                       detail_de=f"{what_de} ist im aktuellen Bearbeitungsstand von {procedure.reference} nicht "
                                 "möglich", step=step)
    return step


def required_text(value: str | None, field: str, label_de: str, max_length: int) -> str:
    """A text the record needs (a reason, grounds, a note): not blank, not longer than its column."""
    return inputs.required_text(value, field, max_length, empty_de=f"Bitte {label_de} angeben",
                                too_long_de=f"Höchstens {max_length} Zeichen")
