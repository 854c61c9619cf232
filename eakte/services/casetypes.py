"""Checks of the installed case types against this installation's data: settings that name units which do not
exist (a fresh install's invoice type routes to unit "20") are reported, one line each, at start-up and by
`eakte case-types`; the server still starts, since an admin may create the units afterwards."""
from __future__ import annotations

import logging

from sqlalchemy import select

from eakte.models import Unit
from eakte.runtime import Runtime

log = logging.getLogger("eakte.case_types")


def unknown_units(rt: Runtime) -> list[str]:
    """One line per unit code a case type's settings or steps name that no unit has."""
    with rt.db.read() as session:
        existing = set(session.execute(select(Unit.code)).scalars())
    return [f"case type {key!r}: {where} names unit {code!r}, which does not exist (create it with "
            f"`eakte unit create {code} NAME`, or change [case_types.{key}])"
            for key, case_type in sorted(rt.registry.types.items())
            for where, code in case_type.unit_references() if code not in existing]


def log_unknown_units(rt: Runtime) -> None:
    for line in unknown_units(rt):
        log.warning(line)
