"""Recorded-reason access (Einsicht mit Begründung): an auditor (or an admin) asks for access to one restricted
case, e.g. a personnel file, with a reason; the case type's granting role in the case's unit grants it for a
limited time or refuses it with a comment, or the type grants it at once and flags it. Every step is an audit
event on the case (`access.*`), so the file's access log lists it. The rules are access.py's; a grant opens the
case through `Principal.granted_cases`, which `load_principal` reads from these rows."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from eakte.clock import utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import AccessRequest, Case, User
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import (
    Actor,
    Principal,
    access_decider_cases,
    can_view_case,
    may_decide_access,
    may_request_access,
    reads_fully,
    require_access_requestable,
    require_may_decide_access,
    require_may_request_access,
)
from eakte.services.inputs import required_text
from workflows.registry import Registry

REASON_MAX = 2000
COMMENT_MAX = 2000
STATUSES = ("pending", "granted", "refused", "withdrawn")


@dataclass(frozen=True)
class AccessRequestEntry:
    """A request as the API and the pages show it. `case_title` only for those who may read the case: the
    reference names the file, its title (a person's name) is itself part of what is protected."""

    id: int
    case_id: int
    case_reference: str
    case_title: str | None
    unit: str
    unit_name: str
    user: str
    user_name: str
    reason: str
    status: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    comment: str | None
    expires_at: dt.datetime | None
    immediate: bool  # granted at once by configuration, without a decider: flagged
    active: bool  # granted and not yet expired: the requester reads the case now
    may_decide: bool  # the caller may grant or refuse it now
    may_withdraw: bool  # the caller (its requester) may withdraw it now


def is_active(row: AccessRequest, now: dt.datetime | None = None) -> bool:
    """A grant counts while now < expires_at (naive UTC)."""
    return row.status == "granted" and row.expires_at is not None and (now or utcnow()) < row.expires_at


def _reason(reason: str | None) -> str:
    return required_text(reason, "reason", REASON_MAX, empty_de="Bitte begründen Sie, wozu Sie die Akte einsehen",
                         too_long_de=f"Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein")


def _comment(comment: str | None) -> str:
    return required_text(comment, "comment", COMMENT_MAX, empty_de="Bitte begründen Sie die Ablehnung",
                         too_long_de=f"Die Begründung darf höchstens {COMMENT_MAX} Zeichen lang sein")


def _details(row: AccessRequest, requester: str, **more: object) -> dict[str, object]:
    expires = row.expires_at.isoformat(timespec="seconds") + "Z" if row.expires_at else None
    return {"request_id": row.id, "requester": requester, "reason": row.reason, "expires_at": expires,
            "immediate": row.immediate, **more}


def _username(session: Session, user_id: int) -> str:
    return session.execute(select(User.username).where(User.id == user_id)).scalar_one()


# --- writes -------------------------------------------------------------------------------------------------

def request_access(session: Session, actor: Actor, case_id: int, reason: str | None, *,
                   registry: Registry) -> AccessRequest:
    """Ask for access to one case. The case row is locked, so that two requests at once cannot both pass the
    duplicate check."""
    p = actor.principal
    case = session.get(Case, case_id, with_for_update=True) if may_request_access(p) else None
    restriction = require_access_requestable(p, registry, case)
    assert case is not None and restriction.grant_hours
    text = _reason(reason)
    pending = session.execute(select(AccessRequest.id).where(
        AccessRequest.case_id == case.id, AccessRequest.user_id == p.user_id,
        AccessRequest.status == "pending")).scalar()
    if pending is not None:
        raise Conflict(f"access request {pending} for case {case.reference} is still pending", request_id=pending,
                       detail_de=f"Ihr Antrag auf Einsicht in {case.reference} liegt bereits zur Entscheidung vor")
    row = AccessRequest(case_id=case.id, user_id=p.user_id, reason=text, status="pending", requested_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "access.request", "access_request", row.id, case_id=case.id,
                 details=_details(row, p.username))
    if restriction.grant_immediately:
        # Configured so: no decider, the grant stands at once and carries the flag for the granting role to see.
        _grant(row, None, restriction.grant_hours, immediate=True)
        audit.record(session, actor, "access.grant", "access_request", row.id, case_id=case.id,
                     details=_details(row, p.username))
    return row


def _grant(row: AccessRequest, decider_id: int | None, hours: int, *, immediate: bool) -> None:
    now = utcnow()
    row.status, row.decided_by, row.decided_at = "granted", decider_id, now
    row.expires_at, row.immediate = now + dt.timedelta(hours=hours), immediate


def _for_decision(session: Session, actor: Actor, request_id: int, registry: Registry) -> tuple[AccessRequest, Case]:
    row = session.get(AccessRequest, request_id, with_for_update=True)
    case = _require_visible(session, actor.principal, row, registry)
    assert row is not None
    return row, case


def _require_pending(row: AccessRequest) -> None:
    if row.status != "pending":
        raise Conflict(f"access request {row.id} is {row.status}, no longer pending",
                       detail_de="Über diesen Antrag ist bereits entschieden, oder er wurde zurückgezogen")


def grant(session: Session, actor: Actor, request_id: int, *, registry: Registry) -> AccessRequest:
    row, case = _for_decision(session, actor, request_id, registry)
    restriction = require_may_decide_access(actor.principal, registry, case, row.user_id)
    _require_pending(row)
    assert restriction.grant_hours
    _grant(row, actor.principal.user_id, restriction.grant_hours, immediate=False)
    audit.record(session, actor, "access.grant", "access_request", row.id, case_id=case.id,
                 details=_details(row, _username(session, row.user_id)))
    return row


def refuse(session: Session, actor: Actor, request_id: int, comment: str | None, *,
           registry: Registry) -> AccessRequest:
    row, case = _for_decision(session, actor, request_id, registry)
    require_may_decide_access(actor.principal, registry, case, row.user_id)
    _require_pending(row)
    row.comment = _comment(comment)
    row.status, row.decided_by, row.decided_at = "refused", actor.principal.user_id, utcnow()
    audit.record(session, actor, "access.refuse", "access_request", row.id, case_id=case.id,
                 details=_details(row, _username(session, row.user_id), comment=row.comment))
    return row


def withdraw(session: Session, actor: Actor, request_id: int, *, registry: Registry) -> AccessRequest:
    """The requester takes back a pending request, or ends a running grant early."""
    row, case = _for_decision(session, actor, request_id, registry)
    if row.user_id != actor.principal.user_id:
        raise Forbidden("only its requester withdraws an access request",
                        detail_de="Einen Antrag auf Einsicht kann nur zurückziehen, wer ihn gestellt hat")
    if row.status != "pending" and not is_active(row):
        raise Conflict(f"access request {row.id} is {row.status}: nothing to withdraw",
                       detail_de="Dieser Antrag ist weder offen noch eine laufende Einsicht")
    was = row.status
    row.status = "withdrawn"
    audit.record(session, actor, "access.withdraw", "access_request", row.id, case_id=case.id,
                 details=_details(row, actor.principal.username, was=was))
    return row


# --- reads --------------------------------------------------------------------------------------------------

def _listed(p: Principal, registry: Registry) -> ColumnElement[bool]:
    """SQL on AccessRequest: the caller's own requests and those they decide on."""
    c = aliased(Case)
    decided = select(c.id).where(access_decider_cases(p, registry, c))
    return or_(AccessRequest.user_id == p.user_id, AccessRequest.case_id.in_(decided))


def _require_visible(session: Session, p: Principal, row: AccessRequest | None, registry: Registry) -> Case:
    """A request is seen by its requester, by who decides on it and by who reads its case in full (its access
    log lists it anyway); for everyone else it is as missing as the case."""
    case = session.get(Case, row.case_id) if row is not None else None
    if row is None or case is None or not (row.user_id == p.user_id or may_decide_access(p, registry, case)
                                           or reads_fully(p, case)):
        raise NotFound("No access request with this id", detail_de="Nicht gefunden")
    return case


def entries(session: Session, p: Principal, rows: list[AccessRequest], registry: Registry) -> list[AccessRequestEntry]:
    """Rows as entries, their cases and people read once for all of them."""
    if not rows:
        return []
    cases = {c.id: c for c in session.execute(select(Case).where(Case.id.in_({r.case_id for r in rows}))).scalars()}
    user_ids = {i for r in rows for i in (r.user_id, r.decided_by) if i}
    people = {u.id: u for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()}
    now = utcnow()
    out = []
    for r in rows:
        case, user = cases[r.case_id], people[r.user_id]
        decider = people.get(r.decided_by) if r.decided_by else None
        out.append(AccessRequestEntry(
            id=r.id, case_id=case.id, case_reference=case.reference,
            case_title=case.title if can_view_case(p, case) else None, unit=case.unit.code,
            unit_name=case.unit.name, user=user.username, user_name=user.display_name or user.username,
            reason=r.reason, status=r.status, requested_at=r.requested_at,
            decided_by=decider.username if decider else None, decided_at=r.decided_at, comment=r.comment,
            expires_at=r.expires_at, immediate=r.immediate, active=is_active(r, now),
            may_decide=r.status == "pending" and r.user_id != p.user_id and may_decide_access(p, registry, case),
            may_withdraw=r.user_id == p.user_id and (r.status == "pending" or is_active(r, now))))
    return out


def _status(status: str | None) -> str | None:
    if status and status not in STATUSES:
        raise Invalid(f"status: one of {', '.join(STATUSES)}", field="status",
                      detail_de="Unbekannter Status eines Antrags auf Einsicht")
    return status or None


# --- units of work: each opens and ends its own transaction (the API, the pages and the CLI call these) ------

def ask(rt: Runtime, actor: Actor, case_id: int, reason: str | None) -> AccessRequestEntry:
    with rt.db.write() as session:
        row = request_access(session, actor, case_id, reason, registry=rt.registry)
        return entries(session, actor.principal, [row], rt.registry)[0]


def ask_by_reference(rt: Runtime, actor: Actor, reference: str | None, reason: str | None) -> AccessRequestEntry:
    """The form's way: the case named by its reference (Aktenzeichen). A case that does not exist, and one the
    caller may not see that is no restricted file, get the same answer at the field."""
    require_may_request_access(actor.principal)
    ref = required_text(reference, "reference", 100, empty_de="Bitte geben Sie das Aktenzeichen an",
                        too_long_de="Kein gültiges Aktenzeichen")
    with rt.db.read() as session:
        case_id = session.execute(select(Case.id).where(Case.reference == ref)).scalar()
    if case_id is None:
        raise Invalid(f"reference: no case {ref}", field="reference", detail_de=f"Keine Akte {ref}")
    try:
        return ask(rt, actor, case_id, reason)
    except NotFound as exc:
        raise Invalid(f"reference: no case {ref}", field="reference", detail_de=f"Keine Akte {ref}") from exc
    except Invalid as exc:
        if exc.extra.get("field") == "case_id":
            raise Invalid(exc.detail, field="reference", detail_de=exc.detail_de) from exc
        raise


def decide_grant(rt: Runtime, actor: Actor, request_id: int) -> AccessRequestEntry:
    with rt.db.write() as session:
        row = grant(session, actor, request_id, registry=rt.registry)
        return entries(session, actor.principal, [row], rt.registry)[0]


def decide_refuse(rt: Runtime, actor: Actor, request_id: int, comment: str | None) -> AccessRequestEntry:
    with rt.db.write() as session:
        row = refuse(session, actor, request_id, comment, registry=rt.registry)
        return entries(session, actor.principal, [row], rt.registry)[0]


def take_back(rt: Runtime, actor: Actor, request_id: int) -> AccessRequestEntry:
    with rt.db.write() as session:
        row = withdraw(session, actor, request_id, registry=rt.registry)
        return entries(session, actor.principal, [row], rt.registry)[0]


def read_request(rt: Runtime, actor: Actor, request_id: int) -> AccessRequestEntry:
    with rt.db.read() as session:
        row = session.get(AccessRequest, request_id)
        _require_visible(session, actor.principal, row, rt.registry)
        assert row is not None
        return entries(session, actor.principal, [row], rt.registry)[0]


def list_requests(rt: Runtime, actor: Actor, *, status: str | None = None, offset: int = 0,
                  limit: int = 50) -> tuple[list[AccessRequestEntry], int]:
    """The caller's own requests and those they decide on, the newest first, and how many there are."""
    p, wanted = actor.principal, _status(status)
    cond = [_listed(p, rt.registry)] + ([AccessRequest.status == wanted] if wanted else [])
    with rt.db.read() as session:
        total = session.execute(select(func.count()).select_from(AccessRequest).where(*cond)).scalar_one()
        rows = list(session.execute(select(AccessRequest).where(*cond).order_by(
            AccessRequest.requested_at.desc(), AccessRequest.id.desc()).offset(offset).limit(limit)).scalars())
        return entries(session, p, rows, rt.registry), total


@dataclass(frozen=True)
class AccessPage:
    """What the page "Akteneinsicht" shows and offers (the same rules the writes enforce)."""

    may_request: bool
    decides: bool  # the caller holds a granting role where restricted cases are kept
    mine: list[AccessRequestEntry]
    to_decide: list[AccessRequestEntry]  # pending requests of others the caller decides on
    decided: list[AccessRequestEntry]  # the latest decided requests of others, for the record


def _decides(session: Session, p: Principal, registry: Registry) -> bool:
    return session.execute(select(Case.id).where(access_decider_cases(p, registry)).limit(1)).first() is not None


def page(rt: Runtime, actor: Actor, *, limit: int = 50) -> AccessPage:
    """Forbidden for those who neither ask nor decide (the navigation does not offer it to them)."""
    p = actor.principal
    with rt.db.read() as session:
        decides = _decides(session, p, rt.registry)
        if not decides:
            require_may_request_access(p)
        c = aliased(Case)
        decided_cases = select(c.id).where(access_decider_cases(p, rt.registry, c))
        others = [AccessRequest.user_id != p.user_id, AccessRequest.case_id.in_(decided_cases)]
        newest = (AccessRequest.requested_at.desc(), AccessRequest.id.desc())
        mine = list(session.execute(select(AccessRequest).where(AccessRequest.user_id == p.user_id)
                                    .order_by(*newest).limit(limit)).scalars())
        pending = list(session.execute(select(AccessRequest).where(*others, AccessRequest.status == "pending")
                                       .order_by(AccessRequest.requested_at, AccessRequest.id)).scalars()) \
            if decides else []
        done = list(session.execute(select(AccessRequest).where(*others, AccessRequest.status != "pending")
                                    .order_by(*newest).limit(limit)).scalars()) if decides else []
        return AccessPage(may_request_access(p), decides, entries(session, p, mine, rt.registry),
                          entries(session, p, pending, rt.registry), entries(session, p, done, rt.registry))


def pending_count(rt: Runtime, p: Principal) -> int:
    """How many requests of others wait for the caller's decision: the navigation and the Postkorb show it, so
    the head of the personnel office need not look in on "Akteneinsicht" to learn that an auditor waits."""
    c = aliased(Case)
    decided_cases = select(c.id).where(access_decider_cases(p, rt.registry, c))
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(AccessRequest).where(
            AccessRequest.status == "pending", AccessRequest.user_id != p.user_id,
            AccessRequest.case_id.in_(decided_cases))).scalar_one())


def shows_page(rt: Runtime, p: Principal) -> bool:
    """Whether the navigation offers "Akteneinsicht": to those who may ask, and to holders of a granting role in
    the unit of restricted cases that grant access (they decide there, whether or not a request waits)."""
    if may_request_access(p):
        return True
    with rt.db.read() as session:
        return _decides(session, p, rt.registry)
