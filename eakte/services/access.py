"""Who may do what: every service asks here, and list queries take their filter from here."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true, tuple_
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased, object_session
from sqlalchemy.orm.util import AliasedClass
from sqlalchemy.sql.elements import False_, True_

from eakte.clock import OFFICE_TZ, office_today, utcnow  # noqa: F401  (OFFICE_TZ: re-exported)
from eakte.config import ConfidentialitySettings
from eakte.errors import CheckedOut, Conflict, Forbidden, Invalid, NotFound
from eakte.models import AccessRequest, Case, Deputy, Document, Membership, Procedure, Task, Unit, User
from workflows.definition import CaseType, Restriction
from workflows.registry import Registry


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    roles_by_unit: dict[int, frozenset[str]] = field(default_factory=dict)
    # Roles held today as deputy (Vertretung) of absent colleagues: they open those colleagues' workflow tasks.
    deputy_roles_by_unit: dict[int, frozenset[str]] = field(default_factory=dict)
    deputy_for: frozenset[int] = frozenset()
    # The restricted case types by key (`Registry.restricted`: personnel files), fixed when the principal is
    # loaded: their cases open only by the rule of `restricted_access`, whatever else the principal may see.
    restricted: Mapping[str, CaseType] = field(default_factory=dict)
    # Per absent colleague, the roles held for them (already narrowed to what the appointment covers).
    deputy_roles_of: dict[int, dict[int, frozenset[str]]] = field(default_factory=dict)
    # The configured confidentiality levels (`[confidentiality]`), fixed when the principal is loaded.
    confidentiality: ConfidentialitySettings = field(default_factory=ConfidentialitySettings)
    # Restricted cases opened by an active recorded-reason access (AccessRequest granted, now < expires_at), and
    # the id of that grant per case (for the read log).
    granted_cases: frozenset[int] = frozenset()
    grant_ids: Mapping[int, int] = field(default_factory=dict)
    # (restricted type, sub-file key) → the principal's own roles in that sub-file's unit, where they meet its
    # min_role: the partial view of the type's cases (a Beihilfe clerk's of the Beihilfe sub-file).
    subfile_roles: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    @property
    def restricted_types(self) -> frozenset[str]:
        return frozenset(self.restricted)

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


def load_principal(session: Session, user: User, restricted: Mapping[str, CaseType],
                   confidentiality: ConfidentialitySettings | None = None) -> Principal:
    """Read memberships fresh on every request, so a change of unit membership takes effect at once.

    `restricted`: the registry's restricted case types (`Registry.restricted`); required, so that no caller can
    forget them and open personnel files to everyone. `confidentiality`: the runtime's levels
    (`rt.settings.confidentiality`); None: the built-in ones."""
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
    # A grant is an auditor's or admin's access (`may_request_access`): who has lost that role since reads
    # nothing by it any more, in Python and SQL alike (both read `granted_cases`).
    requests = any(roles & {"auditor", "admin"} for roles in own.values())
    grants = _active_grants(session, user.id) if restricted and requests else {}
    return Principal(user.id, user.username, own, merged, frozenset(represented), dict(restricted), represented,
                     confidentiality or ConfidentialitySettings(), frozenset(grants), grants,
                     _subfile_roles(session, own, restricted))


def _active_grants(session: Session, user_id: int) -> dict[int, int]:
    """case id → id of the user's active recorded-reason access to it (the latest, if several)."""
    rows = session.execute(select(AccessRequest.case_id, AccessRequest.id).where(
        AccessRequest.user_id == user_id, AccessRequest.status == "granted",
        AccessRequest.expires_at > utcnow()).order_by(AccessRequest.id)).all()
    return {case_id: request_id for case_id, request_id in rows}


def _subfile_roles(session: Session, own: dict[int, frozenset[str]],
                   restricted: Mapping[str, CaseType]) -> dict[tuple[str, str], frozenset[str]]:
    """The sub-files of restricted types kept for a unit the user is a member of (own memberships only, holding
    the sub-file's min_role), with the user's roles there."""
    declared = [(key, sub) for key, t in restricted.items() for sub in t.subfiles if sub.unit]
    if not declared or not own:
        return {}
    ids = dict(session.execute(select(Unit.code, Unit.id).where(
        Unit.code.in_(sorted({sub.unit or "" for _, sub in declared})))).all())
    held: dict[tuple[str, str], frozenset[str]] = {}
    for key, sub in declared:
        roles = own.get(ids.get(sub.unit or "", -1), frozenset())
        if roles and (sub.min_role is None or sub.min_role in roles):
            held[(key, sub.key)] = roles
    return held


def deputy_scope(absent_roles: dict[int, frozenset[str]], deputy_roles: dict[int, frozenset[str]],
                 by_admin: bool) -> dict[int, frozenset[str]]:
    """The absent person's roles a deputy holds: in the units both are members of, so that nobody hands their
    approval rights to another unit; an admin's appointment covers all the absent person's units. Evaluated
    on every request, so leaving the unit ends the deputyship there."""
    return {u: r for u, r in absent_roles.items() if by_admin or u in deputy_roles}


def require_deputy_allowed(session: Session, absent: User, deputy: User, *, by_admin: bool,
                           restricted: Mapping[str, CaseType]) -> None:
    """Refuse an appointment that would hand rights across units, or personnel files to someone who may not
    see them. Raises Forbidden naming the deputy. Personnel-file staff are those of the units keeping restricted
    cases and those of the units their sub-files are kept for (the Beihilfe unit keeps no file of its own)."""
    restricted_types = frozenset(restricted)
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
    # Also the units the types name (their home unit, their sub-files' units): before the first file exists too.
    staff_units = sorted({u for t in restricted.values()
                          for u in (t.home_unit, *(sub.unit for sub in t.subfiles)) if u})
    if not blocked and outside and staff_units:
        blocked = session.execute(select(Unit.id).where(Unit.code.in_(staff_units),
                                                        Unit.id.in_(outside)).limit(1)).first()
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


@dataclass(frozen=True)
class _LevelGroup:
    """Confidentiality levels that open to `p` by the same routes: the own units whose cases of these levels `p`
    sees as a member, and the (task) roles through which a workflow brings such cases to `p`."""

    keys: frozenset[str]
    units: tuple[int, ...]
    roles: dict[int, frozenset[str]]
    full: bool  # the routes are all of p's: these levels narrow nothing


def _level_groups(p: Principal) -> list[_LevelGroup]:
    """The rule of the levels (`ConfidentialitySettings.may_see`) as SQL needs it: per level, the routes that
    remain; levels with the same routes are grouped, so a clerk's query has one group, not one per level. Roles
    held as a deputy count as the absent person's do for tasks (`task_roles_by_unit`)."""
    c = p.confidentiality
    task_roles = p.task_roles_by_unit
    grouped: dict[tuple[tuple[int, ...], tuple[tuple[int, frozenset[str]], ...]], set[str]] = {}
    for level in c.levels:
        units = tuple(sorted(u for u in p.unit_ids if c.may_see(task_roles.get(u, frozenset()), level.key)))
        roles = tuple(sorted((u, r) for u, r in task_roles.items() if c.may_see(r, level.key)))
        grouped.setdefault((units, roles), set()).add(level.key)
    every = (tuple(sorted(p.unit_ids)), tuple(sorted(task_roles.items())))
    return [_LevelGroup(frozenset(keys), units, dict(roles), (units, roles) == every)
            for (units, roles), keys in grouped.items()]


def _level_in(c: ConfidentialitySettings, case: type[Case] | AliasedClass[Case],
              keys: frozenset[str]) -> ColumnElement[bool]:
    """SQL: the case's level is one of `keys`; a key no longer configured counts as the highest level, as in
    `ConfidentialitySettings.effective`."""
    others = sorted(set(c.keys) - keys)
    if not others:
        return true()
    if c.levels[-1].key in keys:
        return case.confidentiality.not_in(others)
    return case.confidentiality.in_(sorted(keys)) if keys else false()


def _auditor_keys(c: ConfidentialitySettings) -> frozenset[str]:
    return frozenset(level.key for level in c.levels if level.auditors)


def _any(parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if any(isinstance(part, True_) for part in parts):
        return true()
    return or_(*parts) if parts else false()


def _visibility(p: Principal, case: type[Case] | AliasedClass[Case],
                brought: Callable[[dict[int, frozenset[str]]], ColumnElement[bool]], *,
                routed: bool = False) -> ColumnElement[bool]:
    """The rule of `visible_cases_filter` for `case` (the Case entity or an alias), `brought(roles)` being SQL
    for "its workflow brought it to holders of these roles" (`participating_cases`).

    A case's confidentiality level narrows the routes to the roles that meet its `min_role` (`can_view_case`
    in Python: the two must agree). `routed`: the row is known to have come to `p` by one of p's routes (a task
    of the inbox), so that of the levels that narrow nothing only the level itself needs checking. Cases of a
    restricted type open only by their own rule (`_restricted_sql`), never by these routes."""
    general = true() if p.is_admin else _general_visibility(p, case, brought, routed)
    if not p.restricted:
        return general
    types = sorted(p.restricted)
    parts = [and_(case.case_type.not_in(types), general) if not isinstance(general, False_) else false()]
    for key in types:
        opens = _restricted_sql(p, key, case)
        if not isinstance(opens, False_):
            parts.append(and_(case.case_type == key, opens))
    return _any(parts)


def _general_visibility(p: Principal, case: type[Case] | AliasedClass[Case],
                        brought: Callable[[dict[int, frozenset[str]]], ColumnElement[bool]],
                        routed: bool) -> ColumnElement[bool]:
    c = p.confidentiality
    parts: list[ColumnElement[bool]] = []
    if p.is_auditor:
        parts.append(_level_in(c, case, _auditor_keys(c)))
    for group in _level_groups(p):
        if routed and group.full:
            parts.append(_level_in(c, case, group.keys))
            continue
        routes = ([case.unit_id.in_(group.units)] if group.units else []) + \
            ([brought(group.roles)] if group.roles else [])
        if routes:
            parts.append(and_(_level_in(c, case, group.keys), or_(*routes)))
    return _any(parts)


def own_unit_cases_filter(p: Principal) -> ColumnElement[bool]:
    """Cases of the caller's own units that their level lets the caller see (a unit's list of its cases)."""
    return and_(Case.unit_id.in_(sorted(p.unit_ids)), _visibility(p, Case, lambda roles: false()))


def level_hidden_cases(p: Principal) -> Select[tuple[int]] | None:
    """Ids of the cases that the rule without confidentiality levels would show `p` (their units, their
    workflow's, every one for auditors; of restricted types, `_restricted_sql` without levels, as the search
    index applies it) but their level hides: what an index holding no levels (search) must leave out. None: the
    levels hide nothing from `p`."""
    parts: list[ColumnElement[bool]] = []
    general = None if p.is_admin else _level_hidden_general(p)
    if general is not None:
        parts.append(and_(Case.case_type.not_in(sorted(p.restricted)), general) if p.restricted else general)
    for key in sorted(p.restricted):
        reach, opens = _restricted_sql(p, key, Case, levels=False), _restricted_sql(p, key, Case)
        if not isinstance(reach, False_) and not isinstance(opens, True_):
            parts.append(and_(Case.case_type == key, reach, ~opens))
    return select(Case.id).where(or_(*parts)) if parts else None


def _level_hidden_general(p: Principal) -> ColumnElement[bool] | None:
    c = p.confidentiality
    if p.is_auditor:
        shown = _auditor_keys(c)
    else:
        shown = next((g.keys for g in _level_groups(p) if g.full), frozenset())
    if shown >= set(c.keys):
        return None
    reach = [~_level_in(c, Case, shown), ~visible_cases_filter(p)]
    participating = participating_cases(p)
    if not p.is_auditor:
        reach.append(or_(Case.unit_id.in_(sorted(p.unit_ids)),
                         Case.id.in_(participating) if participating is not None else false()))
    return and_(*reach)


def visible_cases_filter(p: Principal) -> ColumnElement[bool]:
    """Cases of the caller's units, and cases their workflow brought to the caller (`participating_cases`);
    restricted types only by their own rule (`restricted_access`)."""
    t = aliased(Task)  # never correlated with a Task of an enclosing query (the inbox)
    return _visibility(p, Case, lambda roles: Case.id.in_(select(t.case_id).where(_brought_by(roles, t))))


def _sees_everything(p: Principal) -> bool:
    """An admin for whom no restricted type needs a recorded reason: every case is open to them."""
    return p.is_admin and not any(t.restriction.admins_need_reason for t in p.restricted.values())


def visible_tasks_filter(p: Principal) -> ColumnElement[bool]:
    """Tasks of cases `p` may see: the same rule as for cases, so no list of tasks shows a title, reference or
    count of a case the caller could not open (a personnel file in another unit's deputy's inbox).

    Per task row (the case by its key, its tasks by `case_id`) rather than as the set of all visible cases: a
    list of tasks is a small part of all cases, and the set would be read in full on every call."""
    if _sees_everything(p):
        return true()
    c = aliased(Case)
    return exists().where(c.id == Task.case_id, visible_case_rows_filter(p, c))


def visible_case_rows_filter(p: Principal, case: type[Case] | AliasedClass[Case] = Case) -> ColumnElement[bool]:
    """The rule of `visible_cases_filter`, checked per row of `case` (an EXISTS on its own tasks) instead of as
    the set of all visible cases: for short lists another index picks (a user's newest documents)."""
    t = aliased(Task)
    return _visibility(p, case, lambda roles: exists().where(t.case_id == case.id, _brought_by(roles, t)))


def _hidden_restricted(p: Principal, case: type[Case] | AliasedClass[Case] = Case) -> ColumnElement[bool] | None:
    """Cases of a restricted type that `p` does not see (None: there are none such)."""
    parts = []
    for key in sorted(p.restricted):
        opens = _restricted_sql(p, key, case)
        if not isinstance(opens, True_):
            parts.append(and_(case.case_type == key, ~opens))
    return or_(*parts) if parts else None


# --- restricted case types (personnel files) --------------------------------------------------------------
# The one rule for a case of a restricted type T in unit U (`CaseType.restriction`): p sees it
# - fully ("reader"), holding in U one of T's reader_roles (any role when there are none) as their own
#   membership: never as a deputy, never through a workflow task or an escalation, never as an auditor;
# - fully ("grant"), through an active recorded-reason access to that case (`Principal.granted_cases`);
# - fully ("admin"), as an admin where T's restriction does not make admins give a reason;
# - partially ("subfile"), as a member of the unit a sub-file of T is kept for (holding its min_role): the
#   case's title, reference and metadata and those sub-files only, never its case level (Grundakte) nor other
#   sub-files (`hidden_subfiles`);
# - otherwise not at all (as if missing). Confidentiality levels apply on top: a reader by the roles in U, a
#   partial viewer by the roles in the sub-file's unit, a grant as an auditor's view (admins: every level).
# `restricted_access` (Python) and `_restricted_sql` (SQL) must agree.

ReadAs = Literal["reader", "grant", "admin", "subfile"]
FULL_READS: frozenset[str] = frozenset({"reader", "grant", "admin"})


def restriction_of(registry: Registry, case: Case) -> Restriction | None:
    """The restriction of the case's type; None when the type is not restricted."""
    case_type = registry.restricted.get(case.case_type)
    return case_type.restriction if case_type is not None else None


def _reader_units(p: Principal, case_type: CaseType) -> list[int]:
    """p's own units in which p holds a reader role of the type (any role when it names none)."""
    readers = set(case_type.restriction.reader_roles)
    return sorted(u for u, roles in p.roles_by_unit.items() if roles and (not readers or roles & readers))


def _admin_reads(p: Principal, case_type: CaseType) -> bool:
    return p.is_admin and not case_type.restriction.admins_need_reason


def _subfile_roles_of(p: Principal, key: str) -> dict[str, frozenset[str]]:
    return {sub: roles for (t, sub), roles in p.subfile_roles.items() if t == key}


def restricted_access(p: Principal, case: Case) -> ReadAs | None:
    """How `p` sees a case of a restricted type (see above); None: not at all, or the type is not restricted."""
    case_type = p.restricted.get(case.case_type)
    if case_type is None:
        return None
    c, level = p.confidentiality, case.confidentiality
    if case.unit_id in _reader_units(p, case_type) and c.may_see(p.roles_by_unit[case.unit_id], level):
        return "reader"
    if _admin_reads(p, case_type):
        return "admin"
    if case.id in p.granted_cases and (p.is_admin or c.effective(level).auditors):
        return "grant"
    if any(c.may_see(roles, level) for roles in _subfile_roles_of(p, case.case_type).values()):
        return "subfile"
    return None


def _restricted_sql(p: Principal, key: str, case: type[Case] | AliasedClass[Case], *, levels: bool = True,
                    partial: bool = True) -> ColumnElement[bool]:
    """SQL on `case` (of restricted type `key`): `restricted_access` is not None (`partial=False`: is one of the
    full reads). `levels=False`: without the confidentiality levels (what the search index applies)."""
    case_type = p.restricted[key]
    if _admin_reads(p, case_type):
        return true()
    c = p.confidentiality

    def level(roles: frozenset[str] | None) -> frozenset[str]:  # None: as an auditor
        if not levels:
            return frozenset(c.keys)
        if roles is None:
            return frozenset(c.keys) if p.is_admin else _auditor_keys(c)
        return frozenset(lv.key for lv in c.levels if c.may_see(roles, lv.key))

    by_levels: dict[frozenset[str], list[int]] = {}
    for unit in _reader_units(p, case_type):
        by_levels.setdefault(level(p.roles_by_unit[unit]), []).append(unit)
    parts = [and_(case.unit_id.in_(units), _level_in(c, case, keys)) for keys, units in sorted(
        by_levels.items(), key=lambda kv: kv[1]) if keys]
    if p.granted_cases:
        parts.append(and_(case.id.in_(sorted(p.granted_cases)), _level_in(c, case, level(None))))
    if partial:
        seen = frozenset().union(*(level(r) for r in _subfile_roles_of(p, key).values()))
        if seen:
            parts.append(_level_in(c, case, seen))
    return _any(parts)


def reads_fully(p: Principal, case: Case) -> bool:
    """Whether `p` sees the whole case (of a restricted type: as a reader, by a grant or as an admin, not only
    a sub-file); any other case: whether `p` sees it at all."""
    if case.case_type in p.restricted:
        return restricted_access(p, case) in FULL_READS
    return can_view_case(p, case)


def is_subject(p: Principal, case: Case) -> bool:
    """Whether the case is about `p` (a personnel file's employee: `Case.subject_user_id`)."""
    return p.user_id != 0 and case.subject_user_id == p.user_id


def grant_for(p: Principal, case_id: int) -> int | None:
    """The id of the active recorded-reason access through which `p` sees the case (None: there is none)."""
    return p.grant_ids.get(case_id) if case_id in p.granted_cases else None


@dataclass(frozen=True)
class RestrictedView:
    """`restricted_access` without the confidentiality levels, as an index holding no levels applies it (the
    levels come on top by `level_hidden_cases`)."""

    types: frozenset[str]  # the restricted types not open to `p` as a whole (an admin's without a reason)
    reader_units: frozenset[tuple[str, int]]  # (type, unit id): p reads the type's files of that unit
    granted_cases: frozenset[int]
    subfiles: frozenset[str]  # "<type>/<sub-file key>": p sees these sub-files of every file of the type


def restricted_view(p: Principal) -> RestrictedView:
    types = frozenset(k for k, t in p.restricted.items() if not _admin_reads(p, t))
    return RestrictedView(
        types, frozenset((k, u) for k in types for u in _reader_units(p, p.restricted[k])), p.granted_cases,
        frozenset(f"{t}/{sub}" for t, sub in p.subfile_roles if t in types))


def can_view_case(p: Principal, case: Case) -> bool:
    """The rule of `visible_cases_filter` for one case (the two must agree): a member of its unit whose role
    there meets the case's confidentiality level, an auditor (for levels open to auditors), or someone its
    workflow brought it to in a role that meets the level; a case of a restricted type by `restricted_access`
    alone."""
    if case.case_type in p.restricted:
        return restricted_access(p, case) is not None
    if p.is_admin:
        return True
    c, level = p.confidentiality, case.confidentiality
    task_roles = p.task_roles_by_unit
    if case.unit_id in p.roles_by_unit and c.may_see(task_roles.get(case.unit_id, frozenset()), level):
        return True
    if p.is_auditor and c.effective(level).auditors:
        return True
    roles = {u: r for u, r in task_roles.items() if c.may_see(r, level)}
    session = object_session(case)
    if session is None or not roles:
        return False
    t = aliased(Task)
    return session.execute(select(t.id).where(t.case_id == case.id, _brought_by(roles, t)).limit(1)).first() \
        is not None


def can_lower_confidentiality(p: Principal, case: Case) -> bool:
    """Lowering a case's level: the lowering role (head of unit) in its unit, or an admin."""
    return p.is_admin or p.confidentiality.may_lower(p.roles_by_unit.get(case.unit_id, frozenset()))


def can_change_case(p: Principal, case: Case) -> bool:
    """The case's clerks, and admins; of a restricted type, only its readers holding the clerk role (and admins
    who read it without a reason): a grant opens a file for reading, a sub-file's unit only that sub-file."""
    if case.case_type in p.restricted:
        how = restricted_access(p, case)
        return how == "admin" or (how == "reader" and p.has_role(case.unit_id, "clerk"))
    return p.is_admin or p.has_role(case.unit_id, "clerk")


def require_view_case(p: Principal, case: Case | None, what: str = "case") -> Case:
    # Invisible and missing look the same, so ids of other units' cases leak nothing.
    if case is None or not can_view_case(p, case):
        raise NotFound(f"No {what} with this id", detail_de="Nicht gefunden")
    return case


def require_change_case(p: Principal, case: Case | None, what: str = "case") -> Case:
    case = require_view_case(p, case, what)
    if not can_change_case(p, case):
        raise _change_forbidden(case, what)
    return case


def _change_forbidden(case: Case, what: str) -> Forbidden:
    return Forbidden(f"Changing this {what} needs the clerk role in unit {case.unit.code}",
                     detail_de=f"Für Änderungen ist die Rolle Sachbearbeitung in {case.unit.name} nötig")


def can_create_in_unit(p: Principal, unit_id: int) -> bool:
    return p.is_admin or p.has_role(unit_id, "clerk")


def require_create_in_unit(p: Principal, unit_id: int, unit_code: str) -> None:
    if not can_create_in_unit(p, unit_id):
        raise Forbidden(f"Creating cases for unit {unit_code} needs the clerk role in that unit",
                        detail_de=f"Für das Anlegen von Akten in {unit_code} ist die Rolle Sachbearbeitung nötig")


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("This needs the admin role", detail_de="Dafür ist die Rolle Administration nötig")


def require_integrity_checker(p: Principal) -> None:
    """The integrity checks of the whole installation (audit trail, blob store): auditors and admins."""
    if not (p.is_admin or p.is_auditor):
        raise Forbidden("This needs the auditor or admin role",
                        detail_de="Dafür ist die Rolle Revision oder Administration nötig")


def require_audit_reader(p: Principal, case: Case) -> None:
    """The audit trail of a case: its unit's members, auditors and admins."""
    require_view_case(p, case)


# --- sub-files (Teilakten) --------------------------------------------------------------------------------
# The one rule for documents in sub-files that every document list, read, search and export applies: a sub-file
# the case type declares with a `unit` is seen only by that unit's members (holding its `min_role` when set) and
# by admins (of a restricted type only where admins read it without a reason); not by the case's own unit, not
# by auditors. And the partial view of a restricted type (`restricted_access` "subfile"): in the cases `p` does
# not read fully, only the sub-files kept for p's unit show, never the case level (Grundakte) nor the others.


@dataclass(frozen=True)
class HiddenSubfiles:
    """What of its cases' content `p` may not see, beyond the cases themselves (`hidden_subfiles`)."""

    # (case type, sub-file key): declared sub-files hidden from `p` in every case of the type.
    pairs: frozenset[tuple[str, str]] = frozenset()
    # Restricted type → the sub-files `p` sees in its cases that `p` does not read fully: there, the case level
    # (the pseudo sub-file "") and every other sub-file are hidden.
    partial: tuple[tuple[str, frozenset[str]], ...] = ()
    principal: Principal | None = None

    def __bool__(self) -> bool:
        return bool(self.pairs or self.partial)

    def __contains__(self, pair: object) -> bool:  # (case type, key) hidden in every case of the type
        return pair in self.pairs


NO_HIDDEN = HiddenSubfiles()
CASE_LEVEL = ""  # the pseudo sub-file key of the case level (Grundakte) in `hidden_pairs`


def hidden_subfiles(session: Session, p: Principal, registry: Registry) -> HiddenSubfiles:
    """The declared sub-files `p` may not see, and p's partial views of restricted types: computed fresh for every
    request from the registry and the caller's current memberships."""
    declared = [(t.key, f) for t in registry.types.values() for f in t.subfiles if f.unit
                if not (p.is_admin and (t.key not in p.restricted or _admin_reads(p, p.restricted[t.key])))]
    hidden = set()
    if declared:
        ids = dict(session.execute(select(Unit.code, Unit.id)).all())
        for type_key, sub in declared:
            unit_id = ids.get(sub.unit or "")
            roles = p.roles_by_unit.get(unit_id, frozenset()) if unit_id is not None else frozenset()
            if not roles or (sub.min_role is not None and sub.min_role not in roles):
                hidden.add((type_key, sub.key))
    partial = tuple((key, keys) for key, t in sorted(p.restricted.items()) if not _admin_reads(p, t)
                    if (keys := frozenset(_subfile_roles_of(p, key))))
    return HiddenSubfiles(frozenset(hidden), partial, p)


def hidden_pairs(hidden: HiddenSubfiles, case: Case) -> frozenset[str]:
    """The sub-file keys hidden from the caller in this case, `CASE_LEVEL` ("") standing for the case level
    (when the caller sees the case only partially)."""
    partial = _partial_here(hidden, case)
    if partial is not None:
        declared = {k for t, k in hidden.pairs if t == case.case_type}
        return frozenset({CASE_LEVEL} | declared) - partial
    return frozenset(k for t, k in hidden.pairs if t == case.case_type)


def _partial_here(hidden: HiddenSubfiles, case: Case) -> frozenset[str] | None:
    """The only sub-files the caller sees in `case`, when it sees the case partially; None: it sees all but
    `hidden.pairs`."""
    keys = dict(hidden.partial).get(case.case_type)
    if keys is None or hidden.principal is None or reads_fully(hidden.principal, case):
        return None
    return keys


def _hidden_pair(hidden: HiddenSubfiles, case: AliasedClass[Case],
                 procedure: type[Procedure] | AliasedClass[Procedure]) -> ColumnElement[bool]:
    return or_(*(and_(case.case_type == t, procedure.subfile == k) for t, k in sorted(hidden.pairs)))


def _partly_seen(hidden: HiddenSubfiles, key: str, case: AliasedClass[Case]) -> ColumnElement[bool]:
    """SQL: `case` (of type `key`) is one the caller sees only partially."""
    assert hidden.principal is not None
    return and_(case.case_type == key, ~_restricted_sql(hidden.principal, key, case, partial=False))


def _procedure_visible(hidden: HiddenSubfiles,
                       procedure: type[Procedure] | AliasedClass[Procedure]) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    if hidden.pairs:
        c = aliased(Case)
        conds.append(or_(procedure.subfile.is_(None),
                         ~exists().where(c.id == procedure.case_id, _hidden_pair(hidden, c, procedure))))
    for key, keys in hidden.partial:
        c = aliased(Case)
        conds.append(~exists().where(c.id == procedure.case_id, _partly_seen(hidden, key, c),
                                     or_(procedure.subfile.is_(None), procedure.subfile.not_in(sorted(keys)))))
    return and_(*conds) if conds else true()


def visible_procedures_filter(hidden: HiddenSubfiles) -> ColumnElement[bool]:
    """SQL on Procedure: not a sub-file hidden from the caller (`hidden_subfiles`)."""
    return _procedure_visible(hidden, Procedure) if hidden else true()


def case_level_visible(hidden: HiddenSubfiles, case_id: ColumnElement[int] | Any) -> ColumnElement[bool]:
    """SQL: the case level (Grundakte) of the case `case_id` names is open to the caller: not a case the caller
    sees only partially (a note, document or follow-up there)."""
    conds = []
    for key, _ in hidden.partial:
        c = aliased(Case)
        conds.append(~exists().where(c.id == case_id, _partly_seen(hidden, key, c)))
    return and_(*conds) if conds else true()


def visible_place_filter(hidden: HiddenSubfiles, case_id: Any, procedure_id: Any) -> ColumnElement[bool]:
    """SQL on a row filed in a case (`case_id`) at its case level (`procedure_id` NULL) or in a procedure: the
    caller sees that place (documents, notes, follow-ups alike)."""
    if not hidden:
        return true()
    pr = aliased(Procedure)
    return or_(and_(procedure_id.is_(None), case_level_visible(hidden, case_id)),
               exists().where(pr.id == procedure_id, _procedure_visible(hidden, pr)))


def visible_documents_filter(hidden: HiddenSubfiles) -> ColumnElement[bool]:
    """SQL on Document: at case level, or in a procedure/sub-file the caller may see (`hidden_subfiles`)."""
    return visible_place_filter(hidden, Document.case_id, Document.procedure_id)


def can_see_procedure(hidden: HiddenSubfiles, case: Case, procedure: Procedure | None) -> bool:
    """Whether the caller sees this place of the case: a procedure/sub-file, or the case level (None)."""
    partial = _partial_here(hidden, case)
    if partial is not None:
        return procedure is not None and procedure.subfile in partial
    return procedure is None or procedure.subfile is None or (case.case_type, procedure.subfile) not in hidden.pairs


def require_view_procedure(session: Session, p: Principal, registry: Registry,
                           procedure: Procedure | None) -> Procedure:
    """The procedure, when its case is visible and it is no sub-file hidden from `p`; else NotFound (as if
    missing, so that ids leak nothing)."""
    case = require_view_case(p, procedure.case if procedure is not None else None, "procedure")
    if procedure is None or not can_see_procedure(hidden_subfiles(session, p, registry), case, procedure):
        raise NotFound("No procedure with this id", detail_de="Nicht gefunden")
    return procedure


def require_view_document(session: Session, p: Principal, registry: Registry,
                          document: Document | None) -> Document:
    """The document, when its case is visible and it lies in a place of it (the case level, a procedure or
    sub-file) open to `p`; else NotFound."""
    case = require_view_case(p, document.case if document is not None else None, "document")
    if document is None or not can_see_procedure(
            hidden_subfiles(session, p, registry), case,
            session.get(Procedure, document.procedure_id) if document.procedure_id is not None else None):
        raise NotFound("No document with this id", detail_de="Nicht gefunden")
    return document


def can_change_at(p: Principal, case: Case, procedure: Procedure | None) -> bool:
    """Filing documents (and new versions) at this place of the case: the case's clerks (`can_change_case`);
    in a sub-file of a restricted type kept for a unit, also that unit's clerks, who see only that sub-file (the
    Beihilfe clerk files into the Beihilfe sub-file, nowhere else, and changes none of the case's data)."""
    if can_change_case(p, case):
        return True
    if procedure is None or procedure.subfile is None or procedure.case_id != case.id:
        return False
    return "clerk" in p.subfile_roles.get((case.case_type, procedure.subfile), frozenset()) \
        and can_view_case(p, case)


def require_change_at(p: Principal, case: Case | None, procedure: Procedure | None, what: str = "case") -> Case:
    case = require_view_case(p, case, what)
    if not can_change_at(p, case, procedure):
        raise _change_forbidden(case, what)
    return case


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


def roles_by_unit_code(session: Session, p: Principal) -> frozenset[tuple[str, str]]:
    """p's roles as (unit code, role): how the workflow engine, which knows units by code, sees them."""
    ids = set(p.roles_by_unit)
    codes = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(ids))).all()) if ids else {}
    return frozenset((codes[u], r) for u, rs in p.roles_by_unit.items() for r in rs)


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
    hidden = _hidden_restricted(p, c)  # admins too: a restricted type may make them give a reason
    # A routed task brings its case to p, but its confidentiality level may hide it again (raised above p's role):
    # then the task is neither listed nor actionable (`_task_for` refuses it by `can_view_case`).
    if not p.is_admin and not _levels_narrow_nothing(p):
        t = aliased(Task)
        cond.append(exists().where(c.id == Task.case_id, _visibility(
            p, c, lambda roles: exists().where(t.case_id == c.id, _brought_by(roles, t)), routed=True)))
    elif hidden is not None:
        cond.append(~exists().where(c.id == Task.case_id, hidden))
    return and_(*cond)


def _levels_narrow_nothing(p: Principal) -> bool:
    """Whether every level opens to `p` by all of p's routes (a head of unit's): then no level needs a check."""
    groups = _level_groups(p)
    return len(groups) == 1 and groups[0].full


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
    return _claim_binds_on(office_today())


@functools.lru_cache(maxsize=4)
def _claim_binds_on(today: dt.date) -> ColumnElement[bool]:
    # Built once a day: the expression depends on nothing else, and building it took 2 ms of every inbox.
    claimant = Task.claimed_by

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


def claim_still_binds(session: Session, task: Task, restricted: Mapping[str, CaseType]) -> bool:
    """Whether the task's claim still counts (see `claim_binds`): its holder may act on the task today."""
    if task.claimed_by is None:
        return False
    claimant = session.get(User, task.claimed_by)
    return claimant is not None and may_act(load_principal(session, claimant, restricted), task)


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


# --- check-out --------------------------------------------------------------------------------------------

UNIT_HEAD_ROLE = "head_of_unit"  # Amtsleitung: may break a colleague's stale check-out in its unit


def require_not_held_by_other(document: Document, actor: Actor) -> None:
    """Refuse any change of a document someone else has checked out (a new version, a move): CheckedOut (409)
    naming the holder and since when. Admins too: they break the lock first, which is audited."""
    holder_id = document.checked_out_by
    if holder_id is None or holder_id == actor.principal.user_id:
        return
    session = object_session(document)
    holder = session.get(User, holder_id) if session is not None else None
    name = holder.username if holder is not None else str(holder_id)
    shown = (holder.display_name if holder is not None else None) or name
    since = document.checked_out_at or dt.datetime.min  # both columns are set together
    iso = since.isoformat(timespec="seconds") + "Z"  # stored as naive UTC
    local = since.replace(tzinfo=dt.timezone.utc).astimezone(OFFICE_TZ)
    raise CheckedOut(
        f"document {document.id} is checked out by {name} since {iso}; it can be changed again once it is "
        "checked in", holder=name, since=iso,
        detail_de=f"Das Dokument ist seit {local:%d.%m.%Y, %H:%M} Uhr von {shown} ausgecheckt; Änderungen sind "
                  "erst nach dem Einchecken möglich")


def can_break_checkout(p: Principal, case: Case) -> bool:
    """Breaking someone's check-out (a stale lock): admins, and the head of the case's unit."""
    return p.is_admin or p.has_role(case.unit_id, UNIT_HEAD_ROLE)


def require_break_checkout(p: Principal, case: Case) -> None:
    if not can_break_checkout(p, case):
        raise Forbidden(f"breaking a check-out needs the admin role or the {UNIT_HEAD_ROLE} role in unit "
                        f"{case.unit.code}",
                        detail_de=f"Eine Sperre aufheben dürfen nur die Administration und die Amtsleitung von "
                                  f"{case.unit.name}")


# --- recorded-reason access (Einsicht mit Begründung) -------------------------------------------------------
# Auditors and admins, whose general view stops at restricted cases (personnel files), ask for access to one such
# case with a reason; the case type's `grant_role` held in the case's unit grants it for `grant_hours` or refuses
# it, or the type grants it at once, flagged (`grant_immediately`). A grant opens the case through
# `Principal.granted_cases`; these are the rules of asking and deciding (eakte.services.access_requests applies
# them).

def may_request_access(p: Principal) -> bool:
    """Who may ask at all: auditors and admins (the roles whose view of everything stops at restricted cases)."""
    return p.is_auditor or p.is_admin


def require_may_request_access(p: Principal) -> None:
    if not may_request_access(p):
        raise Forbidden("recorded-reason access is asked for by auditors and admins only",
                        detail_de="Akteneinsicht mit Begründung können nur Revision und Administration beantragen")


def grantable_restriction(registry: Registry, case: Case) -> Restriction | None:
    """The case's restriction when it lets people in by recorded-reason access (its `grant_hours` set)."""
    restriction = restriction_of(registry, case)
    return restriction if restriction is not None and restriction.grant_hours else None


def require_access_requestable(p: Principal, registry: Registry, case: Case | None) -> Restriction:
    """The restriction under which `p` may ask for access to `case`: a restricted case with grants that `p`
    cannot read in full. A case `p` cannot see that is not restricted is as missing as the case (its id tells
    nothing); one `p` already reads needs no request (409)."""
    require_may_request_access(p)
    if case is None:
        raise NotFound("No case with this id", detail_de="Nicht gefunden")
    restriction = grantable_restriction(registry, case)
    if restriction is None:
        require_view_case(p, case)
        raise Invalid(f"case {case.reference} is no restricted file: recorded-reason access is only for those",
                      field="case_id", detail_de=f"Die Akte {case.reference} ist keine vertrauliche Akte; "
                                                 "Einsicht mit Begründung gibt es nur für diese")
    if reads_fully(p, case):
        raise Conflict(f"you can already read case {case.reference}",
                       detail_de=f"Sie können die Akte {case.reference} bereits einsehen")
    return restriction


def may_decide_access(p: Principal, registry: Registry, case: Case) -> bool:
    """Granting or refusing access to `case`: its restriction's `grant_role` held in the case's unit (own
    membership only: no deputy, no admin in their general capacity)."""
    restriction = grantable_restriction(registry, case)
    return restriction is not None and p.has_role(case.unit_id, restriction.grant_role)


def require_may_decide_access(p: Principal, registry: Registry, case: Case, requester_id: int) -> Restriction:
    """The restriction under which `p` decides a request of `requester_id` for `case`; never their own."""
    restriction = grantable_restriction(registry, case)
    if restriction is None or not p.has_role(case.unit_id, restriction.grant_role):
        role = restriction.grant_role if restriction is not None else "head_of_unit"
        raise Forbidden(f"deciding on access to case {case.reference} needs the {role} role in unit "
                        f"{case.unit.code}",
                        detail_de=f"Über die Einsicht in {case.reference} entscheidet die Leitung von "
                                  f"{case.unit.name}")
    if requester_id == p.user_id:
        raise Forbidden("nobody decides on their own access request",
                        detail_de="Über den eigenen Antrag auf Einsicht kann niemand selbst entscheiden")
    return restriction


def access_decider_cases(p: Principal, registry: Registry,
                         case: type[Case] | AliasedClass[Case] = Case) -> ColumnElement[bool]:
    """SQL on `case`: the cases on whose access requests `p` decides (`may_decide_access`)."""
    parts = []
    for key, case_type in sorted(registry.restricted.items()):
        restriction = case_type.restriction
        if not restriction.grant_hours:
            continue
        units = sorted(u for u, roles in p.roles_by_unit.items() if restriction.grant_role in roles)
        if units:
            parts.append(and_(case.case_type == key, case.unit_id.in_(units)))
    return _any(parts)
