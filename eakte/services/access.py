"""Who may do what: every service asks here, and list queries take their filter from here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true, tuple_
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.orm.util import AliasedClass

from eakte.clock import OFFICE_TZ, office_today  # noqa: F401  (OFFICE_TZ: re-exported)
from eakte.errors import Forbidden, NotFound
from eakte.models import Case, Deputy, Membership, Task, User


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
    # Per absent colleague, the roles held for them (already narrowed to what the appointment covers).
    deputy_roles_of: dict[int, dict[int, frozenset[str]]] = field(default_factory=dict)

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
    today = office_today()
    own = _roles(session, [user.id])
    appointments = session.execute(select(Deputy.user_id, Deputy.by_admin).where(
        Deputy.deputy_id == user.id, Deputy.starts_on <= today, Deputy.ends_on >= today)).all()
    represented: dict[int, dict[int, frozenset[str]]] = {}
    for absent_id, by_admin in appointments:
        for unit, roles in deputy_scope(_roles(session, [absent_id]), own, by_admin).items():
            held = represented.setdefault(absent_id, {})
            held[unit] = held.get(unit, frozenset()) | roles
    merged: dict[int, frozenset[str]] = {}
    for held in represented.values():
        for unit, roles in held.items():
            merged[unit] = merged.get(unit, frozenset()) | roles
    return Principal(user.id, user.username, own, merged, frozenset(represented), restricted_types, represented)


def deputy_scope(absent_roles: dict[int, frozenset[str]], deputy_roles: dict[int, frozenset[str]],
                 by_admin: bool) -> dict[int, frozenset[str]]:
    """The absent person's roles a deputy holds: in the units both are members of, so that nobody hands their
    approval rights to another unit; an admin's appointment covers all the absent person's units. Evaluated
    on every request, so leaving the unit ends the deputyship there."""
    return {u: r for u, r in absent_roles.items() if by_admin or u in deputy_roles}


def require_deputy_allowed(session: Session, absent: User, deputy: User, *, by_admin: bool,
                           restricted_types: frozenset[str]) -> None:
    """Refuse an appointment that would hand rights across units, or personnel files to someone who may not
    see them. Raises Forbidden naming the deputy."""
    absent_roles, deputy_roles = _roles(session, [absent.id]), _roles(session, [deputy.id])
    if not by_admin and not set(absent_roles) & set(deputy_roles):
        raise Forbidden(
            f"deputy {deputy.username}: not a member of any of your units; a deputy from another unit can only "
            "be appointed by an admin", field="deputies",
            detail_de=f"Vertretung {deputy.username}: nicht Mitglied Ihrer Organisationseinheiten; eine "
                      "Vertretung aus einer anderen Einheit kann nur die Administration bestellen")
    # Units of the absent person holding restricted cases (personnel files) the deputy is no member of.
    outside = sorted(set(absent_roles) - set(deputy_roles))
    blocked = session.execute(select(Case.unit_id).where(Case.case_type.in_(sorted(restricted_types)),
                                                         Case.unit_id.in_(outside)).limit(1)).first() \
        if restricted_types and outside else None
    if blocked:
        raise Forbidden(
            f"deputy {deputy.username}: {absent.username} handles restricted case types (e.g. personnel files) "
            "that only members of their unit may see; the deputy must be a member of that unit",
            field="deputies",
            detail_de=f"Vertretung {deputy.username}: {absent.username} bearbeitet vertrauliche Akten (z. B. "
                      "Personalakten), die nur Mitglieder der Einheit sehen dürfen")


def _roles(session: Session, user_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(Membership.unit_id, Membership.role).where(Membership.user_id.in_(ids))).all()
    roles: dict[int, set[str]] = {}
    for unit_id, role in rows:
        roles.setdefault(unit_id, set()).add(role)
    return {u: frozenset(r) for u, r in roles.items()}


def participating_cases(p: Principal) -> Select[tuple[int]] | None:
    """Ids of cases whose workflow gave a task to one of the caller's units (an ordering unit sees the invoice
    it must confirm), or escalated one to them (the escalation target must open what it is to decide).

    An escalation opens the case only to holders of the escalation role in the escalation unit (in their own
    right or as a deputy), the same rule as `_opens`: not to every member of that unit."""
    roles_by_unit = p.task_roles_by_unit
    if not roles_by_unit:
        return None
    t = aliased(Task)  # never correlated with a Task of an enclosing query (the inbox)
    return select(t.case_id).where(_brought_by(roles_by_unit, t))


def _brought_by(roles_by_unit: dict[int, frozenset[str]], t: AliasedClass[Task]) -> ColumnElement[bool]:
    """SQL: task `t` brings its case to holders of these roles (`participating_cases`)."""
    escalated_to_me = [and_(t.escalate_unit_id == unit_id, t.escalate_role.in_(sorted(roles)))
                       for unit_id, roles in sorted(roles_by_unit.items())]
    return or_(t.unit_id.in_(sorted(roles_by_unit)), and_(t.escalated_at.is_not(None), or_(*escalated_to_me)))


def _visibility(p: Principal, case: type[Case] | AliasedClass[Case],
                brought: Callable[[dict[int, frozenset[str]]], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The rule of `visible_cases_filter` for `case` (the Case entity or an alias), `brought(roles)` being SQL
    for "its workflow brought it to holders of these roles" (`participating_cases`)."""
    if p.is_admin:
        return true()
    hidden = _hidden_restricted(p, case)
    if p.is_auditor:
        return true() if hidden is None else ~hidden
    roles_by_unit = p.task_roles_by_unit
    if not roles_by_unit:
        return false()
    visible = or_(case.unit_id.in_(sorted(p.unit_ids)), brought(roles_by_unit))
    return visible if hidden is None else and_(visible, ~hidden)


def visible_cases_filter(p: Principal) -> ColumnElement[bool]:
    """Cases of the caller's units, and cases their workflow brought to the caller (`participating_cases`);
    restricted types only in the caller's own units."""
    t = aliased(Task)  # never correlated with a Task of an enclosing query (the inbox)
    return _visibility(p, Case, lambda roles: Case.id.in_(select(t.case_id).where(_brought_by(roles, t))))


def visible_tasks_filter(p: Principal) -> ColumnElement[bool]:
    """Tasks of cases `p` may see: the same rule as for cases, so no list of tasks shows a title, reference or
    count of a case the caller could not open (a personnel file in another unit's deputy's inbox).

    Per task row (the case by its key, its tasks by `case_id`) rather than as the set of all visible cases: a
    list of tasks is a small part of all cases, and the set would be read in full on every call."""
    if p.is_admin:
        return true()
    c = aliased(Case)
    return exists().where(c.id == Task.case_id, visible_case_rows_filter(p, c))


def visible_case_rows_filter(p: Principal, case: type[Case] | AliasedClass[Case] = Case) -> ColumnElement[bool]:
    """The rule of `visible_cases_filter`, checked per row of `case` (an EXISTS on its own tasks) instead of as
    the set of all visible cases: for short lists another index picks (a user's newest documents)."""
    t = aliased(Task)
    return _visibility(p, case, lambda roles: exists().where(t.case_id == case.id, _brought_by(roles, t)))


def _hidden_restricted(p: Principal, case: type[Case] | AliasedClass[Case] = Case) -> ColumnElement[bool] | None:
    """Cases of a restricted type outside the principal's own units (None: there are no such types)."""
    if not p.restricted_types:
        return None
    return and_(case.case_type.in_(sorted(p.restricted_types)), case.unit_id.not_in(sorted(p.unit_ids)))


def can_view_case(p: Principal, case: Case) -> bool:
    if p.is_admin or case.unit_id in p.roles_by_unit:
        return True
    if case.case_type in p.restricted_types:
        return False
    if p.is_auditor:
        return True
    session = object_session(case)
    participating = participating_cases(p)
    return bool(session is not None and participating is not None and session.execute(
        participating.where(participating.selected_columns[0] == case.id).limit(1)).first())


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


def can_create_in_unit(p: Principal, unit_id: int) -> bool:
    return p.is_admin or p.has_role(unit_id, "clerk")


def require_create_in_unit(p: Principal, unit_id: int, unit_code: str) -> None:
    if not can_create_in_unit(p, unit_id):
        raise Forbidden(f"Creating cases for unit {unit_code} needs the clerk role in that unit",
                        detail_de=f"Für das Anlegen von Akten in {unit_code} ist die Rolle Sachbearbeitung nötig")


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("This needs the admin role", detail_de="Dafür ist die Rolle Administration nötig")


def require_audit_reader(p: Principal, case: Case) -> None:
    """The audit trail of a case: its unit's members, auditors and admins."""
    require_view_case(p, case)


# --- workflow tasks ---------------------------------------------------------------------------------------

def _opens(roles: dict[int, frozenset[str]], task: Task) -> bool:
    """Whether these roles take the task: by its unit and role, or as the target of its escalation."""
    if task.role in roles.get(task.unit_id, frozenset()):
        return True
    return (task.escalated_at is not None and task.escalate_unit_id is not None
            and task.escalate_role in roles.get(task.escalate_unit_id, frozenset()))


def acting_for(p: Principal, task: Task) -> frozenset[int] | None:
    """Whom `p` acts for on `task`: nobody (an empty set) when in their own right, the absent colleagues whose
    deputyship alone opens it, or None when `p` may not act on it at all."""
    if task.assignee_id is not None:
        if task.assignee_id == p.user_id:
            return frozenset()
        held = p.deputy_roles_of.get(task.assignee_id, {})
        return frozenset({task.assignee_id}) if task.unit_id in held else None
    if _opens(p.roles_by_unit, task):
        return frozenset()
    via = frozenset(absent for absent, roles in p.deputy_roles_of.items() if _opens(roles, task))
    return via or None


def may_act(p: Principal, task: Task) -> bool:
    return acting_for(p, task) is not None


def require_may_act(p: Principal, task: Task) -> frozenset[int]:
    """`acting_for`, or Forbidden naming the unit and role the task is for."""
    via = acting_for(p, task)
    if via is None:
        raise Forbidden(f"this task is for the role {task.role!r} in unit {task.unit.code}",
                        detail_de=f"Diese Aufgabe ist für die Rolle {task.role!r} in {task.unit.name}")
    return via


def actionable_tasks_filter(session: Session, p: Principal) -> ColumnElement[bool]:
    """The open tasks `p` may act on (the inbox), as a query condition matching `may_act`: by unit and role,
    personally, by escalation, or as a deputy; never on a case `p` may not see; not claimed by someone else.

    Decided in two steps, so that the queries over the whole inbox (its rows and counts) stay index scans with
    no per-row look-ups: one query first settles the few rows that need them (a task assigned from elsewhere
    must pass the whole visibility rule; a claim by someone else counts only while `claim_binds`), and the
    condition names those rows by id."""
    routed, elsewhere = _routes(p)
    assigned_elsewhere = or_(*elsewhere)
    claimed_by_other = and_(Task.claimed_by.is_not(None), Task.claimed_by != p.user_id)
    reached: list[int] = []
    stale: list[tuple[int, int]] = []  # (task, claimant): claimed by someone else whose claim no longer counts
    # The visibility rule only for the rows assigned from elsewhere (a CASE: `NULL AND x` would evaluate x too).
    for task_id, claimant, binds, visible in session.execute(
            select(Task.id, Task.claimed_by, claim_binds(), sql_case((assigned_elsewhere, visible_tasks_filter(p)),
                                                                     else_=false()))
            .where(Task.status == "open", or_(*elsewhere, *routed), or_(claimed_by_other, assigned_elsewhere))):
        if visible:
            reached.append(task_id)
        if claimant is not None and claimant != p.user_id and binds is not None and not binds:
            stale.append((task_id, claimant))
    reaches = routed + ([and_(assigned_elsewhere, Task.id.in_(reached))] if reached else [])
    free = [Task.claimed_by.is_(None), Task.claimed_by == p.user_id]
    if stale:  # the claimant too, so that a claim taken since then is not passed over
        free.append(tuple_(Task.id, Task.claimed_by).in_(stale))
    cond = [Task.status == "open", or_(*reaches) if reaches else false(), or_(*free)]
    c = aliased(Case)
    hidden = None if p.is_admin else _hidden_restricted(p, c)
    if hidden is not None:
        cond.append(~exists().where(c.id == Task.case_id, hidden))
    return and_(*cond)


def _routes(p: Principal) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """The ways a task reaches `p` (as in `acting_for`), split in two: those that bring its case to `p`
    themselves (`participating_cases`: a task of one of p's task units, or escalated to a role p holds there),
    where of the visibility rule only the restricted types remain to be checked; and the others (a personal
    assignment may come from anywhere), which take the whole rule."""
    task_roles = p.task_roles_by_unit
    routed: list[ColumnElement[bool]] = []
    elsewhere: list[ColumnElement[bool]] = [Task.assignee_id == p.user_id]
    for absent, held in sorted(p.deputy_roles_of.items()):
        for units, into in ((sorted(u for u in held if u in task_roles), routed),
                            (sorted(u for u in held if u not in task_roles), elsewhere)):
            if units:
                into.append(and_(Task.assignee_id == absent, Task.unit_id.in_(units)))
    for unit_id, roles in sorted(task_roles.items()):
        routed.append(and_(Task.unit_id == unit_id, Task.role.in_(sorted(roles)), Task.assignee_id.is_(None)))
        routed.append(and_(Task.escalate_unit_id == unit_id, Task.escalate_role.in_(sorted(roles)),
                           Task.escalated_at.is_not(None), Task.assignee_id.is_(None)))
    return routed, elsewhere


def _opens_task(m: AliasedClass[Membership]) -> ColumnElement[bool]:
    """SQL mirror of `_opens` for one membership row: it takes the task by unit and role, or by escalation."""
    return or_(and_(m.unit_id == Task.unit_id, m.role == Task.role),
               and_(Task.escalated_at.is_not(None), m.unit_id == Task.escalate_unit_id,
                    m.role == Task.escalate_role))


def claim_binds() -> ColumnElement[bool]:
    """SQL: the task's claim still counts, because whoever holds it may act on the task today (`acting_for`
    for the claimant, as `load_principal` and `deputy_scope` would compute it). A claim by someone who may no
    longer act (a deputyship ended or was withdrawn, a role removed) does not keep the task from the others.

    Each part is one EXISTS correlated with the task row alone (no nesting), so that every row costs a few index
    look-ups and none reads a whole table."""
    claimant = Task.claimed_by
    today = office_today()

    def as_deputy(opens: Callable[[AliasedClass[Membership]], ColumnElement[bool]]) -> ColumnElement[bool]:
        # The claimant stands in today for someone whose membership `m` opens the task, and the appointment
        # covers m's unit (`deputy_scope`): an admin's every unit, a user's those the claimant is a member of.
        d, m, mine = aliased(Deputy), aliased(Membership), aliased(Membership)
        appointed = [d.deputy_id == claimant, d.starts_on <= today, d.ends_on >= today, m.user_id == d.user_id,
                     opens(m)]
        return or_(exists().where(*appointed, d.by_admin),
                   exists().where(*appointed, mine.user_id == claimant, mine.unit_id == m.unit_id))

    # An assigned task: its assignee, or a deputy of the assignee holding the task's unit.
    assigned = or_(claimant == Task.assignee_id,
                   as_deputy(lambda m: and_(m.user_id == Task.assignee_id, m.unit_id == Task.unit_id)))
    # Otherwise: the claimant's own roles, or a role of someone they stand in for that opens the task.
    own = aliased(Membership)
    unassigned = or_(exists().where(own.user_id == claimant, _opens_task(own)), as_deputy(_opens_task))
    return and_(claimant.is_not(None), or_(and_(Task.assignee_id.is_not(None), assigned),
                                           and_(Task.assignee_id.is_(None), unassigned)))


def claim_still_binds(session: Session, task: Task, restricted_types: frozenset[str]) -> bool:
    """Whether the task's claim still counts (see `claim_binds`): its holder may act on the task today."""
    if task.claimed_by is None:
        return False
    claimant = session.get(User, task.claimed_by)
    return claimant is not None and may_act(load_principal(session, claimant, restricted_types), task)


def require_may_release(p: Principal, task: Task) -> None:
    if task.claimed_by != p.user_id and not p.is_admin:
        raise Forbidden("only the person who claimed this task (or an admin) can release it",
                        detail_de="Nur wer die Aufgabe übernommen hat, kann sie freigeben")


# --- exports ----------------------------------------------------------------------------------------------

def can_export_cases(p: Principal) -> bool:
    """The auditors' export (BagIt) of whole cases."""
    return p.is_auditor or p.is_admin


def require_case_exporter(p: Principal) -> None:
    if not can_export_cases(p):
        raise Forbidden("exports are for auditors and admins", detail_de="Exporte sind der Revision vorbehalten")


def require_payment_exporter(p: Principal, cash_unit_id: int | None, cash_unit_code: str) -> None:
    """Creating a payment export: the cash unit's clerks (and admins)."""
    if not (p.is_admin or (cash_unit_id is not None and p.has_role(cash_unit_id, "clerk"))):
        raise Forbidden(f"the payment export needs the clerk role in the cash unit {cash_unit_code}",
                        detail_de="Der Zahlungsexport erfordert die Rolle Sachbearbeitung in der Stadtkasse")


def may_read_payment_exports(p: Principal, cash_unit_id: int | None) -> bool:
    """Downloading an export's files: the cash unit's clerks, auditors and admins."""
    return p.is_admin or p.is_auditor or (cash_unit_id is not None and p.has_role(cash_unit_id, "clerk"))
