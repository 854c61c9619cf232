"""Who the caller is, as every page's header shows it: name, roles per unit, open tasks, what they may start."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from eakte.errors import Forbidden
from eakte.models import Unit
from eakte.runtime import Runtime
from eakte.services import access_requests, followups, identity, inspection, workflow
from eakte.services.access import Actor, require_create_in_unit


@dataclass(frozen=True)
class RoleInUnit:
    unit_code: str
    unit_name: str
    role: str


@dataclass(frozen=True)
class Me:
    username: str
    display_name: str
    roles: tuple[RoleInUnit, ...]
    is_admin: bool
    is_auditor: bool
    open_tasks: int  # workflow tasks and due follow-ups: what waits in the Postkorb
    may_take_in_invoices: bool
    has_units: bool = True  # False: an account in no unit (an employee's, for the inspection of their file)
    own_files: int = 0  # files the caller is the subject of ("Meine Personalakte")
    access_page: bool = False  # "Akteneinsicht": the caller may ask for or decide on recorded-reason access
    access_pending: int = 0  # requests for access that wait for the caller's decision


def me(rt: Runtime, actor: Actor, *, open_tasks: int | None = None, due_followups: int | None = None) -> Me:
    """`open_tasks`: the caller's open workflow task count, `due_followups` their due follow-ups, where the page
    has already read them."""
    p = actor.principal
    user, units = identity.whoami(rt, p)
    roles = tuple(RoleInUnit(units[uid].code, units[uid].name, role)
                  for uid, rs in sorted(p.roles_by_unit.items(), key=lambda kv: units[kv[0]].code if kv[0] in units
                                        else "") if uid in units for role in sorted(rs))
    if open_tasks is None:
        _, open_tasks, _ = workflow.inbox_page(rt, actor, workflow.InboxFilter(), offset=0, limit=0)
    if due_followups is None:
        due_followups = followups.due_count(rt, actor)
    with rt.db.read() as session:
        own_files = inspection.own_file_count(session, p)
    return Me(user.username, user.display_name or user.username, roles, p.is_admin, p.is_auditor,
              open_tasks + due_followups, may_take_in_invoices(rt, actor), bool(p.roles_by_unit), own_files,
              access_page=access_requests.shows_page(rt, p), access_pending=access_requests.pending_count(rt, p))


def may_take_in_invoices(rt: Runtime, actor: Actor) -> bool:
    """Whether the caller may take in invoices at the invoice type's receipt unit (Rechnungseingang)."""
    case_type = rt.registry.get("invoice")
    if case_type is None:
        return False
    with rt.db.read() as session:
        unit = session.execute(select(Unit).where(Unit.code == case_type.settings.get("receipt_unit"))).scalar()
    if unit is None:
        return False
    try:
        require_create_in_unit(actor.principal, unit.id, unit.code)
    except Forbidden:
        return False
    return True
