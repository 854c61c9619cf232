"""Checkpoints of the audit trail, kept outside the database, so that what the hash chain cannot see is found.

The chain proves that no event was changed, removed or inserted *between* two others; it cannot prove that the
newest events are all there (cut off the tail and the rest still chains), nor that the whole chain was not
recomputed by someone with write access to the database. A checkpoint — how many events the trail had, the hash
of the last of them, and when — is written to the blob store (a record under storage.RECORDS_PREFIX, which gc
never touches, under Object Lock where the store is configured with it): hourly by a job, and by every
successful `eakte audit verify`. Verifying compares the trail with the newest checkpoints: fewer events than a
checkpoint counted means a deleted tail; a different hash at a checkpoint's position means a rewritten chain.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eakte import clock
from eakte.models import AuditEvent
from eakte.runtime import Runtime
from eakte.services import audit
from storage import BlobStoreError

FOLDER = "audit-checkpoints"
# Checkpoints compared on each verify, newest first: the newest proves every event up to it (a chain that
# matches a checkpoint's last hash matches it everywhere before), older ones stand in if a newer one is lost.
COMPARED = 24
# Record names sort newest first, so that a plain ascending listing (all S3 offers) starts with the newest.
_NAME_ORDER_BASE = 10**16  # in microseconds since 1970: good until the year 2286


@dataclass(frozen=True)
class Checkpoint:
    count: int  # events in the trail up to and including the last one
    last_hash: str
    last_event_id: int  # for messages only: ids are not what the chain protects
    taken_at: dt.datetime  # aware UTC

    def to_json(self) -> bytes:
        return json.dumps({"format": 1, "count": self.count, "last_hash": self.last_hash,
                           "last_event_id": self.last_event_id, "taken_at": self.taken_at.isoformat()},
                          sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoint:
        raw = json.loads(data)
        return cls(int(raw["count"]), str(raw["last_hash"]), int(raw["last_event_id"]),
                   dt.datetime.fromisoformat(raw["taken_at"]))

    @property
    def name(self) -> str:
        micros = round(self.taken_at.timestamp() * 1_000_000)
        return (f"{FOLDER}/{_NAME_ORDER_BASE - 1 - micros:016d}-{self.taken_at:%Y%m%dT%H%M%S%fZ}"
                f"-{self.count}-{self.last_hash[:16]}.json")

    def describe(self) -> str:
        return f"the checkpoint of {self.taken_at:%Y-%m-%d %H:%M:%S} UTC ({self.count} events)"


class CheckpointUnreadable(Exception):
    """A checkpoint record exists but cannot be read as one: itself a sign of tampering or damage."""


@dataclass(frozen=True)
class Verification:
    checked: int  # intact events
    problem: str | None  # one line, or None when the trail is intact and agrees with every checkpoint compared
    compared: int  # checkpoints compared
    recorded: Checkpoint | None  # the checkpoint written after a successful verify

    @property
    def ok(self) -> bool:
        return self.problem is None


def head(session: Session) -> Checkpoint | None:
    """A checkpoint of the trail as it is now; None while it is empty.

    Appends are serialised (audit.record) and take their id inside that lock, so ids rise in chain order and
    "events with an id up to the last one's" is the last one's position, however many commit meanwhile.
    """
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if last is None:
        return None
    count = session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= last.id)).scalar_one()
    return Checkpoint(int(count), last.hash, last.id, clock.now())


def record(rt: Runtime, checkpoint: Checkpoint) -> None:
    rt.blobs.put_record(checkpoint.name, checkpoint.to_json())


def newest(rt: Runtime, limit: int = COMPARED) -> list[Checkpoint]:
    checkpoints = []
    for name in rt.blobs.list_records(FOLDER, limit):
        try:
            checkpoints.append(Checkpoint.from_json(rt.blobs.read_record(name)))
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointUnreadable(f"audit checkpoint {name} is unreadable ({exc})") from None
    return checkpoints


def take_checkpoint(rt: Runtime) -> Checkpoint | None:
    """The periodic job: anchor the trail's current head, unless the newest checkpoint already does."""
    with rt.db.read() as session:
        current = head(session)
    if current is None:
        return None
    latest = newest(rt, 1)
    if latest and (latest[0].count, latest[0].last_hash) == (current.count, current.last_hash):
        return None
    record(rt, current)
    return current


def verify(rt: Runtime) -> Verification:
    """The chain itself, then against the newest checkpoints; a successful run records what it verified."""
    try:
        checkpoints = newest(rt)
    except (CheckpointUnreadable, BlobStoreError) as exc:
        return Verification(0, str(exc), 0, None)
    wanted = {c.count for c in checkpoints}
    hash_at: dict[int, str] = {}
    last: AuditEvent | None = None

    def observe(position: int, event: AuditEvent) -> None:
        nonlocal last
        last = event
        if position in wanted:
            hash_at[position] = event.hash

    with rt.db.read() as session:
        checked, broken = audit.verify_chain(session, observe=observe)
    if broken is not None:
        return Verification(checked, f"audit trail broken at event {broken.event_id}: {broken.reason} "
                                     f"({checked} events before it are intact)", 0, None)
    for checkpoint in checkpoints:  # newest first: the most recent loss is what is reported
        problem = _disagreement(checkpoint, checked, hash_at.get(checkpoint.count))
        if problem is not None:
            return Verification(checked, problem, len(checkpoints), None)
    recorded = None
    if last is not None:
        recorded = Checkpoint(checked, last.hash, last.id, clock.now())
        record(rt, recorded)
    return Verification(checked, None, len(checkpoints), recorded)


def _disagreement(checkpoint: Checkpoint, checked: int, hash_there: str | None) -> str | None:
    if checked < checkpoint.count:
        return (f"audit trail cut off: {checkpoint.describe()} ended with event {checkpoint.last_event_id}, "
                f"the trail now has only {checked} events ({checkpoint.count - checked} newest events removed)")
    if hash_there != checkpoint.last_hash:
        return (f"audit trail rewritten: event no. {checkpoint.count} has hash {str(hash_there)[:16]}…, "
                f"{checkpoint.describe()} recorded {checkpoint.last_hash[:16]}… (the chain was recomputed)")
    return None
