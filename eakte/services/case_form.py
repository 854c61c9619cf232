"""What the form for a new case offers the caller: the case types, the file plan, and the units in which the
caller may create cases (the same rule `cases.create_case` enforces)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from eakte.models import FilePlanNode, Unit
from eakte.runtime import Runtime
from eakte.services import fileplan
from eakte.services.access import Actor, can_create_in_unit
from workflows.definition import CaseType


@dataclass(frozen=True)
class CaseFormChoices:
    case_types: tuple[CaseType, ...]
    file_plan: tuple[FilePlanNode, ...]
    units: tuple[Unit, ...]  # only those the caller may create cases in
    all_units: tuple[Unit, ...]  # for fields that name a unit (e.g. the ordering unit of an invoice)


def case_form_choices(rt: Runtime, actor: Actor) -> CaseFormChoices:
    with rt.db.read() as session:
        all_units = list(session.execute(select(Unit).order_by(Unit.code)).scalars())
        units = [u for u in all_units if can_create_in_unit(actor.principal, u.id)]
        nodes = fileplan.list_nodes(session)
    types = sorted(rt.registry.types.values(), key=lambda t: t.label_de)
    return CaseFormChoices(tuple(types), tuple(nodes), tuple(units), tuple(all_units))
