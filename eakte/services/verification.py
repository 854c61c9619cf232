"""The installation's integrity checks as background jobs: the audit trail (`audit_anchor.verify`: hash chain and
checkpoints) and the blob store (`integrity.verify_storage`: every referenced blob re-hashed).

A run needs no table of its own: its start and its result are audit events (object "system"/<kind>, so the
lookup uses the index on object_type, object_id), which puts the checks themselves on the tamper-evident trail.
The result event names the start event (`details.run`) and is recorded for the person who started the run."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, NotFound
from eakte.models import AuditEvent
from eakte.runtime import Runtime
from eakte.services import audit, audit_anchor, integrity
from eakte.services.access import Actor, Principal, require_integrity_checker

log = logging.getLogger(__name__)

KINDS = ("audit", "storage")
OBJECT_TYPE = "system"
STARTED = {"audit": "audit.verify_started", "storage": "storage.verify_started"}
FINISHED = {"audit": "audit.verified", "storage": "storage.verified"}
PROBLEMS_KEPT = 50  # findings kept in the result event (the counts are always complete)
# A start without a result for this long lost its job (a consumer killed mid-run): it no longer blocks a new run.
STALE_AFTER = dt.timedelta(hours=12)
_FINISHED_LOOKED_AT = 10  # results after a start searched for its own (CLI runs' results may come in between)

Result = audit_anchor.Verification | integrity.VerifyReport  # what the two checks return


@dataclass(frozen=True)
class Run:
    kind: str
    run_id: int  # the id of the start event
    started_at: dt.datetime  # naive UTC
    started_by: str
    finished_at: dt.datetime | None = None
    ok: bool | None = None  # None while it runs
    checked: int = 0  # events (audit) or blobs (storage) checked
    problem_count: int = 0
    problems: tuple[dict[str, str], ...] = ()  # {"kind": broken|missing|corrupt|error, "what": ...}, at most 50


@dataclass(frozen=True)
class KindStatus:
    kind: str
    last: Run | None  # the newest finished run
    pending: Run | None  # a run queued or running


def start_run(rt: Runtime, actor: Actor, kind: str) -> int:
    """Record the start and enqueue the job; Conflict while a run of this kind is queued or running."""
    require_integrity_checker(actor.principal)
    if kind not in KINDS:
        raise NotFound(f"no integrity check {kind!r}", detail_de="Diese Prüfung gibt es nicht")
    with rt.db.write() as session:
        # Recorded first: audit.record serialises appends, so of two concurrent starts the second sees the first.
        event = audit.record(session, actor, STARTED[kind], OBJECT_TYPE, kind)
        if _pending(session, kind, before_id=event.id) is not None:
            raise Conflict(f"the {kind} check is already queued or running",
                           detail_de="Diese Prüfung ist bereits beauftragt und noch nicht beendet")
        run_id = event.id
    rt.jobs.run_verification(kind, run_id)
    return run_id


def run(rt: Runtime, kind: str, run_id: int) -> bool | None:
    """The job body: check, then record the result for the person who started the run. None: nothing to do
    (an unknown start, or a job that runs a second time)."""
    with rt.db.read() as session:
        start = session.get(AuditEvent, run_id)
        if start is None or start.action != STARTED.get(kind) or _result_of(session, kind, run_id) is not None:
            return None
        actor = Actor(Principal(start.actor_id or 0, start.actor), start.client_addr)
    started_at = utcnow()
    try:
        result: Result | Exception = (audit_anchor.verify(rt) if kind == "audit"
                                      else integrity.verify_storage(rt))
    except Exception as exc:  # noqa: BLE001 - a run must end with a result, or it would seem to run for hours
        log.exception("%s check %s failed", kind, run_id)
        result = exc
    return record_result(rt, actor, kind, started_at, result, run_id=run_id)


def record_result(rt: Runtime, actor: Actor, kind: str, started_at: dt.datetime, result: Result | Exception, *,
                  run_id: int | None = None) -> bool:
    """Record a check's result (also of one run by `eakte audit verify` / `eakte storage verify`, run_id None),
    so the page shows the newest whoever ran it; True when nothing was found."""
    checked, problem_count, problems, extra = _findings(result)
    ok = problem_count == 0
    details: dict[str, Any] = {"run": run_id, "started_at": started_at, "finished_at": utcnow(), "ok": ok,
                               "checked": checked, "problem_count": problem_count,
                               "problems": problems[:PROBLEMS_KEPT], **extra}
    with rt.db.write() as session:
        audit.record(session, actor, FINISHED[kind], OBJECT_TYPE, kind, details=details)
    if kind == "audit" and ok:
        # Anchor the result event as well: else cutting it off the tail would go unnoticed by the next run
        # (the checkpoint `verify` wrote ends just before it). A broken trail is never anchored.
        audit_anchor.take_checkpoint(rt)
    return ok


def status(rt: Runtime, actor: Actor) -> list[KindStatus]:
    """Per check, the newest result and a run still waiting for one."""
    require_integrity_checker(actor.principal)
    out = []
    with rt.db.read() as session:
        for kind in KINDS:
            newest = session.execute(_events(kind, FINISHED[kind]).limit(1)).scalar()
            out.append(KindStatus(kind, _finished_run(kind, newest) if newest else None,
                                  _pending(session, kind)))
    return out


def _findings(result: Result | Exception) -> tuple[int, int, list[dict[str, str]], dict[str, Any]]:
    """(checked, number of findings, the first findings, extra details) of a check's result."""
    if isinstance(result, Exception):
        return 0, 1, [{"kind": "error", "what": str(result)[:500]}], {}
    if isinstance(result, audit_anchor.Verification):
        problems = [] if result.ok else [{"kind": "broken", "what": result.problem or ""}]
        return result.checked, len(problems), problems, {"checkpoints_compared": result.compared}
    problems = ([{"kind": "missing", "what": k} for k in result.missing[:PROBLEMS_KEPT]]
                + [{"kind": "corrupt", "what": k} for k in result.corrupt[:PROBLEMS_KEPT]])
    return (result.checked, len(result.missing) + len(result.corrupt), problems,
            {"missing": len(result.missing), "corrupt": len(result.corrupt)})


def _events(kind: str, action: str):  # type: ignore[no-untyped-def]
    return (select(AuditEvent).where(AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == kind,
                                     AuditEvent.action == action).order_by(AuditEvent.id.desc()))


def _result_of(session: Session, kind: str, run_id: int) -> AuditEvent | None:
    # The results recorded after the start, oldest first: its own comes soon after it, however many results of
    # CLI runs (without a run id) have been recorded since; the newest ones would have pushed it out of sight.
    query = (select(AuditEvent).where(AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == kind,
                                      AuditEvent.action == FINISHED[kind], AuditEvent.id > run_id)
             .order_by(AuditEvent.id).limit(_FINISHED_LOOKED_AT))
    for event in session.execute(query).scalars():
        if (event.details or {}).get("run") == run_id:
            return event
    return None


def _pending(session: Session, kind: str, before_id: int | None = None) -> Run | None:
    query = _events(kind, STARTED[kind])
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    start = session.execute(query.limit(1)).scalar()
    if start is None or start.occurred_at < utcnow() - STALE_AFTER or _result_of(session, kind, start.id):
        return None
    return Run(kind, start.id, start.occurred_at, start.actor)


def _finished_run(kind: str, event: AuditEvent) -> Run:
    d = event.details or {}
    started = d.get("started_at")
    return Run(kind, int(d.get("run") or 0),
               dt.datetime.fromisoformat(started) if isinstance(started, str) else event.occurred_at,
               event.actor, event.occurred_at, bool(d.get("ok")), int(d.get("checked") or 0),
               int(d.get("problem_count") or 0), tuple(p for p in d.get("problems") or () if isinstance(p, dict)))
