"""Recording a levy procedure's household (the members, their incomes and transfer benefits, temporary use): by
the levy unit's clerks while the procedure is in Erhebung, Prüfung or Berechnung (a changed household after a
computation makes the four-eyes check refuse it until it is computed anew). The first recording marks the
household's answer as received (`answered_on`).

Income evidence is filed as documents of kind `income_evidence` through the ordinary upload into the procedure
(POST /api/v1/procedures/{id}/documents), allowed while the procedure is open."""
from __future__ import annotations

from typing import Any

from eakte.clock import office_today, utcnow
from eakte.errors import Invalid
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import Actor
from eakte.services.levy.common import levy_procedure, require_step
from workflows.levy.household import Household, HouseholdError, parse_household

HOUSEHOLD_STEPS = ("erhebung", "pruefung", "berechnung")


def invalid(exc: HouseholdError) -> Invalid:
    """A household problem as the API's 422: the first field named, every problem listed."""
    return Invalid(exc.message, field=exc.path, detail_de=exc.message_de,
                   errors=[{"field": p.path, "message": p.message, "message_de": p.message_de}
                           for p in exc.problems])


def stored_household(metadata: dict[str, Any]) -> Household | None:
    """The household the procedure holds, None when it holds none that validates (as the survey left it)."""
    try:
        return parse_household(metadata.get("household"))
    except HouseholdError:
        return None


def record_household(rt: Runtime, actor: Actor, procedure_id: int, payload: Any) -> Household:
    """Store the household of procedure `procedure_id` (validated: 422 naming the field); 409 outside the steps
    Erhebung, Prüfung and Berechnung; audited with the member count and income total before and after."""
    try:
        household = parse_household(payload, today=office_today())
    except HouseholdError as exc:
        raise invalid(exc) from None
    with rt.db.write() as session:
        procedure = levy_procedure(rt, session, actor, procedure_id, change=True, lock=True)
        require_step(session, procedure, HOUSEHOLD_STEPS, "recording the household", "Das Erfassen des Haushalts")
        meta = dict(procedure.metadata_ or {})
        old = meta.get("household") if isinstance(meta.get("household"), dict) else {}
        old_members = old.get("members") if isinstance(old.get("members"), list) else []
        before = stored_household(meta)
        meta["household"] = household.to_json()
        first = not meta.get("answered_on")
        if first:
            meta["answered_on"] = office_today().isoformat()
        procedure.metadata_ = meta
        procedure.updated_at = utcnow()
        # What changed, not who the members are: the household's personal data stay in the procedure.
        audit.record(session, actor, "levy.household", "procedure", procedure.id, case_id=procedure.case_id,
                     details={"procedure": procedure.reference, "members_before": len(old_members),
                              "members": len(household.members),
                              "income_total_before": f"{before.income_total:.2f}" if before else None,
                              "income_total": f"{household.income_total:.2f}",
                              "temporary_use": household.temporary_use,
                              **({"answered_on": meta["answered_on"]} if first else {})})
    return household
