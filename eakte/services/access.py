"""Who may do what: every service asks here, and list queries take their filter from here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session, object_session

from eakte.errors import Forbidden, NotFound
from eakte.models import Case, Deputy, Membership, Task, User

OFFICE_TZ = ZoneInfo("Europe/Berlin")  # dates in the office's calendar, not UTC's


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    roles_by_unit: dict[int, frozenset[str]] = field(default_factory=dict)
    # Roles held today as deputy (Vertretung) of absent colleagues: they open those colleagues' workflow tasks.
    deputy_roles_by_unit: dict[int, frozenset[str]] = field(default_factory=dict)
    deputy_for: frozenset[int] = frozenset()
    # Case types the principal sees only in their own units, whatever else they may see (personnel files):
    # from the registry, fixed when the principal is loaded. Admins see them everywhere.
    restricted_types: frozenset[str] = frozenset()

    @property
    def task_roles_by_unit(self) -> dict[int, frozenset[str]]:
        merged = dict(self.roles_by_unit)
        for unit, roles in self.deputy_roles_by_unit.items():
            merged[unit] = merged.get(unit, frozenset()) | roles
        return merged

    @property
    def is_admin(self) -> bool:
        return any("admin" in roles for roles in self.roles_by_unit.values())

    @property
    def is_auditor(self) -> bool:
        return any("auditor" in roles for roles in self.roles_by_unit.values())

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset(self.roles_by_unit)

    def has_role(self, unit_id: int, role: str) -> bool:
        return role in self.roles_by_unit.get(unit_id, frozenset())


@dataclass(frozen=True)
class Actor:
    """A principal acting from a client address: what every audited service call needs."""

    principal: Principal
    client_addr: str | None = None


SYSTEM = Principal(user_id=0, username="system")


def load_principal(session: Session, user: User, restricted_types: frozenset[str]) -> Principal:
    """Read memberships fresh on every request, so a change of unit membership takes effect at once.

    `restricted_types`: the registry's restricted case types (`Registry.restricted_types`); required, so that no
    caller can forget them and open personnel files to everyone."""
    today = dt.datetime.now(OFFICE_TZ).date()
    absent = frozenset(session.execute(select(Deputy.user_id).where(
        Deputy.deputy_id == user.id, Deputy.starts_on <= today, Deputy.ends_on >= today)).scalars())
    return Principal(user.id, user.username, _roles(session, [user.id]), _roles(session, absent), absent,
                     restricted_types)


def _roles(session: Session, user_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(Membership.unit_id, Membership.role).where(Membership.user_id.in_(ids))).all()
    roles: dict[int, set[str]] = {}
    for unit_id, role in rows:
        roles.setdefault(unit_id, set()).add(role)
    return {u: frozenset(r) for u, r in roles.items()}


def visible_cases_filter(p: Principal) -> ColumnElement[bool]:
    """Cases of the caller's units, and cases whose workflow gave a task to one of them (an ordering unit sees
    the invoice it must confirm)."""
    if p.is_admin:
        return true()
    hidden = _hidden_restricted(p)
    if p.is_auditor:
        return true() if hidden is None else ~hidden
    units = sorted(p.task_roles_by_unit)
    if not units:
        return false()
    visible = or_(Case.unit_id.in_(sorted(p.unit_ids)),
                  Case.id.in_(select(Task.case_id).where(Task.unit_id.in_(units))))
    return visible if hidden is None else and_(visible, ~hidden)


def _hidden_restricted(p: Principal) -> ColumnElement[bool] | None:
    """Cases of a restricted type outside the principal's own units (None: there are no such types)."""
    if not p.restricted_types:
        return None
    return and_(Case.case_type.in_(sorted(p.restricted_types)), Case.unit_id.not_in(sorted(p.unit_ids)))


def can_view_case(p: Principal, case: Case) -> bool:
    if p.is_admin or case.unit_id in p.roles_by_unit:
        return True
    if case.case_type in p.restricted_types:
        return False
    if p.is_auditor:
        return True
    session = object_session(case)
    units = sorted(p.task_roles_by_unit)
    return bool(session and units and session.execute(
        select(Task.id).where(Task.case_id == case.id, Task.unit_id.in_(units)).limit(1)).first())


def can_change_case(p: Principal, case: Case) -> bool:
    return p.is_admin or p.has_role(case.unit_id, "clerk")


def require_view_case(p: Principal, case: Case | None, what: str = "case") -> Case:
    # Invisible and missing look the same, so ids of other units' cases leak nothing.
    if case is None or not can_view_case(p, case):
        raise NotFound(f"No {what} with this id", detail_de="Nicht gefunden")
    return case


def require_change_case(p: Principal, case: Case | None, what: str = "case") -> Case:
    case = require_view_case(p, case, what)
    if not can_change_case(p, case):
        raise Forbidden(
            f"Changing this {what} needs the clerk role in unit {case.unit.code}",
            detail_de=f"Für Änderungen ist die Rolle Sachbearbeitung in {case.unit.name} nötig")
    return case


def require_create_in_unit(p: Principal, unit_id: int, unit_code: str) -> None:
    if not (p.is_admin or p.has_role(unit_id, "clerk")):
        raise Forbidden(f"Creating cases for unit {unit_code} needs the clerk role in that unit",
                        detail_de=f"Für das Anlegen von Akten in {unit_code} ist die Rolle Sachbearbeitung nötig")


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("This needs the admin role", detail_de="Dafür ist die Rolle Administration nötig")


def require_audit_reader(p: Principal, case: Case) -> None:
    """The audit trail of a case: its unit's members, auditors and admins."""
    require_view_case(p, case)
