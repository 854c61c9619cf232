"""The only writer of the hash-chained audit trail, and its verifier."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import false, select, text, tuple_
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.models import AuditEvent
from eakte.services.access import Actor

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x65616B7465  # "eakte": one advisory lock serialises appends to the chain


def canonical(event: AuditEvent) -> bytes:
    body = {
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "case_id": event.case_id,
        "details": event.details,
        "client_addr": event.client_addr,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


def record(session: Session, actor: Actor, action: str, object_type: str, object_id: object, *,
           case_id: int | None = None, details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event inside the caller's transaction, so the change and its event commit together."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    event = AuditEvent(
        occurred_at=utcnow(), actor_id=actor.principal.user_id or None, actor=actor.principal.username,
        action=action, object_type=object_type, object_id=str(object_id), case_id=case_id,
        details=plain_json(details or {}), client_addr=actor.client_addr, prev_hash=last or GENESIS)
    # Order in the chain, not the id, is what is protected: ids may have gaps (sequences skip on rollback).
    event.hash = chain_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


def plain_json(value: Any) -> Any:
    """Details must survive a JSON round trip unchanged, or the chain would not verify."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


Observer = Callable[[int, AuditEvent], None]


def verify_chain(session: Session, batch: int = 5000, observe: Observer | None = None) -> tuple[int, ChainBreak | None]:
    """Walk the whole trail in id order; return (events checked, first break or None).

    `observe(position, event)` is called for each intact event (position 1 is the first): how the checkpoints
    of services/audit_anchor.py, which find what the chain alone cannot (a cut-off tail, a recomputed chain),
    are compared in the same walk.
    """
    expected_prev = GENESIS
    checked = 0
    for event in _iter_events(session, batch):
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(event.id, "does not follow the previous event (an event before it was "
                                                 "removed, inserted or changed)")
        if event.hash != chain_hash(event.prev_hash, event):
            return checked, ChainBreak(event.id, "its content does not match its hash (the event was changed)")
        expected_prev = event.hash
        checked += 1
        if observe is not None:
            observe(checked, event)
    return checked, None


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def events_for_case(session: Session, case_id: int, *, offset: int = 0, limit: int = 100, action: str | None = None,
                    actor: str | None = None, since: dt.datetime | None = None,
                    before: dt.datetime | None = None,
                    hidden: Sequence[tuple[str, str]] = (),
                    only: Sequence[tuple[str, str]] | None = None) -> list[AuditEvent]:
    """A case's events, oldest first; optionally one action, one person, and occurred_at in [since, before).
    `hidden`: (object type, object id) of objects the reader may not see (documents in a sub-file of another
    unit), whose events are left out; `only`: when given, the objects whose events alone are shown (a reader
    who sees just a sub-file of the case)."""
    query = select(AuditEvent).where(AuditEvent.case_id == case_id)
    if hidden:
        query = query.where(tuple_(AuditEvent.object_type, AuditEvent.object_id).not_in(list(hidden)))
    if only is not None:
        query = query.where(tuple_(AuditEvent.object_type, AuditEvent.object_id).in_(list(only)) if only
                            else false())
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if before is not None:
        query = query.where(AuditEvent.occurred_at < before)
    return list(session.execute(query.order_by(AuditEvent.id).offset(offset).limit(limit)).scalars())
