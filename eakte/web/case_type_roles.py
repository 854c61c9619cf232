"""The caller's roles in the unit a case type names in its settings ("unit"), read once per request: the register
and levy pages use them to show their navigation entry and their forms (the services decide again)."""
from __future__ import annotations

from flask import g

from eakte.services import identity
from eakte.web.auth import current_principal
from eakte.web.runtime import runtime


def case_type_roles(name: str) -> frozenset[str]:
    """Roles in the case type's unit (empty: not a member, or the case type is not installed)."""
    cache: dict[str, frozenset[str]] = g.setdefault("case_type_roles", {})
    if name not in cache:
        principal = current_principal()
        case_type = runtime().registry.get(name)
        roles: frozenset[str] = frozenset()
        if principal is not None and case_type is not None and principal.roles_by_unit:
            _user, units = identity.whoami(runtime(), principal)
            code = str(case_type.settings.get("unit"))
            roles = frozenset(r for uid, rs in principal.roles_by_unit.items()
                              if uid in units and units[uid].code == code for r in rs)
        cache[name] = roles
    return cache[name]


def case_type_nav_visible(name: str) -> bool:
    """A case type's navigation entry: for members of its unit, auditors and admins."""
    principal = current_principal()
    if principal is None or runtime().registry.get(name) is None:
        return False
    return principal.is_admin or principal.is_auditor or bool(case_type_roles(name))
