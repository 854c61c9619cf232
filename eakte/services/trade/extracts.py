"""Register extracts and the retrieval log (GewO §14(5)–(10)).

- A simple extract holds the data §14(5) makes generally accessible (the traders' names, the business name, its
  address, the notified activity): any signed-in user gets it, e.g. to answer a citizen's request at the counter;
  the trade register is not restricted like a personnel file, so no case visibility is asked for.
- An extended extract holds the whole current entry. Only clerks of the trade unit give it out, and only after
  recording who asks (`requester`, private person or public body) and the credibly shown legal interest or the
  public body's basis (`interest`).
- Every retrieval, simple or extended, is logged (`TradeRetrieval`) with its purpose and the requester's case
  reference, and audited ("trade.extract"). The audit event names the kind and the log row only: the log itself
  is personal data that §14(10) has deleted after six months (`retrieval_log_months`), which an audit trail kept
  for years must not hold a copy of.
- `retrievals` lists the log for spot checks: the trade unit's head of unit and approvers, auditors, admins.
- `purge_retrievals(rt, now)`, run by the periodic job, deletes the rows older than `retrieval_log_months`; the
  audit trail keeps that it did (one "trade.retrievals_purged" event with the count and the cutoff), not what."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import Case, TradeRetrieval, Unit, User
from eakte.runtime import Runtime
from eakte.services import audit
from eakte.services.access import SYSTEM, Actor, Principal
from eakte.services.inputs import required_text
from eakte.services.trade import letters
from eakte.services.trade.register import current_entry

KINDS = ("simple", "extended")
REQUESTER_KINDS = ("private", "public")
ACTING_ROLE = "clerk"  # gives out extended extracts
CHECKING_ROLES = ("head_of_unit", "approver")  # in the trade unit: read the retrieval log (beside auditors, admins)
PURGE_ACTOR = Actor(Principal(SYSTEM.user_id, "system:trade-retrievals"), None)
# Column sizes of TradeRetrieval; the free texts get a bound too, so a log row stays a log row.
MAX_REQUESTER, MAX_REFERENCE, MAX_TEXT = 300, 200, 2000
FILE_KIND = {"simple": "einfach", "extended": "erweitert"}


@dataclass(frozen=True)
class ExtractRequest:
    """What the clerk records with a retrieval. `requester`, `requester_kind` and `interest` are for an
    extended extract (required there); `purpose` and `reference` for every retrieval."""

    requester: str | None = None
    requester_kind: str | None = None  # private | public; default private
    interest: str | None = None  # the credibly shown legal interest, or the public body's legal basis
    purpose: str | None = None
    reference: str | None = None  # the requester's case reference (Aktenzeichen)


@dataclass(frozen=True)
class RetrievalFilter:
    case_id: int | None = None
    kind: str | None = None


@dataclass(frozen=True)
class RetrievalEntry:
    id: int
    case_id: int
    case_reference: str
    business_id: str | None
    business_name: str | None
    kind: str
    requester: str | None
    requester_kind: str | None
    interest: str | None
    purpose: str | None
    reference: str | None
    retrieved_at: dt.datetime
    retrieved_by: str | None


# --- settings and who may do what ---------------------------------------------------------------------------

def _settings(rt: Runtime) -> Mapping[str, Any] | None:
    case_type = rt.registry.get("trade")
    return case_type.settings if case_type is not None else None


def _trade_unit_id(session: Session, settings: Mapping[str, Any]) -> int | None:
    return session.execute(select(Unit.id).where(Unit.code == str(settings["unit"]))).scalar()


def may_give_extended(p: Principal, trade_unit_id: int | None) -> bool:
    return trade_unit_id is not None and p.has_role(trade_unit_id, ACTING_ROLE)


def may_read_log(p: Principal, trade_unit_id: int | None) -> bool:
    in_unit = trade_unit_id is not None and any(p.has_role(trade_unit_id, r) for r in CHECKING_ROLES)
    return in_unit or p.is_auditor or p.is_admin


def _optional(value: str | None, field: str, max_len: int, label_de: str) -> str | None:
    text = (value or "").strip()
    if len(text) > max_len:
        raise Invalid(f"{field}: at most {max_len} characters", field=field,
                      detail_de=f"{label_de}: höchstens {max_len} Zeichen")
    return text or None


def checked_request(kind: str, request: ExtractRequest) -> ExtractRequest:
    """The request as it will be logged: trimmed, bounded, and for an extended extract complete."""
    purpose = _optional(request.purpose, "purpose", MAX_TEXT, "Zweck")
    reference = _optional(request.reference, "reference", MAX_REFERENCE, "Aktenzeichen")
    if kind != "extended":
        return ExtractRequest(purpose=purpose, reference=reference)
    requester = required_text(request.requester, "requester", MAX_REQUESTER,
                              empty_de="Für eine erweiterte Auskunft bitte die anfragende Stelle oder Person "
                                       "angeben", too_long_de=f"Anfragende Stelle: höchstens {MAX_REQUESTER} "
                                                              "Zeichen")
    requester_kind = (request.requester_kind or "private").strip()
    if requester_kind not in REQUESTER_KINDS:
        raise Invalid(f"requester_kind: one of {', '.join(REQUESTER_KINDS)}, not {requester_kind!r}",
                      field="requester_kind", allowed=list(REQUESTER_KINDS),
                      detail_de="Art der anfragenden Stelle: privat oder öffentliche Stelle")
    missing_de = ("Für eine erweiterte Auskunft bitte das glaubhaft gemachte berechtigte Interesse angeben"
                  if requester_kind == "private" else
                  "Für eine erweiterte Auskunft an eine öffentliche Stelle bitte deren Rechtsgrundlage angeben")
    interest = required_text(request.interest, "interest", MAX_TEXT, empty_de=missing_de,
                             too_long_de=f"Berechtigtes Interesse: höchstens {MAX_TEXT} Zeichen")
    return ExtractRequest(requester, requester_kind, interest, purpose, reference)


def _kind(kind: str | None) -> str:
    key = (kind or "").strip()
    if key not in KINDS:
        raise Invalid(f"kind: one of {', '.join(KINDS)}, not {key!r}", field="kind", allowed=list(KINDS),
                      detail_de="Art der Auskunft: einfach (simple) oder erweitert (extended)")
    return key


def _business(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.case_type != "trade":
        raise NotFound("No business with this id", detail_de="Kein Gewerbebetrieb mit dieser Nummer")
    return case


# --- extracts -----------------------------------------------------------------------------------------------

def extract(rt: Runtime, actor: Actor, case_id: int, kind: str, request: ExtractRequest) -> tuple[str, bytes]:
    """The extract as (file name, PDF/A bytes), logged and audited. Refused before anything is rendered: an
    extended extract for anyone but a trade clerk (403), without requester or interest (422 naming the field);
    a business not entered in the register yet (409)."""
    kind = _kind(kind)
    p = actor.principal
    settings = _settings(rt)
    if settings is None:
        raise NotFound("the trade register is not installed", detail_de="Das Gewerberegister ist nicht eingerichtet")
    with rt.db.read() as session:
        case = _business(session, case_id)
        if kind == "extended" and not may_give_extended(p, _trade_unit_id(session, settings)):
            raise Forbidden("extended register extracts are given by clerks of the trade unit only",
                            detail_de="Erweiterte Auskünfte aus dem Gewerberegister erteilt nur die "
                                      "Sachbearbeitung des Gewerbeamts")
        logged = checked_request(kind, request)
        row = current_entry(session, case.id)
        if row is None:
            raise Conflict(f"business {case.reference} is not entered in the register yet",
                           detail_de="Der Betrieb ist noch nicht im Gewerberegister eingetragen")
        entry, valid_from = dict(row.data), row.valid_from
        business_id = str((case.metadata_ or {}).get("business_id") or case.reference)
    case_type = rt.registry.get("trade")
    assert case_type is not None
    # Rendered between the read and the write: no transaction is held open for it. `case` is detached by now,
    # with its columns loaded.
    pdf = letters.render_extract(case_type, case, entry, kind, logged, entry_valid_from=valid_from)
    with rt.db.write() as session:
        retrieval = TradeRetrieval(case_id=case_id, kind=kind, requester=logged.requester,
                                   requester_kind=logged.requester_kind, interest=logged.interest,
                                   purpose=logged.purpose, reference=logged.reference, retrieved_at=utcnow(),
                                   retrieved_by=p.user_id or None)
        session.add(retrieval)
        session.flush()
        audit.record(session, actor, "trade.extract", "trade_retrieval", retrieval.id, case_id=case_id,
                     details={"kind": kind, "retrieval": retrieval.id})
    return f"Gewerberegisterauszug-{business_id}-{FILE_KIND[kind]}.pdf", pdf


# --- the retrieval log --------------------------------------------------------------------------------------

def retrievals(rt: Runtime, actor: Actor, flt: RetrievalFilter = RetrievalFilter(), *, offset: int = 0,
               limit: int = 50) -> tuple[list[RetrievalEntry], int]:
    """The retrieval log, newest first, and how many rows match: for the trade unit's head of unit and
    approvers, auditors and admins (everyone else: 403)."""
    settings = _settings(rt)
    if settings is None:
        raise NotFound("the trade register is not installed", detail_de="Das Gewerberegister ist nicht eingerichtet")
    if flt.kind is not None:
        _kind(flt.kind)
    with rt.db.read() as session:
        if not may_read_log(actor.principal, _trade_unit_id(session, settings)):
            raise Forbidden("the retrieval log is read by the trade unit's head and approvers, auditors and admins",
                            detail_de="Das Abrufprotokoll des Gewerberegisters sehen nur die Amtsleitung und "
                                      "Freigabe des Gewerbeamts, die Prüfung und die Administration")
        where = []
        if flt.case_id is not None:
            where.append(TradeRetrieval.case_id == flt.case_id)
        if flt.kind is not None:
            where.append(TradeRetrieval.kind == flt.kind)
        total = session.execute(select(func.count()).select_from(TradeRetrieval).where(*where)).scalar_one()
        rows = session.execute(
            select(TradeRetrieval, Case.reference, Case.metadata_, User.username)
            .join(Case, Case.id == TradeRetrieval.case_id)
            .outerjoin(User, User.id == TradeRetrieval.retrieved_by)
            .where(*where).order_by(TradeRetrieval.retrieved_at.desc(), TradeRetrieval.id.desc())
            .offset(offset).limit(limit)).all()
        entries = [RetrievalEntry(
            id=r.id, case_id=r.case_id, case_reference=ref, business_id=(meta or {}).get("business_id"),
            business_name=(meta or {}).get("registered_name"), kind=r.kind, requester=r.requester,
            requester_kind=r.requester_kind, interest=r.interest, purpose=r.purpose, reference=r.reference,
            retrieved_at=r.retrieved_at, retrieved_by=username) for r, ref, meta, username in rows]
        return entries, int(total)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same time `months` calendar months earlier (the 31st becomes the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def purge_retrievals(rt: Runtime, now: dt.datetime) -> int:
    """Delete the retrieval log rows older than `retrieval_log_months` before `now` (naive UTC); how many went.
    Audited once per run that deleted any (the periodic job runs every minute: empty runs leave no event)."""
    settings = _settings(rt)
    if settings is None:
        return 0
    cutoff = months_before(now, int(settings["retrieval_log_months"]))
    with rt.db.write() as session:
        count = session.execute(delete(TradeRetrieval).where(TradeRetrieval.retrieved_at < cutoff)).rowcount or 0
        if count:
            audit.record(session, PURGE_ACTOR, "trade.retrievals_purged", "trade_retrieval", "log",
                         details={"count": count, "cutoff": cutoff.isoformat(),
                                  "months": int(settings["retrieval_log_months"])})
    return int(count)
