"""Follow-ups (Wiedervorlage): a date and a note on a case or one of its procedures, for oneself or for the
case's unit. On its date it comes back in the Postkorb (`due_followups`), which reads the date from the one
clock: no job has to move it there; the periodic job only reports how many became due (`became_due`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Forbidden, Invalid
from eakte.services.inputs import required_text
from eakte.models import Case, FollowUp, Procedure, Unit, User
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import (
    Actor,
    NO_HIDDEN,
    HiddenSubfiles,
    Principal,
    can_change_case,
    can_see_procedure,
    hidden_subfiles,
    require_change_case,
    require_view_case,
    visible_case_rows_filter,
    visible_place_filter,
    visible_procedures_filter,
)
from workflows.registry import Registry

NOTE_MAX = 2000


@dataclass(frozen=True)
class NewFollowUp:
    due_on: dt.date
    note: str
    for_unit: bool = False  # False: for the one who sets it; True: for the case's unit
    procedure_id: int | None = None


@dataclass(frozen=True)
class FollowUpEntry:
    """A follow-up as the API and the pages show it: plain values, the names already looked up."""

    id: int
    case_id: int
    case_reference: str
    case_title: str
    procedure_id: int | None
    procedure_reference: str | None
    procedure_title: str | None
    due_on: dt.date
    note: str
    for_unit: bool
    user: str | None  # whom it is for (None: the unit)
    unit: str
    unit_name: str
    status: str
    overdue: bool  # open and due before today
    created_at: dt.datetime
    created_by: str | None
    done_at: dt.datetime | None
    done_by: str | None
    may_act: bool  # the caller may mark it done or postpone it


# --- who may do what ------------------------------------------------------------------------------------

def member_units(p: Principal) -> frozenset[int]:
    """The units whose follow-ups `p` takes: those where p holds a role beyond the auditor's, who reads but
    never acts."""
    return frozenset(u for u, roles in p.roles_by_unit.items() if roles - {"auditor"})


def may_act(p: Principal, fu: FollowUp) -> bool:
    """A personal follow-up is its owner's alone; a unit's, any member's (`member_units`)."""
    if fu.user_id is not None:
        return fu.user_id == p.user_id
    return fu.unit_id in member_units(p)


def _for_principal(p: Principal) -> ColumnElement[bool]:
    """SQL mirror of `may_act`: the follow-ups that come back to `p`."""
    units = sorted(member_units(p))
    unit = and_(FollowUp.user_id.is_(None), FollowUp.unit_id.in_(units)) if units else false()
    return or_(FollowUp.user_id == p.user_id, unit)


def _require_may_act(p: Principal, fu: FollowUp, case: Case) -> None:
    if not may_act(p, fu):
        if fu.user_id is not None:
            raise Forbidden("this follow-up is someone else's personal one",
                            detail_de="Diese Wiedervorlage ist die persönliche eines anderen Beschäftigten")
        raise Forbidden(f"this follow-up is for the members of unit {case.unit.code}",
                        detail_de=f"Diese Wiedervorlage ist für die Mitglieder von {case.unit.name}")


def _require_case_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed; its follow-ups cannot be set or postponed",
                       detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.); Wiedervorlagen sind nicht "
                                 "mehr möglich")


def suggested_postpone(today: dt.date | None = None) -> dt.date:
    """The date a postpone form offers: a week on."""
    return (today or office_today()) + dt.timedelta(days=7)


def _due_on(due_on: dt.date | None) -> dt.date:
    if due_on is None:
        raise Invalid("due_on: a date is required", field="due_on", detail_de="Bitte geben Sie ein Datum an")
    today = office_today()
    if due_on < today:
        raise Invalid(f"due_on: {due_on.isoformat()} is in the past (today is {today.isoformat()})",
                      field="due_on", detail_de="Das Datum darf nicht in der Vergangenheit liegen")
    return due_on


def _note(note: str | None) -> str:
    return required_text(note, "note", NOTE_MAX, empty_de="Bitte geben Sie einen Hinweis ein",
                         too_long_de=f"Der Hinweis darf höchstens {NOTE_MAX} Zeichen lang sein")


def _procedure(session: Session, case: Case, procedure_id: int | None, hidden: HiddenSubfiles) -> Procedure | None:
    """An open procedure of the case the caller sees: a sub-file hidden from them is "not there" (its id tells
    nothing), and a closed one takes no follow-up (the case page offers only the open ones)."""
    if procedure_id is None:
        return None
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or procedure.case_id != case.id or not can_see_procedure(hidden, case, procedure):
        raise Invalid(f"procedure_id: no procedure {procedure_id} in case {case.reference}", field="procedure_id",
                      detail_de=f"Kein Vorgang {procedure_id} in der Akte {case.reference}")
    if procedure.status != "open":
        raise Conflict(f"procedure {procedure.reference} is closed; no follow-up can be set on it",
                       detail_de=f"Vorgang {procedure.reference} ist abgeschlossen; keine Wiedervorlage möglich")
    return procedure


# --- writes -------------------------------------------------------------------------------------------------

def create_followup(session: Session, actor: Actor, case_id: int, new: NewFollowUp, *,
                    registry: Registry) -> FollowUp:
    p = actor.principal
    case = require_change_case(p, session.get(Case, case_id))
    _require_case_open(case)
    procedure = _procedure(session, case, new.procedure_id, hidden_subfiles(session, p, registry))
    due_on, note = _due_on(new.due_on), _note(new.note)
    if new.for_unit and case.unit_id not in member_units(p):
        raise Forbidden(f"only members of unit {case.unit.code} may set a follow-up for it", field="for_unit",
                        detail_de=f"Eine Wiedervorlage für {case.unit.name} können nur deren Mitglieder setzen")
    fu = FollowUp(case_id=case.id, procedure_id=procedure.id if procedure else None, due_on=due_on, note=note,
                  user_id=None if new.for_unit else p.user_id, unit_id=case.unit_id, status="open",
                  created_by=p.user_id)
    session.add(fu)
    session.flush()
    audit.record(session, actor, "followup.created", "followup", fu.id, case_id=case.id,
                 details={"due_on": due_on.isoformat(), "note": note, "for": "unit" if new.for_unit else "user",
                          "unit": case.unit.code, "procedure_id": fu.procedure_id})
    return fu


def _followup_for_change(session: Session, actor: Actor, followup_id: int) -> tuple[FollowUp, Case]:
    fu = session.get(FollowUp, followup_id, with_for_update=True)
    # A follow-up on a case the caller cannot see is as missing as the case.
    case = require_view_case(actor.principal, session.get(Case, fu.case_id) if fu else None, "follow-up")
    assert fu is not None
    _require_may_act(actor.principal, fu, case)
    if fu.status != "open":
        raise Conflict("this follow-up is already done", detail_de="Diese Wiedervorlage ist bereits erledigt")
    return fu, case


def mark_done(session: Session, actor: Actor, followup_id: int) -> FollowUp:
    """Done also on a closed case: closing it is no reason to keep the reminder coming back."""
    fu, case = _followup_for_change(session, actor, followup_id)
    fu.status, fu.done_at, fu.done_by = "done", utcnow(), actor.principal.user_id or None
    audit.record(session, actor, "followup.done", "followup", fu.id, case_id=case.id,
                 details={"due_on": fu.due_on.isoformat()})
    return fu


def postpone(session: Session, actor: Actor, followup_id: int, due_on: dt.date | None) -> FollowUp:
    fu, case = _followup_for_change(session, actor, followup_id)
    _require_case_open(case)
    new = _due_on(due_on)
    old, fu.due_on = fu.due_on, new
    audit.record(session, actor, "followup.postponed", "followup", fu.id, case_id=case.id,
                 details={"due_on": {"old": old.isoformat(), "new": new.isoformat()}})
    return fu


# --- reads --------------------------------------------------------------------------------------------------

def _visible_place(hidden: HiddenSubfiles) -> ColumnElement[bool]:
    """SQL on FollowUp: on the case itself or on a procedure/sub-file the caller sees (a unit's follow-up on a
    sub-file kept for another unit must not show its note to the members who may not see that sub-file)."""
    return visible_place_filter(hidden, FollowUp.case_id, FollowUp.procedure_id)


def _due_query(p: Principal, today: dt.date, hidden: HiddenSubfiles = NO_HIDDEN) -> Select[tuple[FollowUp]]:
    """Open follow-ups due by `today` that come back to `p`, only on cases `p` may see now (a follow-up on a
    case that has moved out of reach never shows) and not on a sub-file hidden from `p` (`hidden`: the units of
    work below pass `hidden_subfiles`). The range on (status, due_on) is the index ix_followups_open_due; the
    visibility rule is checked per remaining row."""
    c = aliased(Case)
    return select(FollowUp).where(FollowUp.status == "open", FollowUp.due_on <= today, _for_principal(p),
                                  exists().where(c.id == FollowUp.case_id, visible_case_rows_filter(p, c)),
                                  _visible_place(hidden))


def due_followups(session: Session, p: Principal, today: dt.date, *, offset: int = 0, limit: int = 100,
                  hidden: HiddenSubfiles = NO_HIDDEN) -> tuple[list[FollowUp], int]:
    """The page of due follow-ups (the longest overdue first) and how many there are in all."""
    query = _due_query(p, today, hidden)
    total = count_due(session, p, today, hidden)
    rows = session.execute(query.order_by(FollowUp.due_on, FollowUp.id).offset(offset).limit(limit)).scalars()
    return list(rows), total


def count_due(session: Session, p: Principal, today: dt.date, hidden: HiddenSubfiles = NO_HIDDEN) -> int:
    return session.execute(select(func.count()).select_from(_due_query(p, today, hidden).subquery())).scalar_one()


def entries(session: Session, p: Principal, rows: list[FollowUp], today: dt.date) -> list[FollowUpEntry]:
    """Rows as entries, their cases, procedures, units and people read once for all of them."""
    if not rows:
        return []
    cases = {c.id: c for c in session.execute(select(Case).where(Case.id.in_({f.case_id for f in rows}))).scalars()}
    proc_ids = {f.procedure_id for f in rows if f.procedure_id}
    procs = {pr.id: pr for pr in session.execute(select(Procedure).where(Procedure.id.in_(proc_ids))).scalars()} \
        if proc_ids else {}
    units = {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_({f.unit_id for f in rows}))).scalars()}
    user_ids = {i for f in rows for i in (f.user_id, f.created_by, f.done_by) if i}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    out = []
    for f in rows:
        case, proc, unit = cases[f.case_id], procs.get(f.procedure_id or 0), units[f.unit_id]
        out.append(FollowUpEntry(
            id=f.id, case_id=f.case_id, case_reference=case.reference, case_title=case.title,
            procedure_id=f.procedure_id, procedure_reference=proc.reference if proc else None,
            procedure_title=proc.title if proc else None, due_on=f.due_on, note=f.note,
            for_unit=f.user_id is None, user=names.get(f.user_id) if f.user_id else None, unit=unit.code,
            unit_name=unit.name, status=f.status, overdue=f.status == "open" and f.due_on < today,
            created_at=f.created_at, created_by=names.get(f.created_by), done_at=f.done_at,
            done_by=names.get(f.done_by) if f.done_by else None,
            may_act=f.status == "open" and may_act(p, f)))
    return out


def _entry(session: Session, actor: Actor, fu: FollowUp) -> FollowUpEntry:
    return entries(session, actor.principal, [fu], office_today())[0]


def became_due(session: Session, today: dt.date) -> int:
    """Open follow-ups whose date is `today`: what the periodic job reports (an equality on both columns of
    ix_followups_open_due). Nothing needs moving, the Postkorb reads the date itself."""
    return session.execute(select(func.count()).select_from(FollowUp).where(
        FollowUp.status == "open", FollowUp.due_on == today)).scalar_one()


# --- units of work: each opens and ends its own transaction (the API and the pages call these) -------------

def set_followup(rt: Runtime, actor: Actor, case_id: int, new: NewFollowUp) -> FollowUpEntry:
    with rt.db.write() as session:
        return _entry(session, actor, create_followup(session, actor, case_id, new, registry=rt.registry))


def complete_followup(rt: Runtime, actor: Actor, followup_id: int) -> FollowUpEntry:
    with rt.db.write() as session:
        return _entry(session, actor, mark_done(session, actor, followup_id))


def postpone_followup(rt: Runtime, actor: Actor, followup_id: int, due_on: dt.date | None) -> FollowUpEntry:
    with rt.db.write() as session:
        return _entry(session, actor, postpone(session, actor, followup_id, due_on))


def _of_case(session: Session, p: Principal, case: Case, registry: Registry) -> list[FollowUpEntry]:
    """The case's follow-ups, without those on a sub-file hidden from `p` (their notes speak of its content)."""
    hidden = hidden_subfiles(session, p, registry)
    rows = list(session.execute(select(FollowUp).where(FollowUp.case_id == case.id, _visible_place(hidden))
                                .order_by(FollowUp.due_on, FollowUp.id)).scalars())
    open_rows = [f for f in rows if f.status == "open"]
    done_rows = sorted((f for f in rows if f.status != "open"), key=lambda f: f.done_at or f.created_at,
                       reverse=True)
    return entries(session, p, open_rows + done_rows, office_today())


def case_followups(rt: Runtime, actor: Actor, case_id: int) -> list[FollowUpEntry]:
    """All follow-ups of a case, for whoever may see the case: the open ones by date, then the done ones, the
    latest first."""
    with rt.db.read() as session:
        return _of_case(session, actor.principal, require_view_case(actor.principal, session.get(Case, case_id)),
                        rt.registry)


@dataclass(frozen=True)
class CaseFollowUps:
    """What the case page shows and offers: the same rules `create_followup` enforces."""

    items: list[FollowUpEntry]
    may_set: bool
    may_set_for_unit: bool
    procedures: list[tuple[int, str]]  # (id, "reference title") of the case's open procedures, to choose from
    postpone_to: dt.date  # what a postpone form offers (`suggested_postpone`)


def case_panel(rt: Runtime, actor: Actor, case_id: int) -> CaseFollowUps:
    p = actor.principal
    with rt.db.read() as session:
        case = require_view_case(p, session.get(Case, case_id))
        may_set = can_change_case(p, case) and case.status == "open"
        procedures = [(pr.id, f"{pr.reference} {pr.title}") for pr in session.execute(
            select(Procedure).where(Procedure.case_id == case.id, Procedure.status == "open",
                                    visible_procedures_filter(hidden_subfiles(session, p, rt.registry)))
            .order_by(Procedure.number)).scalars()] if may_set else []
        return CaseFollowUps(_of_case(session, p, case, rt.registry), may_set, may_set and case.unit_id in member_units(p),
                             procedures, suggested_postpone())


def read_followup(rt: Runtime, actor: Actor, followup_id: int) -> FollowUpEntry:
    with rt.db.read() as session:
        fu = session.get(FollowUp, followup_id)
        require_view_case(actor.principal, session.get(Case, fu.case_id) if fu else None, "follow-up")
        assert fu is not None
        return _entry(session, actor, fu)


@dataclass(frozen=True)
class DueList:
    items: list[FollowUpEntry]
    total: int
    overdue: int
    postpone_to: dt.date


def inbox_followups(rt: Runtime, actor: Actor, *, today: dt.date | None = None, offset: int = 0,
                    limit: int = 100) -> DueList:
    """The Postkorb's follow-ups: due by today (the clock's, in the office's calendar)."""
    today = today or office_today()
    with rt.db.read() as session:
        hidden = hidden_subfiles(session, actor.principal, rt.registry)
        rows, total = due_followups(session, actor.principal, today, offset=offset, limit=limit, hidden=hidden)
        overdue = count_due(session, actor.principal, today - dt.timedelta(days=1), hidden)
        return DueList(entries(session, actor.principal, rows, today), total, overdue, suggested_postpone(today))


def due_count(rt: Runtime, actor: Actor, *, today: dt.date | None = None) -> int:
    """How many follow-ups are due for the caller (the navigation's Postkorb count adds them)."""
    with rt.db.read() as session:
        return count_due(session, actor.principal, today or office_today(),
                         hidden_subfiles(session, actor.principal, rt.registry))


def count_became_due(rt: Runtime, today: dt.date | None = None) -> int:
    with rt.db.read() as session:
        return became_due(session, today or office_today())
