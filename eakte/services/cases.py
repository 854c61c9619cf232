"""Cases (Akten): creation with gap-free reference numbers, listing within what the caller may see, changes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from eakte.clock import OFFICE_TZ, office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.services.inputs import required_title
from eakte.models import CASE_STATUSES, AuditEvent, Case, CaseCounter, FilePlanNode, Unit
from eakte.runtime import Runtime
from eakte.services import approvals, audit, confidentiality, indexing, procedures, reads, workflow
from eakte.services import case_rules
from eakte.services.access import (
    SYSTEM,
    Actor,
    Principal,
    can_change_case,
    require_audit_reader,
    require_change_case,
    own_unit_cases_filter,
    require_create_in_unit,
    require_view_case,
    visible_cases_filter,
)
from workflows.definition import CaseType
from workflows.fields import FieldError
from workflows.registry import Registry


@dataclass(frozen=True)
class NewCase:
    file_plan_code: str
    title: str | None  # None or blank: the case type's title_template makes it, where it has one
    unit: str
    case_type: str = "general"
    metadata: dict[str, Any] | None = None
    confidentiality: str | None = None  # a key of the configured levels (`[confidentiality]`); None: the lowest


@dataclass(frozen=True)
class CaseChanges:
    title: str | None = None
    metadata: dict[str, Any] | None = None
    confidentiality: str | None = None  # raising: who may change the case; lowering: the head of unit


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    unit: str | None = None
    case_type: str | None = None
    file_plan_code: str | None = None
    reference: str | None = None
    title_contains: str | None = None


def case_type_of(registry: Registry, key: str) -> CaseType:
    case_type = registry.get(key)
    if case_type is None:
        raise Invalid(f"case_type: unknown case type {key!r} (known: {', '.join(sorted(registry.types))})",
                      field="case_type", detail_de=f"Unbekannter Aktentyp {key!r}")
    return case_type


def checked_metadata(case_type: CaseType, metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        return case_type.normalise_metadata(audit.plain_json(metadata))
    except FieldError as exc:
        raise _field_invalid(exc) from None


def _field_invalid(exc: FieldError) -> Invalid:
    return Invalid(f"metadata.{exc.field}: {exc.message}", field=f"metadata.{exc.field}",
                   detail_de=f"metadata.{exc.field}: {exc.message_de}")


def require_changeable(session: Session, case_type: CaseType, case: Case | None, submitted: dict[str, Any]) -> None:
    """Refuse a user's change of a field the system computes (FieldReadOnly, 422) or a decided step has fixed
    (FieldFrozen, 409, naming the step). `case` None: the metadata of a case being created."""
    decided = approvals.decided_steps(session, case_type, case.id) \
        if case is not None and case_type.frozen_after else frozenset()
    try:
        lock = case_type.refused_change(case.metadata_ if case is not None else {}, submitted, decided)
    except FieldError as exc:
        raise _field_invalid(exc) from None
    if lock is not None:
        raise approvals.lock_error(lock)


def create_case(session: Session, actor: Actor, new: NewCase, registry: Registry, *,
                derived: dict[str, Any] | None = None) -> Case:
    """`new.metadata` is what the user gives (read-only fields refused); `derived` what the system computed for
    the new case, e.g. the fields read from an e-invoice and their check results."""
    unit = session.execute(select(Unit).where(Unit.code == new.unit)).scalar()
    if unit is None:
        raise Invalid(f"unit: no unit with code {new.unit!r}", field="unit")
    require_create_in_unit(actor.principal, unit.id, unit.code)
    case_type = case_type_of(registry, new.case_type or "general")
    case_rules.require_home_unit(case_type, unit.code)
    node = session.execute(select(FilePlanNode).where(FilePlanNode.code == new.file_plan_code)).scalar()
    if node is None:
        raise Invalid(f"file_plan_code: no file plan node {new.file_plan_code!r}", field="file_plan_code",
                      detail_de=f"Keine Aktenplanposition {new.file_plan_code!r}")
    submitted = _metadata(new.metadata)
    metadata = checked_metadata(case_type, {**submitted, **_metadata(derived)})
    require_changeable(session, case_type, None, submitted)
    title = required_title(case_rules.title_for(case_type, new.title, metadata))
    subject = case_rules.subject_user_id(session, case_type, metadata)
    levels = actor.principal.confidentiality
    level = levels.levels[0].key if new.confidentiality is None else confidentiality.checked_key(levels,
                                                                                                 new.confidentiality)
    year = office_today().year
    number = _next_number(session, node.id, year)
    case = Case(reference=f"{node.code}/{number:04d}/{year}", file_plan_node=node, year=year, number=number,
                title=title, case_type=case_type.key, unit=unit, metadata_=metadata, confidentiality=level,
                created_by=actor.principal.user_id, subject_user_id=subject)
    session.add(case)
    session.flush()
    case_rules.write_keys(session, case_type, case, metadata)
    audit.record(session, actor, "case.create", "case", case.id, case_id=case.id,
                 details={"reference": case.reference, "title": title, "unit": unit.code,
                          "case_type": case.case_type, "metadata": case.metadata_, "confidentiality": level})
    procedures.ensure_subfiles(session, actor, case, case_type)  # the sub-files its type declares
    _close_if_due(session, actor, case, case_type)  # e.g. the file of someone who has left service already
    return case


def _next_number(session: Session, node_id: int, year: int) -> int:
    """Increment under the counter row's lock: concurrent creators queue, and a rolled-back creation also rolls
    back its number, so numbers are gap-free and unique."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(CaseCounter).values(file_plan_node_id=node_id, year=year, last_number=0)
                    .on_conflict_do_nothing())
    return session.execute(
        update(CaseCounter)
        .where(CaseCounter.file_plan_node_id == node_id, CaseCounter.year == year)
        .values(last_number=CaseCounter.last_number + 1)
        .returning(CaseCounter.last_number)).scalar_one()


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    return require_view_case(actor.principal, session.get(Case, case_id))


def update_case(session: Session, actor: Actor, case_id: int, changes: CaseChanges, registry: Registry) -> Case:
    case = require_view_case(actor.principal, session.get(Case, case_id, with_for_update=True))
    if changes.title is not None or changes.metadata is not None or changes.confidentiality is None:
        require_change_case(actor.principal, case)
    # else: only the level, whose own rule (`confidentiality.set_level`) lets a head of unit lower it
    _require_open(case)
    if changes.confidentiality is not None:
        confidentiality.set_level(session, actor, case, changes.confidentiality)
    changed: dict[str, Any] = {}
    if changes.title is not None and changes.title != case.title:
        if case_type_of(registry, case.case_type).created_by_intake:
            raise Invalid("title: the title of this case comes from its entry and cannot be changed", field="title",
                          detail_de="Der Titel dieser Akte ergibt sich aus ihrem Eintrag und kann nicht geändert werden")
        changed["title"] = {"old": case.title, "new": required_title(changes.title)}
        case.title = changed["title"]["new"]
    if changes.metadata is not None:
        submitted = _metadata(changes.metadata)
        case_type = case_type_of(registry, case.case_type)
        merged = {**case.metadata_, **submitted}
        merged = {k: v for k, v in merged.items() if v is not None}  # null removes a key, as in JSON merge patch
        merged = checked_metadata(case_type, merged)
        require_changeable(session, case_type, case, submitted)
        if merged != case.metadata_:
            changed["metadata"] = {"old": case.metadata_, "new": merged}
            _apply_case_rules(session, case_type, case, merged, changed, title_given=changes.title is not None)
            case.metadata_ = merged
    if changed:
        case.updated_at = utcnow()
        audit.record(session, actor, "case.update", "case", case.id, case_id=case.id, details=changed)
        indexing.case_changed(session, case.id)
    if changes.metadata is not None:
        # A leaving date that has come closes the file now, in the same transaction.
        _close_if_due(session, actor, case, case_type_of(registry, case.case_type))
    return case


def _apply_case_rules(session: Session, case_type: CaseType, case: Case, merged: dict[str, Any],
                      changed: dict[str, Any], *, title_given: bool) -> None:
    """Keys, subject and a title made from the fields follow a change of the metadata (before it is stored)."""
    case_rules.write_keys(session, case_type, case, merged)
    field = case_type.subject_field
    if field and merged.get(field) != case.metadata_.get(field):
        case.subject_user_id = case_rules.subject_user_id(session, case_type, merged)
    title = None if title_given else case_rules.retitled(case_type, case.title, case.metadata_, merged)
    if title is not None:
        changed["title"] = {"old": case.title, "new": title}
        case.title = title


def close_case(session: Session, actor: Actor, case_id: int, registry: Registry) -> Case:
    case = require_change_case(actor.principal, session.get(Case, case_id, with_for_update=True))
    _require_open(case)
    _require_closable_by_hand(registry.get(case.case_type))
    _close(session, actor, case, office_today())
    return case


def closable_by_hand(case_type: CaseType | None) -> bool:
    """Whether the generic close (z.d.A. by a clerk) applies to cases of this type; False where the type's workflow
    owns the closing (`CaseType.closed_by_workflow`)."""
    return case_type is None or not case_type.closed_by_workflow


def _require_closable_by_hand(case_type: CaseType | None) -> None:
    if not closable_by_hand(case_type):
        assert case_type is not None
        raise Conflict(f"cases of type {case_type.key!r} are closed by their workflow only",
                       detail_de=f"Akten vom Typ „{case_type.label_de}“ werden nur durch ihren Ablauf geschlossen "
                                 "(z. B. ein Gewerbe durch die Eintragung der Abmeldung), nicht von Hand")


def _close(session: Session, actor: Actor, case: Case, day: dt.date, by_field: str | None = None) -> None:
    case.status = "closed"
    case.closed_at = day
    case.updated_at = utcnow()
    details: dict[str, Any] = {"closed_at": day.isoformat()}
    if by_field:
        details["by_field"] = by_field
    audit.record(session, actor, "case.close", "case", case.id, case_id=case.id, details=details)
    indexing.case_changed(session, case.id)


def _close_if_due(session: Session, actor: Actor, case: Case, case_type: CaseType) -> bool:
    """Close an open case whose `closes_on_field` date has come, as of that date (its retention runs from it)."""
    day = case_rules.closing_day(case_type, case.metadata_, office_today())
    if case.status != "open" or day is None:
        return False
    _close(session, actor, case, day, case_type.closes_on_field)
    return True


def close_due(rt: Runtime) -> int:
    """The periodic job's part: close the open cases whose closing date (`closes_on_field`, e.g. a leaving date
    given in advance) has come since. Returns how many."""
    today = office_today()
    system = Actor(Principal(SYSTEM.user_id, "system:closing"), None)
    closed = 0
    for case_type in rt.registry.types.values():
        if case_type.closes_on_field is None:
            continue
        day = Case.metadata_[case_type.closes_on_field].as_string()  # ISO dates compare as strings
        with rt.db.write() as session:
            due = session.execute(select(Case).where(Case.case_type == case_type.key, Case.status == "open",
                                                     day <= today.isoformat()).with_for_update()).scalars()
            closed += sum(_close_if_due(session, system, case, case_type) for case in list(due))
    return closed


def list_cases(session: Session, actor: Actor, flt: CaseFilter, *, offset: int, limit: int) -> tuple[list[Case], int]:
    query = _filtered(select(Case).where(visible_cases_filter(actor.principal)), flt)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Case.id.desc()).offset(offset).limit(limit)).scalars().all()
    return list(rows), total


def _filtered(query: Select[tuple[Case]], flt: CaseFilter) -> Select[tuple[Case]]:
    if flt.status:
        if flt.status not in CASE_STATUSES:
            raise Invalid(f"status: expected one of {', '.join(CASE_STATUSES)}", field="status")
        query = query.where(Case.status == flt.status)
    if flt.unit:
        query = query.join(Unit, Unit.id == Case.unit_id).where(Unit.code == flt.unit)
    if flt.case_type:
        query = query.where(Case.case_type == flt.case_type)
    if flt.file_plan_code:
        query = query.join(FilePlanNode, FilePlanNode.id == Case.file_plan_node_id).where(
            FilePlanNode.code == flt.file_plan_code)
    if flt.reference:
        query = query.where(Case.reference == flt.reference)
    if flt.title_contains:
        query = query.where(Case.title.ilike(f"%{_escape_like(flt.title_contains)}%", escape="\\"))
    return query


def list_my_open_cases(session: Session, actor: Actor, *, limit: int) -> tuple[list[Case], int]:
    """Open cases of the caller's units (their Federführung), newest change first: those their confidentiality
    level lets the caller see as a member; an index on (unit, status) finds them."""
    p = actor.principal
    query = select(Case).where(own_unit_cases_filter(p), Case.status == "open")
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit)).scalars().all()
    return list(rows), total


def case_by_reference(session: Session, actor: Actor, reference: str) -> Case:
    case = session.execute(select(Case).where(Case.reference == reference)).scalar()
    if case is None:
        raise NotFound(f"no case with reference {reference}", detail_de=f"Keine Akte {reference}")
    return require_view_case(actor.principal, case)


def _require_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed", detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.)")




def _metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise Invalid("metadata: expected a JSON object", field="metadata")
    return audit.plain_json(metadata)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- units of work: each opens and ends its own transaction (the API calls these, never a session) -----------

def open_case(rt: Runtime, actor: Actor, new: NewCase) -> Case:
    """Create a case and start its case type's workflow, in one transaction."""
    case_type = case_type_of(rt.registry, new.case_type or "general")
    if case_type.created_by_intake:
        raise Invalid(f"case_type: cases of type {case_type.key!r} are created by their intake only",
                      field="case_type",
                      detail_de=f"Akten vom Typ „{case_type.label_de}“ entstehen nur über ihren Eingang")
    with rt.db.write() as session:
        case = create_case(session, actor, new, rt.registry)
        workflow.start_workflow(rt, session, actor, case)
        return case


def read_case(rt: Runtime, actor: Actor, case_id: int, *, log: bool = True) -> Case:
    """The case, for showing it: a restricted case's opening is traced (`read.case`, services/reads.py). `log`
    False: only to check that the caller may see it (before an upload), nothing of it is shown."""
    with rt.db.read() as session:
        case = get_case(session, actor, case_id)
    if log:
        reads.log_read(rt, actor, case, "read.case")
    return case


def find_cases(rt: Runtime, actor: Actor, flt: CaseFilter, *, offset: int, limit: int) -> tuple[list[Case], int]:
    with rt.db.read() as session:
        return list_cases(session, actor, flt, offset=offset, limit=limit)


def my_open_cases(rt: Runtime, actor: Actor, *, limit: int) -> tuple[list[Case], int]:
    with rt.db.read() as session:
        return list_my_open_cases(session, actor, limit=limit)


@dataclass(frozen=True)
class FilterChoices:
    """What a case search form offers: every unit (code, name) and every file plan node (code, title)."""

    units: list[tuple[str, str]]
    file_plan: list[tuple[str, str]]


def filter_choices(rt: Runtime) -> FilterChoices:
    with rt.db.read() as session:
        units = [(u.code, u.name) for u in session.execute(select(Unit).order_by(Unit.code)).scalars()]
        nodes = session.execute(select(FilePlanNode)).scalars().all()
    ordered = sorted(nodes, key=lambda n: [int(part) for part in n.code.split(".")])
    return FilterChoices(units, [(n.code, n.title) for n in ordered])


def change_case(rt: Runtime, actor: Actor, case_id: int, changes: CaseChanges) -> Case:
    with rt.db.write() as session:
        return update_case(session, actor, case_id, changes, rt.registry)


def conclude_case(rt: Runtime, actor: Actor, case_id: int) -> Case:
    """Close the case (z.d.A.)."""
    with rt.db.write() as session:
        return close_case(session, actor, case_id, rt.registry)


@dataclass(frozen=True)
class TrailFilter:
    """Narrowing a case's audit trail: one action, one person, office days from/to (inclusive)."""

    action: str | None = None
    actor: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _office_midnight_utc(day: dt.date) -> dt.datetime:
    # Stored times are naive UTC; a day of the trail filter is a day in the office's calendar.
    return dt.datetime.combine(day, dt.time(), OFFICE_TZ).astimezone(dt.timezone.utc).replace(tzinfo=None)


def case_trail(rt: Runtime, actor: Actor, case_id: int, *, offset: int, limit: int,
               flt: TrailFilter = TrailFilter()) -> list[AuditEvent]:
    """The audit trail of a case, for those who may read it."""
    with rt.db.read() as session:
        case = get_case(session, actor, case_id)
        require_audit_reader(actor.principal, case)
        return audit.events_for_case(
            session, case.id, offset=offset, limit=limit, action=flt.action, actor=flt.actor,
            since=_office_midnight_utc(flt.date_from) if flt.date_from else None,
            before=_office_midnight_utc(flt.date_to + dt.timedelta(days=1)) if flt.date_to else None,
            hidden=procedures.hidden_objects(session, actor, rt.registry, case.id),
            only=procedures.trail_only(session, actor, rt.registry, case.id))


@dataclass(frozen=True)
class CaseActions:
    """What the case page may offer the caller: the same rules the changing services enforce."""

    may_change: bool
    may_upload: bool
    may_close: bool


def case_actions(rt: Runtime, actor: Actor, case_id: int) -> CaseActions:
    with rt.db.read() as session:
        case = get_case(session, actor, case_id)
        change = can_change_case(actor.principal, case)
        is_open = case.status == "open"
        return CaseActions(may_change=change, may_upload=change and is_open,
                           may_close=change and is_open and closable_by_hand(rt.registry.get(case.case_type)))
