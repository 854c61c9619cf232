"""Checks of the installed case types against this installation's data: settings that name units which do not
exist (a fresh install's invoice type routes to unit "20") are reported, one line each, at start-up and by
`eakte case-types`; the server still starts, since an admin may create the units afterwards."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from eakte.models import Unit
from eakte.runtime import Runtime
from eakte.services.access import Actor, require_admin
from workflows.definition import CaseType, DueInDays, NotSameAs, Step, ValueTiers

log = logging.getLogger("eakte.case_types")


def _existing_units(rt: Runtime) -> set[str]:
    with rt.db.read() as session:
        return set(session.execute(select(Unit.code)).scalars())


def unknown_units(rt: Runtime) -> list[str]:
    """One line per unit code a case type's settings or steps name that no unit has."""
    existing = _existing_units(rt)
    return [f"case type {key!r}: {where} names unit {code!r}, which does not exist (create it with "
            f"`eakte unit create {code} NAME`, or change [case_types.{key}])"
            for key, case_type in sorted(rt.registry.types.items())
            for where, code in case_type.unit_references() if code not in existing]


# --- what the admin page shows of each installed type -----------------------------------------------------------

@dataclass(frozen=True)
class GuardInfo:
    kind: str  # "four_eyes" (steps), "value_tiers" (field, tiers as (above, role, unit or None)), "other" (name)
    steps: tuple[str, ...] = ()
    field: str | None = None
    tiers: tuple[tuple[str, str, str | None], ...] = ()
    name: str = ""


@dataclass(frozen=True)
class StepInfo:
    key: str
    label_de: str
    label_en: str
    role: str
    units: tuple[str, ...]  # unit codes, or "$responsible" etc. (resolved per case)
    instruction: str
    decisions: tuple[tuple[str, str, str | None], ...]  # (label_de, label_en, target step or None: ends)
    guards: tuple[GuardInfo, ...]
    due_days: int | None  # a fixed period
    due_rule: str | None  # a rule computing the date from the case (its class name), with its fallback period
    due_fallback_days: int | None
    escalate_to: tuple[str, str] | None  # (unit, role)
    required_fields: tuple[str, ...]


@dataclass(frozen=True)
class MissingUnit:
    where: str  # "step approve" or a setting's name
    unit_code: str


@dataclass(frozen=True)
class CaseTypeInfo:
    key: str
    label_de: str
    label_en: str
    restricted: bool
    fields: tuple[dict[str, Any], ...]  # as GET /api/v1/case-types describes them
    steps: tuple[StepInfo, ...]
    start: str | None
    settings: tuple[tuple[str, str], ...]  # name, value as text
    missing_units: tuple[MissingUnit, ...]


def _guard(guard: object) -> GuardInfo:
    if isinstance(guard, NotSameAs):
        return GuardInfo("four_eyes", steps=guard.steps)
    if isinstance(guard, ValueTiers):
        return GuardInfo("value_tiers", field=guard.field,
                         tiers=tuple((str(t.above), t.role, t.unit) for t in guard.tiers))
    return GuardInfo("other", name=type(guard).__name__)


def _step(step: Step) -> StepInfo:
    due_days = step.due.days if isinstance(step.due, DueInDays) else None
    due_rule = type(step.due).__name__ if step.due is not None and due_days is None else None
    fallback = getattr(step.due, "fallback_days", None) if due_rule else None
    return StepInfo(step.key, step.label_de, step.label_en, step.role, step.units, step.instruction,
                    tuple((d.label_de, d.label_en, d.target) for d in step.decisions),
                    tuple(_guard(g) for g in step.guards), due_days, due_rule, fallback, step.escalate_to,
                    step.required_fields)


def _info(case_type: CaseType, existing: set[str]) -> CaseTypeInfo:
    return CaseTypeInfo(
        case_type.key, case_type.label_de, case_type.label_en, case_type.restricted,
        tuple(f.describe() for f in case_type.fields), tuple(_step(s) for s in case_type.steps), case_type.start,
        tuple((k, str(v)) for k, v in sorted(case_type.settings.items())),
        tuple(MissingUnit(where, code) for where, code in case_type.unit_references() if code not in existing))


def installed_types(rt: Runtime, actor: Actor) -> list[CaseTypeInfo]:
    """The installed case types with their steps, guards, due rules and settings, and the units they name that
    do not exist (admins only: settings are configuration)."""
    require_admin(actor.principal)
    existing = _existing_units(rt)
    return [_info(t, existing) for _, t in sorted(rt.registry.types.items())]


def log_unknown_units(rt: Runtime) -> None:
    for line in unknown_units(rt):
        log.warning(line)
