"""Check-out (Auschecken) of documents: a clerk takes a document to work on it, and until it is checked in (a new
version), cancelled, or the lock broken by an admin or the unit's head, nobody else adds a version or moves it.

The lock is two columns of the document (who, since when); the audit trail keeps who held it when. The refusal
of everyone else's changes is `access.require_not_held_by_other`, which every version upload passes through
(`documents.versionable_document`) and which a move of a document calls too; it is re-exported here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eakte.clock import utcnow
from eakte.errors import Conflict, EakteError, Invalid
from eakte.models import Document, DocumentVersion, User
from eakte.runtime import Runtime
from eakte.services import audit, documents
from eakte.services.access import (Actor, can_break_checkout, require_break_checkout,
                                   require_not_held_by_other)

__all__ = ["CheckoutState", "Holder", "break_lock", "cancel", "check_in", "check_out", "checkout_state",
           "require_not_held_by_other"]

REASON_MAX = 500


@dataclass(frozen=True)
class Holder:
    user_id: int
    username: str
    display_name: str
    since: dt.datetime  # naive UTC, as stored


@dataclass(frozen=True)
class CheckoutState:
    """What the document page shows and offers the caller."""

    holder: Holder | None
    held_by_me: bool
    may_check_out: bool
    may_check_in: bool  # the holder, while they may still add a version
    may_cancel: bool
    may_break: bool  # an admin or the unit's head, on someone else's check-out
    may_add_version: bool  # the plain upload of a new version (nobody else holds the document)


def check_out(rt: Runtime, actor: Actor, document_id: int) -> Document:
    """Take the document: on the same terms as adding a version (clerk of its unit, case open, kind not fixed by
    a decision, nobody else holding it). Checking out one's own check-out again changes nothing."""
    with rt.db.write() as session:
        document = documents.versionable_document(rt, session, actor, document_id, lock=True)
        if document.checked_out_by == actor.principal.user_id:
            return document
        document.checked_out_by = actor.principal.user_id
        document.checked_out_at = utcnow()
        audit.record(session, actor, "document.checkout", "document", document.id, case_id=document.case_id,
                     details={"version": document.current_version})
    return document


def check_in(rt: Runtime, actor: Actor, document_id: int, upload: documents.Upload) -> documents.Ingested:
    """The holder's new version, streamed like every other (documents.add_version); the check-out ends in the
    same transaction, so no moment exists where the version is in and the document still locked, or freed
    without it."""
    def guard(document: Document) -> None:
        _require_holder(document, actor)

    def then(session: Session, document: Document, version: DocumentVersion) -> None:
        _release(session, actor, document, "document.checkin", {"version": version.number})

    return documents.add_version(rt, actor, document_id, upload, guard=guard, then=then)


def cancel(rt: Runtime, actor: Actor, document_id: int) -> Document:
    """The holder gives the document back without a new version (also on a closed case: a lock is theirs)."""
    with rt.db.write() as session:
        document = _locked(rt, session, actor, document_id)
        _require_holder(document, actor)
        _release(session, actor, document, "document.checkout_cancel", {})
    return document


def break_lock(rt: Runtime, actor: Actor, document_id: int, reason: str | None = None) -> tuple[Document, Holder]:
    """An admin or the head of the case's unit frees a document someone else has checked out (a stale lock: the
    holder is away); audited with the holder's name, since when and the reason given. Returns whose it was."""
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise Invalid(f"reason: at most {REASON_MAX} characters", field="reason",
                      detail_de=f"Begründung: höchstens {REASON_MAX} Zeichen")
    with rt.db.write() as session:
        document = _locked(rt, session, actor, document_id)
        require_break_checkout(actor.principal, document.case)
        if document.checked_out_by is None:
            raise _not_checked_out(document)
        holder = _release(session, actor, document, "document.checkout_break", {"reason": reason or None})
    return document, holder


def checkout_state(rt: Runtime, actor: Actor, document_id: int) -> CheckoutState:
    with rt.db.read() as session:
        document = documents.get_document(session, actor, document_id, registry=rt.registry)
        holder = _holder(session, document)
        mine = holder is not None and holder.user_id == actor.principal.user_id
        try:  # the very rules of an upload, so the page offers only what will be taken
            documents.versionable_document(rt, session, actor, document_id)
            versionable = True
        except EakteError:
            versionable = False
        return CheckoutState(
            holder=holder, held_by_me=mine, may_check_out=versionable and holder is None,
            may_check_in=versionable and mine, may_cancel=mine,
            may_break=holder is not None and not mine and can_break_checkout(actor.principal, document.case),
            may_add_version=versionable and not mine)


# --- steps ------------------------------------------------------------------------------------------------

def _locked(rt: Runtime, session: Session, actor: Actor, document_id: int) -> Document:
    """The visible document under its row lock (taken first, so two releases cannot both pass the checks)."""
    session.get(Document, document_id, with_for_update=True)
    return documents.get_document(session, actor, document_id, registry=rt.registry)


def _require_holder(document: Document, actor: Actor) -> None:
    if document.checked_out_by is None:
        raise _not_checked_out(document)
    require_not_held_by_other(document, actor)


def _not_checked_out(document: Document) -> Conflict:
    return Conflict(f"document {document.id} is not checked out", detail_de="Das Dokument ist nicht ausgecheckt")


def _holder(session: Session, document: Document) -> Holder | None:
    if document.checked_out_by is None or document.checked_out_at is None:
        return None
    user = session.get(User, document.checked_out_by)
    username = user.username if user is not None else str(document.checked_out_by)
    return Holder(document.checked_out_by, username, (user.display_name if user else "") or username,
                  document.checked_out_at)


def _release(session: Session, actor: Actor, document: Document, action: str, details: dict[str, Any]) -> Holder:
    holder = _holder(session, document)
    assert holder is not None
    document.checked_out_by = None
    document.checked_out_at = None
    audit.record(session, actor, action, "document", document.id, case_id=document.case_id,
                 details={"holder": holder.username, "held_since": holder.since.isoformat(timespec="seconds") + "Z",
                          **details})
    return holder
