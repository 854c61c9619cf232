"""The register entry (Gewerberegister) and its history: each Eintragung adds a `TradeEntry` row (version n+1)
and never changes an older one (a database trigger refuses UPDATE), so the history is the rows in order. The
case's metadata mirrors the newest row for search, lists and the case page; its title follows the business name.

Called inside the step decision's transaction (eakte.services.trade.effects), so the entry, the mirror and the
decision commit together or not at all."""
from __future__ import annotations

from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict
from eakte.models import Case, Procedure, TradeEntry
from eakte.services import audit, case_rules, indexing
from eakte.services.access import Actor
from workflows.definition import CaseType
from workflows.fields import FieldError
from workflows.trade import entry as entries_rules
from workflows.trade.case_type import trade_case_type
from workflows.trade.notification import Notification, NotificationError


@cache
def _fields_type() -> CaseType:
    """The trade case type's fields and title template (no settings needed for those): normalising the metadata
    mirror and making the title do not depend on the configured recipients or unit."""
    return trade_case_type({})


def current_entry(session: Session, case_id: int) -> TradeEntry | None:
    """The business's current entry: its newest row (None before the first Eintragung)."""
    return session.execute(select(TradeEntry).where(TradeEntry.case_id == case_id)
                           .order_by(TradeEntry.version.desc()).limit(1)).scalar()


def entries(session: Session, case_id: int) -> list[TradeEntry]:
    """Every dated state of the entry, oldest first."""
    return list(session.execute(select(TradeEntry).where(TradeEntry.case_id == case_id)
                                .order_by(TradeEntry.version)).scalars())


def lock_business(session: Session, case_id: int) -> None:
    """Serialise Eintragungen of one business. FOR NO KEY UPDATE: it does not wait for (nor block) transactions
    that merely add rows referring to the case (their key-share lock), which would deadlock with the audit lock."""
    session.execute(select(Case.id).where(Case.id == case_id).with_for_update(key_share=True))


def notification_of(procedure: Procedure) -> Notification:
    """The notification a procedure holds (as the intake stored it)."""
    data = (procedure.metadata_ or {}).get("data")
    if not isinstance(data, dict):
        raise Conflict(f"procedure {procedure.reference} holds no trade notification",
                       detail_de=f"Vorgang {procedure.reference} enthält keine Gewerbeanzeige")
    return Notification.from_json(data)


def register_notification(session: Session, actor: Actor, case: Case, procedure: Procedure) -> TradeEntry:
    """Enter the procedure's notification in the register: the entry it makes of the current one as a new row,
    the case metadata mirror, the title; audited "trade.register" with the changes."""
    # The case row's lock: two notifications of one business entered at once would both read version n.
    lock_business(session, case.id)
    n = notification_of(procedure)
    current = current_entry(session, case.id)
    if session.execute(select(TradeEntry.id).where(TradeEntry.procedure_id == procedure.id)).first():
        raise Conflict(f"procedure {procedure.reference} is entered in the register already",
                       detail_de=f"Die Anzeige {procedure.reference} ist bereits eingetragen")
    business_id = str(case.metadata_.get("business_id") or "")
    try:
        data = entries_rules.apply(dict(current.data) if current is not None else None, n)
    except NotificationError as exc:
        # E.g. an Ummeldung of a business whose Abmeldung was entered meanwhile.
        first = exc.problems[0]
        raise Conflict(f"{procedure.reference} cannot be entered: {first.message}",
                       detail_de=f"Die Anzeige {procedure.reference} kann nicht eingetragen werden: "
                                 f"{first.message_de}", field=first.field) from None
    row = TradeEntry(case_id=case.id, procedure_id=procedure.id, version=(current.version + 1) if current else 1,
                     notification=n.notification, valid_from=n.effective_on, status=str(data.get("status")),
                     data=audit.plain_json(data), recorded_at=utcnow(), recorded_by=actor.principal.user_id)
    session.add(row)
    session.flush()
    _mirror(session, case, data, business_id)
    changes = entries_rules.changes(dict(current.data) if current is not None else {}, data)
    audit.record(session, actor, "trade.register", "case", case.id, case_id=case.id,
                 details={"procedure": procedure.reference, "business_id": business_id, "version": row.version,
                          "notification": n.notification, "valid_from": n.effective_on.isoformat(),
                          "status": row.status,
                          "changes": audit.plain_json([{"field": c.field, "old": c.old, "new": c.new}
                                                       for c in changes])})
    return row


def _mirror(session: Session, case: Case, data: dict, business_id: str) -> None:
    """The case metadata and title follow the entry; the search index is told (the case's documents and notes
    carry the metadata, so the business is found by its new name, owners, address and activity)."""
    case_type = _fields_type()
    try:
        metadata = case_type.normalise_metadata(audit.plain_json(entries_rules.case_metadata(data, business_id)))
    except FieldError as exc:
        raise Conflict(f"the register entry does not fit the case field {exc.field}: {exc.message}",
                       detail_de=f"Der Registereintrag passt nicht in das Aktenfeld {exc.field}: {exc.message_de}",
                       field=exc.field) from None
    case.metadata_ = metadata
    case_rules.write_keys(session, case_type, case, metadata)
    title = case_type.derived_title(metadata)
    if title:
        case.title = title[:500]
    case.updated_at = utcnow()
    indexing.case_changed(session, case.id)
