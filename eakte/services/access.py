"""Who may do what: every service asks here, and list queries take their filter from here."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from eakte.errors import Forbidden, NotFound
from eakte.models import Case, Membership, User


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    roles_by_unit: dict[int, frozenset[str]] = field(default_factory=dict)

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


def load_principal(session: Session, user: User) -> Principal:
    """Read memberships fresh on every request, so a change of unit membership takes effect at once."""
    rows = session.execute(select(Membership.unit_id, Membership.role).where(Membership.user_id == user.id)).all()
    roles: dict[int, set[str]] = {}
    for unit_id, role in rows:
        roles.setdefault(unit_id, set()).add(role)
    return Principal(user.id, user.username, {u: frozenset(r) for u, r in roles.items()})


def visible_cases_filter(p: Principal) -> ColumnElement[bool]:
    if p.is_admin or p.is_auditor:
        return true()
    if not p.unit_ids:
        return false()
    return Case.unit_id.in_(sorted(p.unit_ids))


def can_view_case(p: Principal, case: Case) -> bool:
    return p.is_admin or p.is_auditor or case.unit_id in p.roles_by_unit


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
