"""Documents and their immutable versions: ingest (type check, storage, text) and download.

An upload is staged to a temp file while it is hashed, checked from its content, stored in the blob store, and
only then recorded, in one transaction together with its audit event. A crash in between leaves at most an
unreferenced blob, which `eakte storage gc` removes after its grace period: never a row without its file. That
transaction also takes the blob's gc lock and checks the blob is still there (integrity.ensure_referenced_blob),
so a gc running between the store and the commit cannot leave a row without its file either.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.config import MIB
from eakte.db import after_commit
from eakte.errors import Conflict, Invalid, NotFound, PayloadTooLarge, UnsupportedFileType
from eakte.services.inputs import required_text
from eakte.extraction import SUPPORTED_MIME_TYPES
from eakte.filetypes import FileTypeError, verify_upload
from eakte.models import Case, Document, DocumentVersion, ExtractedText, Procedure, User
from eakte.runtime import Runtime
from eakte.services import approvals, audit, indexing, integrity, procedures, reads
from eakte.services.access import (Actor, hidden_subfiles, require_change_at, require_not_held_by_other,
                                   require_view_case, require_view_document, visible_case_rows_filter,
                                   visible_documents_filter)
from storage import BlobRef
from workflows.definition import DocumentKind
from workflows.registry import Registry

CHUNK = MIB
# The kind a case type that declares none takes (types in tests, plug-ins without kinds): the generic one only.
GENERIC_KINDS = (DocumentKind("document", "Dokument", "Document"),)
# Hooks of add_version: a check of the document (`guard`), a step after the version's rows (`then`).
VersionGuard = Callable[[Document], None]
VersionStep = Callable[[Session, Document, DocumentVersion], None]


@dataclass(frozen=True)
class Upload:
    stream: BinaryIO
    filename: str
    claimed_type: str | None = None


@dataclass(frozen=True)
class NewDocument:
    title: str
    kind: str = "document"
    document_date: dt.date | None = None
    procedure_id: int | None = None  # None: at case level; else an open procedure/sub-file of the same case


@dataclass(frozen=True)
class Ingested:
    document: Document
    version: DocumentVersion
    deduplicated: bool  # identical bytes were stored already; this version points at them


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    size: int
    mime_type: str
    filename: str


def add_document(rt: Runtime, actor: Actor, case_id: int, new: NewDocument, upload: Upload) -> Ingested:
    with rt.db.read() as session:  # fail fast, before any byte is stored
        case = _open_case_for_change(session, actor, case_id, new.procedure_id)
        require_allowed_kind(rt, case, new.kind)
        procedures.procedure_for_upload(session, actor, rt.registry, case, new.procedure_id)
    with stored_upload(rt, upload) as (staged, blob):
        with rt.db.write() as session:
            case = _open_case_for_change(session, actor, case_id, new.procedure_id)
            result = record_document(rt, session, actor, case, new, staged, blob)
    return result


def record_document(rt: Runtime, session: Session, actor: Actor, case: Case, new: NewDocument, staged: Staged,
                    blob: BlobRef, *, flow: bool = False) -> Ingested:
    """The rows of a new document in the caller's transaction; its text is extracted after the commit.
    `flow`: the case type's own flow files it, which alone may file a `managed` kind (an adverse item)."""
    title = required_text(new.title, "title", 500)
    kind = require_allowed_kind(rt, case, new.kind, flow=flow)
    managed = is_managed_kind(rt, case.case_type, kind)
    procedure = procedures.procedure_for_upload(session, actor, rt.registry, case, new.procedure_id)
    document = Document(case_id=case.id, title=title, kind=kind, document_date=new.document_date,
                        created_by=actor.principal.user_id, current_version=1,
                        procedure_id=procedure.id if procedure is not None else None)
    session.add(document)
    session.flush()
    version = _add_version_row(rt, session, actor, document, 1, staged, blob)
    audit.record(session, actor, "document.create", "document", document.id, case_id=case.id,
                 details={**({} if managed else {"title": title}), "kind": kind,
                          **_version_details(version, blob.created, managed=managed),
                          **({"procedure": procedure.reference} if procedure is not None else {})})
    _extract_after_commit(rt, session, version)
    indexing.document_changed(session, document.id)
    return Ingested(document, version, not blob.created)


@contextmanager
def stored_upload(rt: Runtime, upload: Upload) -> Iterator[tuple[Staged, BlobRef]]:
    """Stage and check the upload, then store it; the staged temp file lives until the block ends."""
    with staged_upload(rt, upload) as staged:
        yield staged, store_staged(rt, staged)


def add_version(rt: Runtime, actor: Actor, document_id: int, upload: Upload, *, guard: VersionGuard | None = None,
                then: VersionStep | None = None) -> Ingested:
    """The one path of every new version (API, web, CLI, check-in). `guard` adds a check of the caller's (run
    with the others, before any byte is stored and again under the row lock); `then` runs after the version's
    rows, in the same transaction (a check-in ends the check-out there)."""
    with rt.db.read() as session:  # fail fast, before any byte is stored
        document = versionable_document(rt, session, actor, document_id)
        if guard is not None:
            guard(document)
    with stored_upload(rt, upload) as (staged, blob):
        with rt.db.write() as session:
            # Again under the lock: a decision or a check-out may have come since.
            document = versionable_document(rt, session, actor, document_id, lock=True)
            if guard is not None:
                guard(document)
            number = document.current_version + 1
            version = _add_version_row(rt, session, actor, document, number, staged, blob)
            document.current_version = number
            audit.record(session, actor, "document.add_version", "document", document.id,
                         case_id=document.case_id, details=_version_details(
                             version, blob.created, managed=is_managed_kind(rt, document.case.case_type,
                                                                            document.kind)))
            if then is not None:
                then(session, document, version)
            _extract_after_commit(rt, session, version)
            indexing.document_changed(session, document.id)
    return Ingested(document, version, not blob.created)


def versionable_document(rt: Runtime, session: Session, actor: Actor, document_id: int, *,
                         lock: bool = False) -> Document:
    """The document, when `actor` may add a version to it now: they may change its case, the case is open, no
    decided step has fixed its kind, and nobody else has it checked out (CheckedOut, 409, naming the holder)."""
    document = _document_for_change(session, actor, document_id, lock=lock, registry=rt.registry)
    _require_versionable(rt, session, document)
    require_not_held_by_other(document, actor)
    return document


def allowed_kinds(rt: Runtime, case_type_key: str) -> tuple[DocumentKind, ...]:
    """The kinds of document a case of this type takes: those its type declares, else the generic one."""
    case_type = rt.registry.get(case_type_key)
    return (case_type.document_kinds if case_type is not None else ()) or GENERIC_KINDS


def require_allowed_kind(rt: Runtime, case: Case, kind: str | None, *, flow: bool = False) -> str:
    """`kind` when the case's type declares it and it may be filed this way; else Invalid naming the field and
    the kinds a plain upload takes. A `managed` kind only through its case type's own flow (`flow`): a warning
    in a personnel file must pass the hearing first."""
    kinds = allowed_kinds(rt, case.case_type)
    key = (kind or "").strip()
    declared = next((k for k in kinds if k.key == key), None)
    plain = [k for k in kinds if not k.managed]
    if declared is None or (declared.managed and not flow):
        allowed = [k.key for k in plain]
        if declared is not None:
            case_type = rt.registry.get(case.case_type)
            label_de = case_type.label_de if case_type is not None else case.case_type
            raise Invalid(f"kind: documents of kind {key!r} are filed through the own flow of case type "
                          f"{case.case_type!r}, not by a plain upload (allowed: {', '.join(allowed)})",
                          field="kind", allowed=allowed,
                          detail_de=f"Dokumente dieser Art ({declared.label_de}) werden über den eigenen Ablauf "
                                    f"der Aktenart {label_de} abgelegt, nicht über das Hochladen")
        raise Invalid(f"kind: {key!r} is not a document kind of case type {case.case_type!r} "
                      f"(allowed: {', '.join(allowed)})", field="kind", allowed=allowed,
                      detail_de=f"Diese Art von Dokument ist für diese Akte nicht vorgesehen; möglich sind: "
                                f"{', '.join(k.label_de for k in plain)}")
    return key


def is_managed_kind(rt: Runtime, case_type_key: str, kind: str) -> bool:
    """Filed only through its case type's own flow: its audit events name no title or file name, so that a later
    destruction leaves a record that something was removed, never what."""
    return any(k.key == kind and k.managed for k in allowed_kinds(rt, case_type_key))


def _extract_after_commit(rt: Runtime, session: Session, version: DocumentVersion) -> None:
    """After the commit, so the job finds its row; a lost enqueue is caught by extraction.requeue_stale."""
    if version.text_status == "pending":
        version_id = version.id
        after_commit(session, lambda: rt.jobs.extract_text(version_id))


def get_document(session: Session, actor: Actor, document_id: int, *, registry: Registry) -> Document:
    """A document the caller may see: its case visible, and not in a sub-file hidden from them."""
    return require_view_document(session, actor.principal, registry, session.get(Document, document_id))


def read_document(rt: Runtime, actor: Actor, document_id: int) -> Document:
    """A document with its versions (loaded with it), in a transaction of its own."""
    with rt.db.read() as session:
        return get_document(session, actor, document_id, registry=rt.registry)


def _visible_case_documents(rt: Runtime, session: Session, actor: Actor, case_id: int) -> list[Document]:
    case = require_view_case(actor.principal, session.get(Case, case_id))
    hidden = hidden_subfiles(session, actor.principal, rt.registry)
    return list(session.execute(select(Document).where(Document.case_id == case.id, visible_documents_filter(hidden))
                                .order_by(Document.id)).scalars())


def case_documents(rt: Runtime, actor: Actor, case_id: int) -> list[Document]:
    """The documents of a case the caller may see, oldest first."""
    with rt.db.read() as session:
        return _visible_case_documents(rt, session, actor, case_id)


def case_files(rt: Runtime, actor: Actor, case_id: int) -> tuple[list[Document], dict[int, str]]:
    """The documents of a case (oldest first, with all versions) and the user names of their uploaders (and of
    whoever has one checked out)."""
    with rt.db.read() as session:
        docs = _visible_case_documents(rt, session, actor, case_id)
        return docs, _usernames(session, _people(docs))


def recent_documents(rt: Runtime, actor: Actor, *, limit: int = 10) -> list[Document]:
    """The documents the caller filed last, in cases they may still see (the case list's visibility rule)."""
    with rt.db.read() as session:
        hidden = hidden_subfiles(session, actor.principal, rt.registry)
        query = (select(Document).join(Case, Case.id == Document.case_id)
                 .where(Document.created_by == actor.principal.user_id, visible_case_rows_filter(actor.principal),
                        visible_documents_filter(hidden))
                 .order_by(Document.created_at.desc(), Document.id.desc()).limit(limit))
        return list(session.execute(query).scalars())


def _people(docs: list[Document]) -> set[int]:
    """The users a list of documents names: their versions' uploaders and their check-outs' holders."""
    return ({v.uploaded_by for d in docs for v in d.versions}
            | {d.checked_out_by for d in docs if d.checked_out_by is not None})


def _usernames(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(sorted(ids)))).all())


def version_of(document: Document, number: int | None) -> DocumentVersion:
    """The given version of a document, or its current one."""
    number = number or document.current_version
    version = next((v for v in document.versions if v.number == number), None)
    if version is None:
        raise NotFound(f"document {document.id} has no version {number}",
                       detail_de=f"Dokument {document.id} hat keine Version {number}")
    return version


def open_content(rt: Runtime, actor: Actor, document_id: int, version_number: int | None = None, *,
                 via: str = "download") -> tuple[DocumentVersion, BinaryIO]:
    """Audit the download, then hand out a stream of the stored bytes; the caller closes it. A restricted
    case's read is traced in the same transaction (`via`: "download", or "inline" for a preview's frame)."""
    with rt.db.write() as session:
        document = get_document(session, actor, document_id, registry=rt.registry)
        version = version_of(document, version_number)
        number = version.number
        audit.record(session, actor, "document.download", "document", document.id, case_id=document.case_id,
                     details={"version": number, "sha256": version.sha256})
        reads.record_reads(session, rt.registry, actor, [reads.Read(document.case, "read.document", document.id,
                                                                    {"via": via, "version": number})])
    return version, rt.blobs.open(version.blob_key)


def iter_chunks(stream: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    while block := stream.read(chunk):
        yield block


# --- steps of an ingest -----------------------------------------------------------------------------------


@contextmanager
def staged_upload(rt: Runtime, upload: Upload) -> Iterator[Staged]:
    limit = rt.settings.ingest.max_size_mb * MIB
    fd, name = tempfile.mkstemp(prefix="upload-", dir=rt.tmp_dir)
    path = Path(name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while block := upload.stream.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise PayloadTooLarge(f"file is larger than the limit of {rt.settings.ingest.max_size_mb} MB",
                                          detail_de=f"Datei ist größer als {rt.settings.ingest.max_size_mb} MB")
                digest.update(block)
                out.write(block)
        if size == 0:
            raise Invalid("file is empty", detail_de="Datei ist leer", field="file")
        filename = safe_filename(upload.filename)
        mime = _checked_type(rt, path, upload.claimed_type, filename)
        yield Staged(path, digest.hexdigest(), size, mime, filename)
    finally:
        path.unlink(missing_ok=True)


def _checked_type(rt: Runtime, path: Path, claimed: str | None, filename: str) -> str:
    try:
        return verify_upload(path, claimed, filename, rt.settings.ingest.allowed_types)
    except FileTypeError as exc:
        raise UnsupportedFileType(exc.message, detail_de=exc.message_de,
                                  detected=getattr(exc, "detected", None)) from None


def store_staged(rt: Runtime, staged: Staged) -> BlobRef:
    with staged.path.open("rb") as fh:
        blob = rt.blobs.put(fh)
    if blob.sha256 != staged.sha256:  # the temp file changed under us: never record a wrong hash
        raise Conflict("the upload changed while it was stored; please retry")
    return blob


def _add_version_row(rt: Runtime, session: Session, actor: Actor, document: Document, number: int, staged: Staged,
                     blob: BlobRef) -> DocumentVersion:
    # The staged file is still there, so a blob gc removed after our put can be stored again.
    integrity.ensure_referenced_blob(rt, session, blob, lambda: staged.path.open("rb"))
    # Text comes later, from the extract_text job; types without text are settled here.
    status = "pending" if staged.mime_type in SUPPORTED_MIME_TYPES else "unsupported"
    version = DocumentVersion(
        number=number, blob_key=blob.key, sha256=staged.sha256, size=staged.size,
        mime_type=staged.mime_type, filename=staged.filename, uploaded_by=actor.principal.user_id,
        text_status=status)
    document.versions.append(version)
    session.flush()
    return version


def _version_details(version: DocumentVersion, stored_new: bool, *, managed: bool = False) -> dict[str, object]:
    """`managed`: a kind whose events name no file name (`is_managed_kind`)."""
    return {"version": version.number, "sha256": version.sha256, "size": version.size,
            "mime_type": version.mime_type, **({} if managed else {"filename": version.filename}),
            "deduplicated": not stored_new, "text_status": version.text_status}


def _open_case_for_change(session: Session, actor: Actor, case_id: int, procedure_id: int | None = None) -> Case:
    """The open case, when the caller may file documents at that place of it (`access.can_change_at`: a
    sub-file's own unit files into that sub-file)."""
    procedure = session.get(Procedure, procedure_id) if procedure_id is not None else None
    case = require_change_at(actor.principal, session.get(Case, case_id), procedure)
    if case.status != "open":
        raise Conflict(f"case {case.reference} is closed; no documents can be added",
                       detail_de=f"Akte {case.reference} ist geschlossen (z.d.A.)")
    return case


def _document_for_change(session: Session, actor: Actor, document_id: int, lock: bool = False, *,
                         registry: Registry) -> Document:
    document = require_view_document(session, actor.principal, registry,
                                     session.get(Document, document_id, with_for_update=lock or None))
    _open_case_for_change(session, actor, document.case_id, document.procedure_id)
    return document


def _require_versionable(rt: Runtime, session: Session, document: Document) -> None:
    """A document a decided step has fixed (e.g. the approved invoice) gets no new version, nor does one of a
    `managed` kind: its flow filed exactly what was heard (a warning and the statement on it), and a new version
    would replace it behind the hearing; a correction is a new item."""
    case_type = rt.registry.get(document.case.case_type)
    if is_managed_kind(rt, document.case.case_type, document.kind):
        raise Conflict(f"document {document.id} is of kind {document.kind!r}, filed through its case type's own "
                       "flow: it takes no new version", field="kind",
                       detail_de="Dieses Dokument wurde über den eigenen Ablauf der Aktenart abgelegt und erhält "
                                 "keine neue Version")
    if case_type is not None:
        approvals.require_new_version_allowed(session, case_type, document.case_id, document.kind)




def safe_filename(name: str | None) -> str:
    """The client's name without any directory part or control characters; never used as a path."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    return base[:255] or "upload"


def version_text(rt: Runtime, actor: Actor, document_id: int,
                 version_number: int | None = None) -> tuple[Document, DocumentVersion, str | None]:
    """The text extracted from the current (or the given) version, for a preview; None while there is none.
    A restricted case's read is traced (`read.document` via "preview")."""
    with rt.db.read() as session:
        document = get_document(session, actor, document_id, registry=rt.registry)
        version = version_of(document, version_number)
        row = session.get(ExtractedText, version.id)
        text = row.text if row is not None else None
    reads.log_read(rt, actor, document.case, "read.document", document.id,
                   details={"via": "preview", "version": version.number})
    return document, version, text


def document_with_uploaders(rt: Runtime, actor: Actor, document_id: int) -> tuple[Document, dict[int, str]]:
    """A document with its versions and the user names of their uploaders (and of its check-out's holder), for
    showing it: a restricted case's read is traced (`read.document` via "details": title, versions, names)."""
    with rt.db.read() as session:
        document = get_document(session, actor, document_id, registry=rt.registry)
        names = _usernames(session, _people([document]))
    reads.log_read(rt, actor, document.case, "read.document", document.id, details={"via": "details"})
    return document, names
