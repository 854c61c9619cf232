"""Adverse items (nachteilige Vorgänge: complaints, warnings) of a personnel file, on the pure rules of
`workflows.personnel.adverse`: filed for the hearing first (BBG §109), the employee's statement (or that they
declined) filed beside the item, then the item taken into the file with its removal date; removed on the
employee's application from that date, or at once when unfounded (BBG §112).

A removal destroys the item's and its statement's documents: a `DocumentDestruction` row per document (the
database lets versions be deleted only then), then versions, extracted texts, documents and index entries go.
The `AdverseItem` row stays, as the record that something was removed and when, never what: no audit event of
the flow names a title or a file name (documents of `managed` kinds are audited without them too). The removed
files' blobs are no longer referenced and go with the next `eakte storage gc` after its grace period (unless the
same bytes are still filed elsewhere, content-addressed storage keeps them for that document).

Who acts: readers of the whole file (`access.reads_fully`) holding the clerk role in its unit, on an open file.
Who sees the items: the readers of the whole file; to everyone else they are not there (404).

Units of work for the API, the pages and the demo:
- `file_item(rt, actor, case_id, NewAdverseItem(title, kind, procedure_id=None, document_date=None), upload)`
- `record_statement(rt, actor, item_id, upload)` or `record_statement(rt, actor, item_id, declined=True)`
- `file_after_hearing(rt, actor, item_id)`
- `remove(rt, actor, item_id, ground)` with ground "application" | "unfounded"
- `case_items(rt, actor, case_id)`, `read_item(rt, actor, item_id)`, `case_panel(rt, actor, case_id)`
Each returns `AdverseEntry` (or a list / panel of them)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import AdverseItem, Case, Document, DocumentDestruction, DocumentVersion, ExtractedText, \
    FollowUp, Procedure, User
from eakte.runtime import Runtime
from eakte.services import access, audit, documents, followups, indexing, procedures
from eakte.services.access import Actor, Principal
from eakte.services.inputs import required_text
from workflows.personnel import adverse as rules
from workflows.personnel.case_type import ADVERSE_KINDS, STATEMENT_KIND

GROUNDS: tuple[rules.RemovalGround, ...] = ("application", "unfounded")
ACTING_ROLE = "clerk"  # held in the file's unit, beside reading the whole file
STATEMENT_TITLE = "Stellungnahme der beschäftigten Person"
# The follow-up's note names no title: the Postkorb shows it beside the file's reference.
HEARING_NOTE = ("Anhörung zu einem nachteiligen Vorgang: Stellungnahme der beschäftigten Person erfassen oder "
                "Verzicht vermerken, dann den Vorgang in die Akte aufnehmen")


@dataclass(frozen=True)
class NewAdverseItem:
    title: str
    kind: str  # one of ADVERSE_KINDS: "complaint" | "warning"
    procedure_id: int | None = None  # None: the Grundakte; else a sub-file/procedure of the same file
    document_date: dt.date | None = None


@dataclass(frozen=True)
class AdverseEntry:
    """An item as the API and the pages show it: plain values, names looked up."""

    id: int
    case_id: int
    procedure_id: int | None
    kind: str
    status: str  # hearing | filed | removed
    title: str | None  # the item document's title; None once removed
    document_id: int | None
    statement_document_id: int | None
    statement_declined: bool
    hearing_due_on: dt.date
    heard_at: dt.datetime | None
    heard_by: str | None
    filed_at: dt.datetime | None
    filed_by: str | None
    removal_due_on: dt.date | None
    removed_at: dt.datetime | None
    removed_by: str | None
    removal_ground: str | None
    created_at: dt.datetime
    created_by: str | None
    followup_id: int | None
    # What the caller may do now (the same rules the writes enforce), for the pages' forms.
    may_record_hearing: bool
    may_file: bool
    may_remove_on_application: bool
    may_remove_unfounded: bool


@dataclass(frozen=True)
class AdversePanel:
    """The case page's section: the items and whether the caller may file a new one."""

    items: list[AdverseEntry]
    may_file_new: bool
    kinds: list[tuple[str, str, str]]  # (key, label_de, label_en) of the adverse kinds
    procedures: list[tuple[int, str]]  # (id, "reference title") of the open procedures/sub-files to file into
    hearing_days: int
    removal_years: int


# --- who may do what ----------------------------------------------------------------------------------------

def _settings(rt: Runtime, case: Case) -> tuple[int, int]:
    """(hearing_days, adverse_removal_years) of the case's type; Conflict for a type that keeps no adverse items."""
    case_type = rt.registry.get(case.case_type)
    settings: dict[str, Any] = dict(case_type.settings) if case_type is not None else {}
    declared = {k.key for k in (case_type.document_kinds if case_type else ()) if k.managed}
    if not {*ADVERSE_KINDS, STATEMENT_KIND} <= declared or "hearing_days" not in settings:
        raise Conflict(f"case {case.reference}: its case type keeps no adverse items",
                       detail_de=f"Akte {case.reference}: Diese Aktenart führt keine nachteiligen Vorgänge")
    return int(settings["hearing_days"]), int(settings["adverse_removal_years"])


def _keeps_items(rt: Runtime, case: Case) -> bool:
    try:
        _settings(rt, case)
    except Conflict:
        return False
    return True


def _require_reader(p: Principal, case: Case | None) -> Case:
    """The file, when `p` reads all of it; to anyone else its adverse items are not there (404)."""
    case = access.require_view_case(p, case)
    if not access.reads_fully(p, case):
        raise NotFound("No case with this id", detail_de="Nicht gefunden")
    return case


def may_act(p: Principal, case: Case) -> bool:
    """A reader of the whole file holding the clerk role in its unit, on an open file."""
    return access.reads_fully(p, case) and p.has_role(case.unit_id, ACTING_ROLE) and case.status == "open"


def _require_actor(p: Principal, case: Case | None) -> Case:
    case = _require_reader(p, case)
    if not p.has_role(case.unit_id, ACTING_ROLE):
        raise Forbidden(f"adverse items need the clerk role in unit {case.unit.code}",
                        detail_de=f"Nachteilige Vorgänge bearbeitet nur die Sachbearbeitung in {case.unit.name}")
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed; its adverse items cannot be changed",
                       detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.); nachteilige Vorgänge können "
                                 "nicht mehr bearbeitet werden")
    return case


def _item(session: Session, p: Principal, item_id: int, *, act: bool, lock: bool = False) -> tuple[AdverseItem, Case]:
    item = session.get(AdverseItem, item_id, with_for_update=lock or None)
    case = session.get(Case, item.case_id) if item is not None else None
    try:
        case = _require_actor(p, case) if act else _require_reader(p, case)
    except NotFound:
        raise NotFound("No adverse item with this id", detail_de="Nicht gefunden") from None
    assert item is not None
    return item, case


def _state(item: AdverseItem) -> rules.ItemState:
    return rules.ItemState(status=item.status, heard=item.heard_at is not None,  # type: ignore[arg-type]
                           removal_due_on=item.removal_due_on)


def _ruled(check: Any, *args: Any) -> None:
    """Run a rule of `workflows.personnel.adverse`; its refusal is a Conflict (409) with its German text."""
    try:
        check(*args)
    except rules.AdverseRuleError as exc:
        raise Conflict(exc.message, detail_de=exc.message_de) from None


def _allowed(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except rules.AdverseRuleError:
        return False
    return True


def _adverse_kind(kind: str | None) -> str:
    key = (kind or "").strip()
    if key not in ADVERSE_KINDS:
        raise Invalid(f"kind: an adverse item is one of {', '.join(ADVERSE_KINDS)}, not {key!r}", field="kind",
                      allowed=list(ADVERSE_KINDS),
                      detail_de="Ein nachteiliger Vorgang ist eine Beschwerde oder eine Abmahnung/Missbilligung")
    return key


def _ground(ground: str | None) -> rules.RemovalGround:
    key = (ground or "").strip()
    if key not in GROUNDS:
        raise Invalid(f"ground: one of {', '.join(GROUNDS)}, not {key!r}", field="ground", allowed=list(GROUNDS),
                      detail_de="Bitte geben Sie den Grund der Entfernung an: auf Antrag oder unbegründet")
    return key  # type: ignore[return-value]


# --- writes -------------------------------------------------------------------------------------------------

def file_item(rt: Runtime, actor: Actor, case_id: int, new: NewAdverseItem,
              upload: documents.Upload) -> AdverseEntry:
    """File a complaint or warning for the hearing: its document (kind `new.kind`, into the Grundakte or the
    given sub-file), the item (status hearing, due `hearing_days` from today) and a follow-up for the file's
    unit due that day, so that the hearing comes back in its Postkorb."""
    kind = _adverse_kind(new.kind)
    p = actor.principal
    with rt.db.read() as session:  # fail fast, before any byte is stored
        case = _require_actor(p, session.get(Case, case_id))
        _settings(rt, case)
        documents.require_allowed_kind(rt, case, kind, flow=True)
        procedures.procedure_for_upload(session, actor, rt.registry, case, new.procedure_id)
        required_text(new.title, "title", 500, empty_de="Bitte geben Sie einen Titel an")
    with documents.stored_upload(rt, upload) as (staged, blob):
        with rt.db.write() as session:
            case = _require_actor(p, session.get(Case, case_id))
            hearing_days, _years = _settings(rt, case)
            ingested = documents.record_document(
                rt, session, actor, case, documents.NewDocument(new.title, kind, new.document_date,
                                                                new.procedure_id), staged, blob, flow=True)
            due = rules.hearing_due(office_today(), hearing_days)
            followup = followups.create_followup(session, actor, case.id, followups.NewFollowUp(
                due, HEARING_NOTE, for_unit=True, procedure_id=ingested.document.procedure_id), registry=rt.registry)
            item = AdverseItem(case_id=case.id, procedure_id=ingested.document.procedure_id,
                               document_id=ingested.document.id, kind=kind, status="hearing", hearing_due_on=due,
                               followup_id=followup.id, created_by=p.user_id)
            session.add(item)
            session.flush()
            audit.record(session, actor, "adverse.file", "adverse_item", item.id, case_id=case.id,
                         details={"kind": kind, "document_id": item.document_id, "procedure_id": item.procedure_id,
                                  "hearing_due_on": due.isoformat(), "followup_id": followup.id})
            return _entries(session, p, case, [item])[0]


def record_statement(rt: Runtime, actor: Actor, item_id: int, upload: documents.Upload | None = None, *,
                     declined: bool = False) -> AdverseEntry:
    """The hearing's outcome: the employee's statement (an upload of kind `statement`, filed beside the item, in
    its sub-file) or, with `declined`, that they declined to give one. Exactly one of the two."""
    if (upload is None) == (not declined):
        raise Invalid("give the statement as a file or declined=true, not both or neither", field="file",
                      detail_de="Bitte laden Sie die Stellungnahme hoch oder vermerken Sie den Verzicht "
                                "(nicht beides)")
    p = actor.principal
    with rt.db.read() as session:
        item, case = _item(session, p, item_id, act=True)
        _ruled(rules.require_may_record_hearing, _state(item))
    if upload is None:
        with rt.db.write() as session:
            item, case = _heard(session, p, item_id)
            item.statement_declined = True
            return _after_hearing(session, actor, item, case, {"statement": "declined"})
    with documents.stored_upload(rt, upload) as (staged, blob):
        with rt.db.write() as session:
            item, case = _heard(session, p, item_id)
            ingested = documents.record_document(
                rt, session, actor, case, documents.NewDocument(STATEMENT_TITLE, STATEMENT_KIND, None,
                                                                item.procedure_id), staged, blob, flow=True)
            item.statement_document_id = ingested.document.id
            return _after_hearing(session, actor, item, case,
                                  {"statement": "filed", "document_id": ingested.document.id})


def _heard(session: Session, p: Principal, item_id: int) -> tuple[AdverseItem, Case]:
    """The item under its row lock, checked again: another hearing may have been recorded meanwhile."""
    item, case = _item(session, p, item_id, act=True, lock=True)
    _ruled(rules.require_may_record_hearing, _state(item))
    return item, case


def _after_hearing(session: Session, actor: Actor, item: AdverseItem, case: Case,
                   details: dict[str, Any]) -> AdverseEntry:
    item.heard_at, item.heard_by = utcnow(), actor.principal.user_id
    session.flush()
    audit.record(session, actor, "adverse.hearing", "adverse_item", item.id, case_id=case.id, details=details)
    return _entries(session, actor.principal, case, [item])[0]


def file_after_hearing(rt: Runtime, actor: Actor, item_id: int) -> AdverseEntry:
    """Take the heard item into the file: refused before the hearing is recorded (there is no way around it);
    from today it may be removed on application after `adverse_removal_years`. The hearing's follow-up is done."""
    p = actor.principal
    with rt.db.write() as session:
        item, case = _item(session, p, item_id, act=True, lock=True)
        _ruled(rules.require_may_file, _state(item))
        _hearing_days, years = _settings(rt, case)
        today = office_today()
        item.status, item.filed_at, item.filed_by = "filed", utcnow(), p.user_id
        item.removal_due_on = rules.removal_due(today, years)
        _settle_followup(session, actor, item)
        session.flush()
        audit.record(session, actor, "adverse.filed", "adverse_item", item.id, case_id=case.id,
                     details={"removal_due_on": item.removal_due_on.isoformat()})
        return _entries(session, p, case, [item])[0]


def remove(rt: Runtime, actor: Actor, item_id: int, ground: str) -> AdverseEntry:
    """Take the item out of the file: on the employee's application (only a filed item, from its removal date)
    or as unfounded (at once, also during the hearing). Its and its statement's documents are destroyed; the item
    stays as status removed, naming when, by whom and on which ground, never what."""
    why = _ground(ground)
    p = actor.principal
    with rt.db.write() as session:
        item, case = _item(session, p, item_id, act=True, lock=True)
        _ruled(rules.require_may_remove, _state(item), why, office_today())
        doomed = [d for d in (item.document_id, item.statement_document_id) if d is not None]
        now = utcnow()
        destructions = [DocumentDestruction(case_id=case.id, document_id=d, destroyed_at=now, destroyed_by=p.user_id,
                                            ground=f"adverse_item.{why}") for d in doomed]
        session.add_all(destructions)
        item.document_id = item.statement_document_id = None
        item.status, item.removed_at, item.removed_by, item.removal_ground = "removed", now, p.user_id, why
        _settle_followup(session, actor, item)
        session.flush()  # the destruction rows first: the database lets the versions go only with them
        _destroy(session, doomed)
        audit.record(session, actor, "adverse.remove", "adverse_item", item.id, case_id=case.id,
                     details={"ground": why, "destroyed_documents": doomed,
                              "destruction_ids": [d.id for d in destructions]})
        return _entries(session, p, case, [item])[0]


def _destroy(session: Session, document_ids: list[int]) -> None:
    """Delete the documents with their versions and texts, and their index entries (the outbox: a drain finds
    them gone and deletes them from the index). Bulk statements: the ORM would null the versions' keys first,
    which the immutability trigger refuses."""
    if not document_ids:
        return
    versions = select(DocumentVersion.id).where(DocumentVersion.document_id.in_(document_ids))
    session.execute(delete(ExtractedText).where(ExtractedText.version_id.in_(versions)),
                    execution_options={"synchronize_session": False})
    session.execute(delete(DocumentVersion).where(DocumentVersion.document_id.in_(document_ids)),
                    execution_options={"synchronize_session": False})
    session.execute(delete(Document).where(Document.id.in_(document_ids)),
                    execution_options={"synchronize_session": False})
    for document_id in document_ids:
        indexing.document_changed(session, document_id)


def _settle_followup(session: Session, actor: Actor, item: AdverseItem) -> None:
    """The hearing's follow-up is done once the item is filed or removed (unless someone marked it done)."""
    if item.followup_id is None:
        return
    followup = session.get(FollowUp, item.followup_id)
    if followup is not None and followup.status == "open":
        followups.mark_done(session, actor, followup.id)


# --- reads --------------------------------------------------------------------------------------------------

def _entries(session: Session, p: Principal, case: Case, items: list[AdverseItem]) -> list[AdverseEntry]:
    doc_ids = {i.document_id for i in items if i.document_id is not None}
    titles = dict(session.execute(select(Document.id, Document.title).where(Document.id.in_(doc_ids))).all()) \
        if doc_ids else {}
    people = {u for i in items for u in (i.heard_by, i.filed_by, i.removed_by, i.created_by) if u}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(people))).all()) if people else {}
    acts = may_act(p, case)
    today = office_today()
    out = []
    for i in items:
        state = _state(i)
        out.append(AdverseEntry(
            id=i.id, case_id=i.case_id, procedure_id=i.procedure_id, kind=i.kind, status=i.status,
            title=titles.get(i.document_id) if i.document_id is not None else None, document_id=i.document_id,
            statement_document_id=i.statement_document_id, statement_declined=i.statement_declined,
            hearing_due_on=i.hearing_due_on, heard_at=i.heard_at, heard_by=names.get(i.heard_by or 0),
            filed_at=i.filed_at, filed_by=names.get(i.filed_by or 0), removal_due_on=i.removal_due_on,
            removed_at=i.removed_at, removed_by=names.get(i.removed_by or 0), removal_ground=i.removal_ground,
            created_at=i.created_at, created_by=names.get(i.created_by), followup_id=i.followup_id,
            may_record_hearing=acts and _allowed(rules.require_may_record_hearing, state),
            may_file=acts and _allowed(rules.require_may_file, state),
            may_remove_on_application=acts and _allowed(rules.require_may_remove, state, "application", today),
            may_remove_unfounded=acts and _allowed(rules.require_may_remove, state, "unfounded", today)))
    return out


def _of_case(session: Session, p: Principal, case: Case) -> list[AdverseEntry]:
    rows = list(session.execute(select(AdverseItem).where(AdverseItem.case_id == case.id)
                                .order_by(AdverseItem.created_at.desc(), AdverseItem.id.desc())).scalars())
    return _entries(session, p, case, rows)


def case_items(rt: Runtime, actor: Actor, case_id: int) -> list[AdverseEntry]:
    """The file's adverse items, newest first, for the readers of the whole file (404 for everyone else)."""
    with rt.db.read() as session:
        case = _require_reader(actor.principal, session.get(Case, case_id))
        _settings(rt, case)
        return _of_case(session, actor.principal, case)


def read_item(rt: Runtime, actor: Actor, item_id: int) -> AdverseEntry:
    with rt.db.read() as session:
        item, case = _item(session, actor.principal, item_id, act=False)
        return _entries(session, actor.principal, case, [item])[0]


def case_panel(rt: Runtime, actor: Actor, case_id: int) -> AdversePanel | None:
    """The case page's section, or None where it has none: a type without adverse items, or a caller who does
    not read the whole file (to them the section is not there)."""
    p = actor.principal
    with rt.db.read() as session:
        case = access.require_view_case(p, session.get(Case, case_id))
        if not _keeps_items(rt, case) or not access.reads_fully(p, case):
            return None
        hearing_days, years = _settings(rt, case)
        case_type = rt.registry.get(case.case_type)
        assert case_type is not None
        kinds = [(k.key, k.label_de, k.label_en) for k in case_type.document_kinds if k.key in ADVERSE_KINDS]
        acts = may_act(p, case)
        hidden = access.hidden_subfiles(session, p, rt.registry)
        choices = [(pr.id, f"{pr.reference} {pr.title}") for pr in session.execute(
            select(Procedure).where(Procedure.case_id == case.id, Procedure.status == "open",
                                    access.visible_procedures_filter(hidden))
            .order_by(Procedure.number)).scalars()] if acts else []
        return AdversePanel(_of_case(session, p, case), acts, kinds, choices, hearing_days, years)
