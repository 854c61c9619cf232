"""Transmissions of trade notifications to the regular recipients (GewO §14(8), GewAnzV §3): one message per
recipient of the configured table, generated right after the receipt was issued, filed as a document of the
notification's procedure (kind `transmission`, so the file shows exactly what left the house), and tracked in a
`TradeTransmission` row: pending → sent → confirmed.

Which recipient gets which notification and which form fields is decided by the pure rules of
`workflows.trade.recipients`; this module only files, sends and tracks. A recipient's message holds what
`visible_payload` allowed and nothing else, and sending reads that filed document back from the blob store, so
what was sent is what is in the file.

Sending (`send_due`, run by the periodic job and by `eakte trade send`): every pending message whose due time has
come (the statistics office: the first working day of the next month) goes to the configured sender. A message is
first claimed for a lease (`next_attempt_at` moved ahead), so two runs at once never send it twice; the sender
runs outside any transaction. A failure counts the attempt and tries again after a growing pause; after
`send_attempts` attempts the message is `failed` and waits for a clerk's `retry`. Every outcome is audited.

Who: the outbox is read by members of the trade unit, auditors and admins (others: 403); retry and confirm are
the trade unit's clerks' (others who may read it: 403; a transmission one may not read: 404)."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import Case, Document, DocumentVersion, Procedure, TradeEntry, TradeTransmission, Unit
from eakte.runtime import Runtime
from eakte.services import audit, documents
from eakte.services.access import SYSTEM, Actor, Principal
from eakte.services.trade.senders import OutgoingMessage, Sender, sender_for
from workflows.trade import recipients as rules
from workflows.trade.case_type import TRANSMISSION_KIND
from workflows.trade.notification import Notification

STATUSES = ("pending", "sent", "confirmed", "failed")
OPEN_STATUSES = ("pending", "failed")  # not sent yet: these can be overdue
ACTING_ROLE = "clerk"
MIME_TYPES = {"json": "application/json", "xml": "application/xml"}
# Pauses between attempts: 5, 10, 20, 40 … minutes, at most a day. The first retry comes soon (a share that was
# briefly away), later ones leave room for an outage to be mended.
FIRST_PAUSE = dt.timedelta(minutes=5)
LONGEST_PAUSE = dt.timedelta(days=1)
# A claimed message is not picked up by another run for this long; a run that dies mid-send leaves it to be
# sent again after the lease (the directory drop overwrites the same file name, so a repeat is harmless).
LEASE = dt.timedelta(minutes=15)
BATCH = 200
SENDER_ACTOR = Actor(Principal(SYSTEM.user_id, "system:trade-outbox"), None)


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    failed: int = 0  # gave up after the last allowed attempt: status failed
    retried: int = 0  # failed this time, tried again later


@dataclass(frozen=True)
class OutboxFilter:
    status: str | None = None  # one of STATUSES; None: everything not yet confirmed
    overdue: bool = False  # only those not sent by their due time


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    case_id: int
    case_reference: str
    business_id: str | None
    business_name: str | None
    procedure_id: int
    procedure_reference: str
    procedure_title: str
    notification: str | None
    recipient: str
    recipient_name: str
    format: str
    document_id: int
    status: str
    due_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    overdue: bool
    may_retry: bool
    may_confirm: bool


# --- settings and who may do what -----------------------------------------------------------------------------

def _settings(rt: Runtime) -> Mapping[str, Any]:
    case_type = rt.registry.get("trade")
    if case_type is None:
        raise NotFound("the trade register is not installed", detail_de="Das Gewerberegister ist nicht eingerichtet")
    return case_type.settings


def recipient_names(settings: Mapping[str, Any]) -> dict[str, str]:
    """Recipient key → its configured name (the table of `[case_types.trade] recipients`)."""
    return {str(_get(r, "key")): str(_get(r, "name")) for r in settings.get("recipients", ())}


def _get(recipient: Any, name: str) -> Any:
    """A recipient's property, whether the table gives dicts (the settings) or records (the rules' Recipient)."""
    return recipient[name] if isinstance(recipient, Mapping) else getattr(recipient, name)


def _trade_unit_id(session: Session, settings: Mapping[str, Any]) -> int | None:
    return session.execute(select(Unit.id).where(Unit.code == str(settings["unit"]))).scalar()


def may_read(p: Principal, unit_id: int | None) -> bool:
    """Members of the trade unit (any role), auditors and admins."""
    return (unit_id is not None and unit_id in p.roles_by_unit) or p.is_auditor or p.is_admin


def may_act(p: Principal, unit_id: int | None) -> bool:
    return unit_id is not None and p.has_role(unit_id, ACTING_ROLE)


def _require_reader(session: Session, p: Principal, settings: Mapping[str, Any]) -> int | None:
    unit_id = _trade_unit_id(session, settings)
    if not may_read(p, unit_id):
        raise Forbidden("the trade outbox is read by the trade unit, auditors and admins",
                        detail_de="Den Postausgang des Gewerberegisters sehen nur das Gewerbeamt, die Prüfung und "
                                  "die Administration")
    return unit_id


def _transmission(session: Session, p: Principal, settings: Mapping[str, Any], transmission_id: int, *,
                  act: bool) -> TradeTransmission:
    """The row, locked, for an acting clerk; 404 to whoever may not read the outbox, 403 to readers who may not
    act."""
    unit_id = _trade_unit_id(session, settings)
    row = session.get(TradeTransmission, transmission_id, with_for_update=True if act else None)
    if row is None or not may_read(p, unit_id):
        raise NotFound("No transmission with this id", detail_de="Nicht gefunden")
    if act and not may_act(p, unit_id):
        raise Forbidden("only clerks of the trade unit retry or confirm transmissions",
                        detail_de="Übermittlungen wiederholen oder bestätigen nur die Sachbearbeitung des "
                                  "Gewerbeamts")
    return row


# --- generating ---------------------------------------------------------------------------------------------

def _entry_of(session: Session, case: Case, procedure: Procedure) -> dict[str, Any] | None:
    """The register entry as this notification left it (its own TradeEntry row), else the current one."""
    own = session.execute(select(TradeEntry).where(TradeEntry.procedure_id == procedure.id)
                          .order_by(TradeEntry.version.desc()).limit(1)).scalar()
    if own is None:
        own = session.execute(select(TradeEntry).where(TradeEntry.case_id == case.id)
                              .order_by(TradeEntry.version.desc()).limit(1)).scalar()
    return dict(own.data) if own is not None else None


def create_transmissions(rt: Runtime, session: Session, actor: Actor, case: Case,
                         procedure: Procedure) -> list[TradeTransmission]:
    """One pending message per recipient the table gives this notification, each filed as a `transmission`
    document of the procedure; in the caller's transaction (the step decision that issued the receipt).
    Recipients that have a message for this procedure already are skipped (re-entering the step adds none)."""
    settings = _settings(rt)
    data = (procedure.metadata_ or {}).get("data")
    if not isinstance(data, dict):
        raise Conflict(f"procedure {procedure.reference} holds no trade notification",
                       detail_de=f"Vorgang {procedure.reference} enthält keine Gewerbeanzeige")
    notification = Notification.from_json(data)
    entry = _entry_of(session, case, procedure)
    now = utcnow()  # the receipt was issued just now: what due_at counts from
    have = set(session.execute(select(TradeTransmission.recipient)
                               .where(TradeTransmission.procedure_id == procedure.id)).scalars())
    created: list[TradeTransmission] = []
    for recipient in rules.recipients_for(settings["recipients"], notification, entry):
        key = str(_get(recipient, "key"))
        if key in have:
            continue
        payload = rules.visible_payload(recipient, notification, entry)
        message = rules.render(recipient, payload, municipality=str(settings["municipality"]),
                               municipality_key=str(settings["municipality_key"]),
                               procedure_reference=procedure.reference, created_at=now)
        document = _file_message(rt, session, actor, case, procedure, str(_get(recipient, "name")), message)
        row = TradeTransmission(case_id=case.id, procedure_id=procedure.id, recipient=key,
                                format=str(_get(recipient, "format")), document_id=document.id, status="pending",
                                due_at=rules.due_at(recipient, now), created_at=now, attempts=0)
        session.add(row)
        session.flush()
        audit.record(session, actor, "trade.transmission.create", "trade_transmission", row.id, case_id=case.id,
                     details={"recipient": key, "format": row.format, "due_at": row.due_at,
                              "document": document.id, "procedure": procedure.reference,
                              "fields": sorted(payload)})
        created.append(row)
    return created


def _file_message(rt: Runtime, session: Session, actor: Actor, case: Case, procedure: Procedure,
                  recipient_name: str, message: Any) -> Document:
    """The rendered message as a managed document of the procedure. Staged under a neutral name: the type is
    taken from the bytes (JSON is text), and a `.json` name would claim a type the sniffing does not give."""
    upload = documents.Upload(io.BytesIO(message.content), "transmission")
    with documents.staged_upload(rt, upload) as staged:
        staged = dataclasses.replace(staged, filename=documents.safe_filename(message.filename))
        blob = documents.store_staged(rt, staged)
        new = documents.NewDocument(title=f"Datenübermittlung an {recipient_name}", kind=TRANSMISSION_KIND,
                                    procedure_id=procedure.id)
        return documents.record_document(rt, session, actor, case, new, staged, blob, flow=True).document


def open_count(session: Session, procedure_id: int) -> int:
    """How many of a procedure's messages have not gone out yet (pending or failed): the step Datenübermittlung
    is not finished while there are any."""
    return session.execute(select(func.count()).select_from(TradeTransmission).where(
        TradeTransmission.procedure_id == procedure_id,
        TradeTransmission.status.in_(OPEN_STATUSES))).scalar_one()


# --- sending ------------------------------------------------------------------------------------------------

def pause_after(attempts: int) -> dt.timedelta:
    """The pause before the next attempt after `attempts` failed ones: doubling, at most LONGEST_PAUSE."""
    return min(FIRST_PAUSE * (2 ** max(attempts - 1, 0)), LONGEST_PAUSE)


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return and_(TradeTransmission.status == "pending", TradeTransmission.due_at <= now,
                or_(TradeTransmission.next_attempt_at.is_(None), TradeTransmission.next_attempt_at <= now))


@dataclass(frozen=True)
class _Claimed:
    id: int
    case_id: int
    recipient: str
    blob_key: str
    filename: str
    size: int
    sha256: str
    mime_type: str
    procedure_reference: str


def send_due(rt: Runtime, now: dt.datetime) -> SendReport:
    """Send every message due at `now` (naive UTC: the periodic job passes the clock's time)."""
    case_type = rt.registry.get("trade")
    if case_type is None:
        return SendReport()
    settings = case_type.settings
    sender: Sender | None = None  # built when something is due: a broken plug-in is not reported every minute
    names = recipient_names(settings)
    allowed = int(settings["send_attempts"])
    sent = failed = retried = 0
    after = 0
    while True:
        with rt.db.read() as session:
            ids = list(session.execute(select(TradeTransmission.id).where(_due(now), TradeTransmission.id > after)
                                       .order_by(TradeTransmission.id).limit(BATCH)).scalars())
        if not ids:
            break
        after = ids[-1]
        sender = sender or sender_for(settings, rt.settings.data_dir)  # a wrong setting: ConfigError, loud
        for transmission_id in ids:
            claimed = _claim(rt, transmission_id, now)
            if claimed is None:
                continue  # another run took it, or a clerk changed it meanwhile
            try:
                with contextlib.closing(rt.blobs.open(claimed.blob_key)) as stream:
                    where = sender.send(OutgoingMessage(
                        transmission_id=claimed.id, recipient=claimed.recipient,
                        recipient_name=names.get(claimed.recipient, claimed.recipient), filename=claimed.filename,
                        mime_type=claimed.mime_type, size=claimed.size, sha256=claimed.sha256,
                        procedure_reference=claimed.procedure_reference, content=stream))
            except Exception as exc:  # whatever the sender raises is this attempt's failure, kept as its error
                if _record_failure(rt, claimed, now, f"{type(exc).__name__}: {exc}", allowed):
                    failed += 1
                else:
                    retried += 1
            else:
                _record_sent(rt, claimed, now, where)
                sent += 1
    return SendReport(sent=sent, failed=failed, retried=retried)


def _claim(rt: Runtime, transmission_id: int, now: dt.datetime) -> _Claimed | None:
    """Take the message for a lease, if it is still due; what the sender needs, read in the same transaction."""
    with rt.db.write() as session:
        row = session.execute(select(TradeTransmission).where(TradeTransmission.id == transmission_id, _due(now))
                              .with_for_update()).scalar()
        if row is None:
            return None
        version = session.execute(
            select(DocumentVersion).join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.id == row.document_id, DocumentVersion.number == Document.current_version)).scalar_one()
        reference = session.execute(select(Procedure.reference).where(Procedure.id == row.procedure_id)).scalar_one()
        row.next_attempt_at = now + LEASE
        return _Claimed(row.id, row.case_id, row.recipient, version.blob_key, version.filename, version.size,
                        version.sha256, MIME_TYPES.get(row.format, version.mime_type), reference)


def _record_sent(rt: Runtime, claimed: _Claimed, now: dt.datetime, where: str) -> None:
    with rt.db.write() as session:
        row = session.get(TradeTransmission, claimed.id, with_for_update=True)
        assert row is not None  # transmissions are never deleted
        row.status, row.sent_at, row.next_attempt_at = "sent", now, None
        row.attempts += 1
        audit.record(session, SENDER_ACTOR, "trade.transmission.sent", "trade_transmission", row.id,
                     case_id=row.case_id, details={"recipient": row.recipient, "procedure": claimed.procedure_reference,
                                                   "attempt": row.attempts, "sha256": claimed.sha256,
                                                   "to": where})


def _record_failure(rt: Runtime, claimed: _Claimed, now: dt.datetime, error: str, allowed: int) -> bool:
    """Count the failed attempt; True when it was the last allowed one (the message is `failed` now)."""
    with rt.db.write() as session:
        row = session.get(TradeTransmission, claimed.id, with_for_update=True)
        assert row is not None
        row.attempts += 1
        row.last_error = error[:2000]
        final = row.attempts >= allowed
        if final:
            row.status, row.next_attempt_at = "failed", None
        else:
            row.next_attempt_at = now + pause_after(row.attempts)
        audit.record(session, SENDER_ACTOR, "trade.transmission.failed", "trade_transmission", row.id,
                     case_id=row.case_id, details={"recipient": row.recipient, "procedure": claimed.procedure_reference,
                                                   "attempt": row.attempts, "of": allowed, "final": final,
                                                   "error": row.last_error, "next_attempt_at": row.next_attempt_at})
        return final


# --- a clerk's actions --------------------------------------------------------------------------------------

def retry(rt: Runtime, actor: Actor, transmission_id: int) -> OutboxEntry:
    """Send a failed message again (or one waiting after a failed attempt at once): a fresh round of attempts at
    the next run of the sender."""
    settings = _settings(rt)
    with rt.db.write() as session:
        row = _transmission(session, actor.principal, settings, transmission_id, act=True)
        if not (row.status == "failed" or (row.status == "pending" and row.attempts > 0)):
            raise Conflict(f"transmission {row.id} is {row.status} and has not failed; nothing to retry",
                           detail_de="Diese Übermittlung ist nicht fehlgeschlagen; es gibt nichts zu wiederholen")
        previous = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
        row.status, row.attempts, row.next_attempt_at = "pending", 0, None
        audit.record(session, actor, "trade.transmission.retry", "trade_transmission", row.id, case_id=row.case_id,
                     details={"recipient": row.recipient, "previous": previous})
        return _entries(session, actor.principal, settings, [row], utcnow())[0]


def confirm(rt: Runtime, actor: Actor, transmission_id: int) -> OutboxEntry:
    """Record that the recipient acknowledged a sent message."""
    settings = _settings(rt)
    with rt.db.write() as session:
        row = _transmission(session, actor.principal, settings, transmission_id, act=True)
        if row.status != "sent":
            raise Conflict(f"transmission {row.id} is {row.status}; only a sent message can be confirmed",
                           detail_de="Bestätigt werden kann nur eine versandte Übermittlung")
        row.status, row.confirmed_at = "confirmed", utcnow()
        audit.record(session, actor, "trade.transmission.confirmed", "trade_transmission", row.id,
                     case_id=row.case_id, details={"recipient": row.recipient, "sent_at": row.sent_at})
        return _entries(session, actor.principal, settings, [row], utcnow())[0]


# --- reading ------------------------------------------------------------------------------------------------

def _filtered(flt: OutboxFilter, now: dt.datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.status:
        if flt.status not in STATUSES:
            raise Invalid(f"status: expected one of {', '.join(STATUSES)}", field="status", allowed=list(STATUSES),
                          detail_de="Status: ausstehend, versandt, bestätigt oder fehlgeschlagen")
        where.append(TradeTransmission.status == flt.status)
    else:
        where.append(TradeTransmission.status != "confirmed")
    if flt.overdue:
        where.append(_overdue(now))
    return where


def _overdue(now: dt.datetime) -> ColumnElement[bool]:
    return and_(TradeTransmission.status.in_(OPEN_STATUSES), TradeTransmission.due_at < now)


def outbox_page(rt: Runtime, actor: Actor, flt: OutboxFilter, *, offset: int = 0,
                limit: int = 100) -> list[OutboxEntry]:
    """The outbox: failed messages first, then the overdue, then the pending by due time, then the sent ones
    awaiting confirmation (with `status`, that status only, confirmed ones too)."""
    settings = _settings(rt)
    now = utcnow()
    with rt.db.read() as session:
        _require_reader(session, actor.principal, settings)
        rank = sql_case((TradeTransmission.status == "failed", 0), (_overdue(now), 1),
                        (TradeTransmission.status == "pending", 2), (TradeTransmission.status == "sent", 3), else_=4)
        rows = list(session.execute(select(TradeTransmission).where(*_filtered(flt, now))
                                    .order_by(rank, TradeTransmission.due_at, TradeTransmission.id)
                                    .offset(offset).limit(limit)).scalars())
        return _entries(session, actor.principal, settings, rows, now)


def outbox_count(rt: Runtime, actor: Actor, flt: OutboxFilter) -> int:
    settings = _settings(rt)
    with rt.db.read() as session:
        _require_reader(session, actor.principal, settings)
        return session.execute(select(func.count()).select_from(TradeTransmission)
                               .where(*_filtered(flt, utcnow()))).scalar_one()


def read_transmission(rt: Runtime, actor: Actor, transmission_id: int) -> OutboxEntry:
    settings = _settings(rt)
    with rt.db.read() as session:
        row = _transmission(session, actor.principal, settings, transmission_id, act=False)
        return _entries(session, actor.principal, settings, [row], utcnow())[0]


def procedure_transmissions(session: Session, procedure_id: int) -> list[TradeTransmission]:
    """A procedure's messages by recipient, for the business and notification pages (their caller checks who
    may see the procedure)."""
    return list(session.execute(select(TradeTransmission).where(TradeTransmission.procedure_id == procedure_id)
                                .order_by(TradeTransmission.recipient)).scalars())


def _entries(session: Session, p: Principal, settings: Mapping[str, Any], rows: list[TradeTransmission],
             now: dt.datetime) -> list[OutboxEntry]:
    if not rows:
        return []
    names = recipient_names(settings)
    unit_id = _trade_unit_id(session, settings)
    acting = may_act(p, unit_id)
    places = {pid: (case, proc) for pid, case, proc in session.execute(
        select(Procedure.id, Case, Procedure).join(Case, Case.id == Procedure.case_id)
        .where(Procedure.id.in_(sorted({r.procedure_id for r in rows})))).all()}
    out = []
    for r in rows:
        case, proc = places[r.procedure_id]
        meta = case.metadata_ or {}
        out.append(OutboxEntry(
            id=r.id, case_id=r.case_id, case_reference=case.reference, business_id=meta.get("business_id"),
            business_name=meta.get("registered_name"), procedure_id=r.procedure_id,
            procedure_reference=proc.reference, procedure_title=proc.title,
            notification=(proc.metadata_ or {}).get("notification"), recipient=r.recipient,
            recipient_name=names.get(r.recipient, r.recipient), format=r.format, document_id=r.document_id,
            status=r.status, due_at=r.due_at, created_at=r.created_at, sent_at=r.sent_at,
            confirmed_at=r.confirmed_at, attempts=r.attempts, next_attempt_at=r.next_attempt_at,
            last_error=r.last_error, overdue=r.status in OPEN_STATUSES and r.due_at < now,
            may_retry=acting and (r.status == "failed" or (r.status == "pending" and r.attempts > 0)),
            may_confirm=acting and r.status == "sent"))
    return out
