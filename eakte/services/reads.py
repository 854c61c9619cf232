"""Every read of a restricted case leaves a trace (a personnel file: opening it, a document's preview or download,
a search hit shown, an export), and the file's access log lists those traces with the recorded-reason access
(requests, grants) for the personnel office and for the employee whose file it is.

Only case types whose `Restriction.log_reads` is set are traced; for every other case `log_reads` returns before
opening a transaction, so the ordinary path pays nothing but a look-up in the registry.

For other services (inspection, exports, search) the entry points are:
- `log_read(rt, actor, case, action, document_id=None, *, as_=None, details=None, procedure_id=None)`: one
  read, in its own write transaction after the read (`as_` None: derived from `access.restricted_access`);
- `log_reads(rt, actor, reads)`: several (one search page), in one transaction;
- `record_reads(session, registry, actor, reads)`: inside a write transaction the caller already holds;
- `access_log(rt, actor, case_id, offset=0, limit=50)`: the file's access log, newest first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Sequence

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from eakte.errors import Forbidden, NotFound
from eakte.models import AccessRequest, AuditEvent, Case, User
from eakte.runtime import Runtime
from eakte.services import access, audit, procedures
from eakte.services.access import Actor, Principal
from workflows.registry import Registry

# How the reader came to see what they read (`access.restricted_access`): as a reader of the file (the personnel
# office), through a granted recorded-reason request, as an admin where admins need no reason, as a member of a
# sub-file's unit only; or as the file's subject (the employee's inspection).
AccessAs = Literal["reader", "grant", "admin", "subfile", "subject"]
READ_ACTIONS = ("read.case", "read.procedure", "read.document", "read.search_hit", "read.export")
# The access log shows these with the reads: the recorded-reason access (requests, grants, refusals).
ACCESS_PREFIX, READ_PREFIX = "access.", "read."
REQUEST_OBJECT = "access_request"  # object_type of the access.* events (services/access_requests.py)


@dataclass(frozen=True)
class Read:
    """One read to trace. The object read is the document when `document_id` is given, else the procedure
    (sub-file) when `procedure_id` is, else the case; `details` add what was read how (e.g. {"via": "preview",
    "version": 2} or {"document_ids": [...]})."""

    case: Case
    action: str  # one of READ_ACTIONS
    document_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    procedure_id: int | None = None

    @property
    def object(self) -> tuple[str, int]:
        if self.document_id is not None:
            return "document", self.document_id
        if self.procedure_id is not None:
            return "procedure", self.procedure_id
        return "case", self.case.id


def logs_reads(registry: Registry, case: Case) -> bool:
    """Whether reads of this case are traced: its type is restricted with `log_reads` (a dict look-up)."""
    restriction = access.restriction_of(registry, case)
    return restriction is not None and restriction.log_reads


def log_read(rt: Runtime, actor: Actor, case: Case, action: str, document_id: int | None = None, *,
             as_: AccessAs | None = None, details: Mapping[str, Any] | None = None,
             procedure_id: int | None = None) -> bool:
    """Trace one read of `case` (or of its document `document_id`, or its procedure `procedure_id`) in a write
    transaction of its own; nothing for a case whose type does not log reads. `as_`: how the reader sees it,
    None: derived from the access rule (inspection passes "subject"). Returns whether an event was written."""
    return log_reads(rt, actor, [Read(case, action, document_id, details or {}, procedure_id)], as_=as_) > 0


def log_reads(rt: Runtime, actor: Actor, reads: Iterable[Read], *, as_: AccessAs | None = None) -> int:
    """Trace several reads in one write transaction (opened only when one of them is traced); the count."""
    traced = [r for r in reads if logs_reads(rt.registry, r.case)]
    if not traced:
        return 0
    with rt.db.write() as session:
        return record_reads(session, rt.registry, actor, traced, as_=as_)


def record_reads(session: Session, registry: Registry, actor: Actor, reads: Iterable[Read], *,
                 as_: AccessAs | None = None) -> int:
    """Trace reads inside the caller's write transaction (a download already audited there); the count."""
    count = 0
    grants: dict[int, dict[str, Any]] = {}
    for r in reads:
        if not logs_reads(registry, r.case):
            continue
        if r.case.id not in grants:
            grants[r.case.id] = _how(session, actor.principal, r.case, as_)
        object_type, object_id = r.object
        audit.record(session, actor, r.action, object_type, object_id, case_id=r.case.id,
                     details={**grants[r.case.id], **r.details})
        count += 1
    return count


def _how(session: Session, p: Principal, case: Case, as_: AccessAs | None) -> dict[str, Any]:
    """The details saying how `p` sees the case (`as`, from the access rule unless given), and for a grant its
    request's id and reason (and `immediate` when it was granted at once without a decision, to be flagged)."""
    how = as_ or access.restricted_access(p, case) or ("subject" if access.is_subject(p, case) else None)
    details: dict[str, Any] = {"as": how}
    grant = access.grant_for(p, case.id) if how == "grant" else None
    if grant is not None:
        request = session.get(AccessRequest, grant)
        details.update(access_request_id=grant, reason=request.reason if request is not None else None)
        if request is not None and request.immediate:
            details["immediate"] = True
    return details


# --- the access log (Zugriffsprotokoll) --------------------------------------------------------------------

@dataclass(frozen=True)
class AccessLogEntry:
    """One line of a file's access log: who did what to which object, when, why and how."""

    id: int
    at: dt.datetime  # naive UTC
    username: str
    display_name: str | None
    action: str  # read.* or access.*
    object_type: str  # case, procedure, document, access_request
    object_id: str
    reason: str | None  # the recorded reason of the request the access came through (or was about)
    as_: str | None  # AccessAs of a read; None for access.* events
    access_request_id: int | None
    flagged: bool  # an immediate grant (granted at once by configuration, without a decision)
    document_ids: tuple[int, ...] = ()  # the documents a search hit showed
    via: str | None = None  # how: details, preview, inline, download (a document); page, csv (a search hit)


@dataclass(frozen=True)
class AccessLog:
    case: Case  # for the page's heading (reading the log is not a read of the file: not traced)
    entries: list[AccessLogEntry]
    total: int
    offset: int
    limit: int
    subject: bool  # the caller is the file's subject (the employee), not one of its readers


LOG_READERS = frozenset({"reader", "admin"})  # `access.restricted_access` of those who keep the file


def require_log_reader(registry: Registry, p: Principal, case: Case | None) -> Case:
    """The access log: the file's own readers (the personnel office; an admin where no reason is needed) and its
    subject (the employee). Someone who reads it by a grant for a while (an auditor) may not read who else did
    and why (Forbidden); NotFound for everyone else, as if the case were missing, and for cases that log no
    reads."""
    if case is None or not logs_reads(registry, case) or not (access.is_subject(p, case)
                                                               or access.reads_fully(p, case)):
        raise NotFound("No case with this id", detail_de="Nicht gefunden")
    if not access.is_subject(p, case) and access.restricted_access(p, case) not in LOG_READERS:
        raise Forbidden("the access log of this file is for its own readers and the person it is about",
                        detail_de="Das Zugriffsprotokoll dieser Akte sehen nur die Personalverwaltung und die "
                                  "betroffene Person")
    return case


def may_read_log(registry: Registry, p: Principal, case: Case) -> bool:
    """Whether the case page links the access log (the same rule as `require_log_reader`)."""
    try:
        require_log_reader(registry, p, case)
    except (NotFound, Forbidden):
        return False
    return True


def access_log(rt: Runtime, actor: Actor, case_id: int, *, offset: int = 0, limit: int = 50) -> AccessLog:
    """The access log of a restricted case, newest first: its read.* and access.* events. For readers of the
    file and its subject (NotFound for everyone else and for cases that log no reads). Events about objects in
    sub-files hidden from a reader (the Beihilfe) stay out of their view, as in the audit trail; the subject
    sees every read of their file."""
    p = actor.principal
    with rt.db.read() as session:
        # With what the page's heading shows of it (unit, file plan position), loaded while the session is open.
        case = require_log_reader(rt.registry, p, session.get(
            Case, case_id, options=[joinedload(Case.unit), joinedload(Case.file_plan_node)]))
        subject = access.is_subject(p, case)
        hidden = [] if subject else procedures.hidden_objects(session, actor, rt.registry, case.id)
        cond = [AuditEvent.case_id == case.id,
                or_(AuditEvent.action.like(f"{READ_PREFIX}%"), AuditEvent.action.like(f"{ACCESS_PREFIX}%"))]
        if hidden:
            cond.append(tuple_(AuditEvent.object_type, AuditEvent.object_id).not_in(hidden))
        if not subject and access.hidden_pairs(access.hidden_subfiles(session, p, rt.registry), case):
            # Reads through a sub-file's unit (the Beihilfe clerk's case openings and search hits) tell of
            # that sub-file, which this reader does not see.
            via = AuditEvent.details["as"].as_string()
            cond.append(or_(via.is_(None), via != "subfile"))
        total = session.execute(select(func.count()).select_from(AuditEvent).where(*cond)).scalar_one()
        rows = session.execute(select(AuditEvent, User.display_name)
                               .outerjoin(User, User.id == AuditEvent.actor_id).where(*cond)
                               .order_by(AuditEvent.id.desc()).offset(offset).limit(limit)).all()
        requests = _requests(session, [e for e, _ in rows])
        hidden_docs = {int(i) for t, i in hidden if t == "document"}
        entries = [_entry(e, name, requests, hidden_docs) for e, name in rows]
    return AccessLog(case, entries, total, offset, limit, subject)


def _request_id(event: AuditEvent) -> int | None:
    if event.object_type == REQUEST_OBJECT and event.object_id.isdigit():
        return int(event.object_id)
    value = (event.details or {}).get("access_request_id")
    return value if isinstance(value, int) else None


def _requests(session: Session, events: Sequence[AuditEvent]) -> dict[int, AccessRequest]:
    ids = sorted({i for e in events if (i := _request_id(e)) is not None})
    if not ids:
        return {}
    return {r.id: r for r in session.execute(select(AccessRequest).where(AccessRequest.id.in_(ids))).scalars()}


def _entry(event: AuditEvent, display_name: str | None, requests: Mapping[int, AccessRequest],
           hidden_docs: set[int]) -> AccessLogEntry:
    details = event.details or {}
    request_id = _request_id(event)
    request = requests.get(request_id) if request_id is not None else None
    reason = details.get("reason") or (request.reason if request is not None else None)
    flagged = bool(details.get("immediate")) or (request is not None and request.immediate)
    docs = tuple(d for d in details.get("document_ids", ()) if isinstance(d, int) and d not in hidden_docs)
    return AccessLogEntry(event.id, event.occurred_at, event.actor, display_name, event.action, event.object_type,
                          event.object_id, reason, details.get("as"), request_id, flagged, docs, details.get("via"))
