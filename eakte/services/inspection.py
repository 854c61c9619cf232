"""The employee's own inspection of their file (HBG §89, §3(5) TVöD, GDPR Art. 15(3)): the person a case is
about (`Case.subject_user_id`) reads it completely and read-only, and downloads copies — also after leaving
service, and with an account that belongs to no unit. Sub-files kept apart by a unit of their own (Beihilfe)
are shown only when the employee asks for them. Every inspection (opening the file, every copy) is logged as a
read `as` "subject", so it appears in the file's access log like anyone else's read.

Whether `p` is the subject is `access.is_subject`; this module only shapes what the subject sees."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eakte.errors import NotFound
from eakte.models import AdverseItem, Case, Document, DocumentVersion, Procedure
from eakte.runtime import Runtime
from eakte.services import access, reads
from eakte.services.access import Actor, Principal
from eakte.services.documents import version_of
from workflows.definition import CaseType, SubFile

@dataclass(frozen=True)
class OwnFile:
    """One file the caller is the subject of, as their list shows it."""

    case_id: int
    reference: str
    title: str
    case_type: str
    status: str
    closed_at: dt.date | None


@dataclass(frozen=True)
class InspectedDocument:
    id: int
    title: str
    kind: str
    document_date: dt.date | None
    created_at: dt.datetime
    version: int
    filename: str
    size: int
    mime_type: str


@dataclass(frozen=True)
class Part:
    """The Grundakte (the case level: no procedure) or one procedure/sub-file, with its documents."""

    subfile: str | None  # the declared sub-file's key; None: the Grundakte or a procedure
    label_de: str
    label_en: str
    procedure_id: int | None
    reference: str | None
    documents: tuple[InspectedDocument, ...]


@dataclass(frozen=True)
class AdverseStatus:
    """Where an adverse item stands (the employee is heard before it is filed): never its content, which is the
    item's document among the others."""

    id: int
    kind: str
    status: str
    document_id: int | None
    hearing_due_on: dt.date
    statement_document_id: int | None
    statement_declined: bool
    removal_due_on: dt.date | None


@dataclass(frozen=True)
class Inspection:
    case: Case
    case_type: CaseType | None
    parts: tuple[Part, ...]
    adverse_items: tuple[AdverseStatus, ...]
    include_apart: bool  # the sub-files kept apart (Beihilfe) are among the parts
    apart: tuple[SubFile, ...]  # the case type's sub-files kept apart: what `include_apart` adds


def own_files(rt: Runtime, actor: Actor) -> list[OwnFile]:
    """The files the caller is the subject of, newest first; open and closed alike."""
    with rt.db.read() as session:
        rows = session.execute(select(Case).where(Case.subject_user_id == actor.principal.user_id)
                               .order_by(Case.created_at.desc(), Case.id.desc())).scalars()
        return [OwnFile(c.id, c.reference, c.title, c.case_type, c.status, c.closed_at) for c in rows]


def own_file_count(session: Session, p: Principal) -> int:
    """How many files `p` is the subject of (the layout shows "Meine Personalakte" when there is one)."""
    return int(session.execute(select(func.count(Case.id)).where(Case.subject_user_id == p.user_id)).scalar_one())


def lands_on_own_file(rt: Runtime, actor: Actor) -> bool:
    """Whether the start page of the caller is their own file: an account in no unit (perhaps limited to the
    inspection after leaving service) has nothing else to see."""
    if actor.principal.roles_by_unit:
        return False
    with rt.db.read() as session:
        return own_file_count(session, actor.principal) > 0


def inspect(rt: Runtime, actor: Actor, case_id: int, *, include_apart: bool = False) -> Inspection:
    """The caller's own file with all its documents by part, the sub-files kept apart only on request; the
    opening is logged. NotFound for a file that is not theirs (as if missing)."""
    with rt.db.write() as session:
        case = _own_case(session, actor.principal, case_id)
        case_type = rt.registry.get(case.case_type)
        apart = _apart(case_type)
        procs = list(session.execute(select(Procedure).where(Procedure.case_id == case.id)
                                     .order_by(Procedure.number)).scalars())
        shown = [pr for pr in procs if include_apart or pr.subfile not in {s.key for s in apart}]
        docs = list(session.execute(select(Document).where(Document.case_id == case.id)
                                    .order_by(Document.id)).scalars())
        parts = [_part(None, "Grundakte", "Main file", None, None, docs)]
        labels = {s.key: s for s in case_type.subfiles} if case_type is not None else {}
        for pr in shown:
            sub = labels.get(pr.subfile or "")
            parts.append(_part(pr.subfile, sub.label_de if sub else pr.title,
                               sub.label_en if sub else pr.title, pr.id, pr.reference, docs))
        shown_ids = {pr.id for pr in shown}
        items = session.execute(select(AdverseItem).where(AdverseItem.case_id == case.id)
                                .order_by(AdverseItem.id)).scalars()
        adverse = tuple(_adverse(i) for i in items if i.procedure_id is None or i.procedure_id in shown_ids)
        _log(rt, session, actor, case, "read.case", details={"include_apart": include_apart})
        return Inspection(case, case_type, tuple(parts), adverse, include_apart, apart)


def open_copy(rt: Runtime, actor: Actor, case_id: int, document_id: int, *, include_apart: bool = False,
              version_number: int | None = None) -> tuple[DocumentVersion, BinaryIO]:
    """A copy of a document of the caller's own file (its current or the given version), as a stream of the
    stored bytes the caller closes; the download is logged. A document of a sub-file kept apart only with
    `include_apart`, as the file's page shows it; else NotFound."""
    with rt.db.write() as session:
        case = _own_case(session, actor.principal, case_id)
        document = session.get(Document, document_id)
        if document is None or document.case_id != case.id or (
                not include_apart and _lies_apart(session, rt.registry.get(case.case_type), document)):
            raise NotFound("No document with this id in your file", detail_de="Nicht gefunden")
        version = version_of(document, version_number)
        _log(rt, session, actor, case, "read.document", document_id=document.id,
             details={"via": "download", "version": version.number, "sha256": version.sha256})
    return version, rt.blobs.open(version.blob_key)


# --- steps ------------------------------------------------------------------------------------------------


def _own_case(session: Session, p: Principal, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None or not access.is_subject(p, case):
        raise NotFound("No file of yours with this id", detail_de="Nicht gefunden")
    return case


def _apart(case_type: CaseType | None) -> tuple[SubFile, ...]:
    """The sub-files a unit of their own keeps (Beihilfe): the employee opts in to them."""
    return tuple(s for s in case_type.subfiles if s.unit) if case_type is not None else ()


def _lies_apart(session: Session, case_type: CaseType | None, document: Document) -> bool:
    if document.procedure_id is None:
        return False
    procedure = session.get(Procedure, document.procedure_id)
    return procedure is not None and procedure.subfile in {s.key for s in _apart(case_type)}


def _part(subfile: str | None, label_de: str, label_en: str, procedure_id: int | None, reference: str | None,
          docs: list[Document]) -> Part:
    return Part(subfile, label_de, label_en, procedure_id, reference,
                tuple(_document(d) for d in docs if d.procedure_id == procedure_id))


def _document(d: Document) -> InspectedDocument:
    v = version_of(d, None)
    return InspectedDocument(d.id, d.title, d.kind, d.document_date, d.created_at, v.number, v.filename, v.size,
                             v.mime_type)


def _adverse(item: AdverseItem) -> AdverseStatus:
    return AdverseStatus(item.id, item.kind, item.status, item.document_id, item.hearing_due_on,
                         item.statement_document_id, item.statement_declined, item.removal_due_on)


def _log(rt: Runtime, session: Session, actor: Actor, case: Case, action: str, *, document_id: int | None = None,
         details: dict[str, Any]) -> None:
    """The employee's read, in the file's access log like every other read, in the same transaction as what it
    traces (a case type that logs no reads leaves none)."""
    reads.record_reads(session, rt.registry, actor, [reads.Read(case, action, document_id, details)], as_="subject")
