"""Keeping the search index in step with the records: an outbox written in the record's own transaction, drained
in batches by a job; a full rebuild in bounded memory; a check that compares index and database."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, lazyload

from eakte.models import Case, Document, DocumentVersion, ExtractedText, Note, Procedure, SearchOutbox
from eakte.runtime import Runtime
from search import IndexedDocument

SEARCH_DIRTY = "eakte_search_dirty"  # the Runtime enqueues a drain after a commit that set this


def document_changed(session: Session, document_id: int) -> None:
    session.add(SearchOutbox(document_id=document_id))
    session.info[SEARCH_DIRTY] = True


def case_changed(session: Session, case_id: int) -> None:
    session.add(SearchOutbox(case_id=case_id))
    session.info[SEARCH_DIRTY] = True


# A note (Vermerk) is an index entry of its own, found and filtered by its case's fields like a document. Its key
# in the index (and in the outbox's document_id) is minus its id: the index's one key space holds both, and no
# document id is ever negative.
def note_key(note_id: int) -> int:
    return -note_id


def note_id_of(key: int) -> int | None:
    """The note an index key names, or None for a document's key."""
    return -key if key < 0 else None


def procedure_changed(session: Session, procedure_id: int) -> None:
    """The procedure's reference or title changed: its documents' and notes' entries carry them."""
    for document_id in session.execute(select(Document.id).where(Document.procedure_id == procedure_id)).scalars():
        document_changed(session, document_id)
    for note_id in session.execute(select(Note.id).where(Note.procedure_id == procedure_id)).scalars():
        note_changed(session, note_id)


def entry_name(key: int) -> str:
    """An index key as people read it: "document 12", "note 3"."""
    note_id = note_id_of(key)
    return f"note {note_id}" if note_id is not None else f"document {key}"


def note_changed(session: Session, note_id: int) -> None:
    session.add(SearchOutbox(document_id=note_key(note_id)))
    session.info[SEARCH_DIRTY] = True


def drain(rt: Runtime, batch: int | None = None) -> int:
    """Apply the outbox rows written before the call to the index; returns how many rows were applied.

    Rows written meanwhile are left to the drain that their own commit asks for: going on until the outbox is
    empty, a drain would commit the index for every few documents of a burst (each commit costs more than the
    documents it adds), where the next drain takes all of them in one commit.

    The rows are deleted in the same transaction that read them, after the index took the documents: a crash in
    between leaves them for the next run (indexing is an idempotent upsert), so nothing is lost.
    """
    size = batch or rt.settings.search.batch_size
    with rt.db.read() as session:
        upto = session.execute(select(func.max(SearchOutbox.id))).scalar()
    applied = 0
    while upto is not None:
        done = _drain_batch(rt, size, upto)
        applied += done
        if done < size:  # the rows up to `upto` are done (or locked by another drain, which does them)
            break
    return applied


def _drain_batch(rt: Runtime, size: int, upto: int) -> int:
    # PostgreSQL: rows stay locked (SKIP LOCKED lets other indexers take other rows) until they are deleted.
    # SQLite: read without the write lock, so uploads are not blocked while the index writes; deleting exactly
    # the rows read leaves any that arrived meanwhile for the next batch.
    with (rt.db.read() if rt.db.is_sqlite else rt.db.write()) as session:
        query = select(SearchOutbox).where(SearchOutbox.id <= upto).order_by(SearchOutbox.id).limit(size)
        if not rt.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).scalars().all()
        if not rows:
            return 0
        row_ids = [r.id for r in rows]
        doc_ids = {r.document_id for r in rows if r.document_id is not None}
        case_ids = {r.case_id for r in rows if r.case_id is not None}
        if case_ids:
            doc_ids |= set(session.execute(select(Document.id).where(Document.case_id.in_(case_ids))).scalars())
            doc_ids |= {note_key(n) for n in session.execute(select(Note.id).where(Note.case_id.in_(case_ids)))
                        .scalars()}
        # A document whose text is still being extracted is indexed when the extraction commits (it asks for
        # that whatever its outcome): indexing it now as well would index each new upload twice.
        waiting = _awaiting_text(session, doc_ids)
        docs = list(indexed_entries(session, sorted(doc_ids - waiting)))
        try:
            rt.search_index.index(docs)
            gone = doc_ids - waiting - {d.document_id for d in docs}
            if gone:
                rt.search_index.delete(sorted(gone))
        except Exception:
            session.rollback()
            _count_attempt(rt, row_ids)
            raise
        if rt.db.is_sqlite:
            session.rollback()
            with rt.db.write() as writer:
                writer.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))
        else:
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))
    return len(row_ids)


def _awaiting_text(session: Session, keys: set[int]) -> set[int]:
    """Those of the document keys whose current version's text extraction is pending."""
    ids = sorted(k for k in keys if k > 0)
    if not ids:
        return set()
    return set(session.execute(
        select(Document.id).join(DocumentVersion, (DocumentVersion.document_id == Document.id)
                                 & (DocumentVersion.number == Document.current_version))
        .where(Document.id.in_(ids), DocumentVersion.text_status == "pending")).scalars())


def _count_attempt(rt: Runtime, ids: list[int]) -> None:
    with rt.db.write() as session:
        session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids))
                        .values(attempts=SearchOutbox.attempts + 1))


def indexed_documents(session: Session, document_ids: Iterable[int]) -> Iterator[IndexedDocument]:
    """The index's view of documents: current version's text plus the case fields they are found by."""
    ids = list(document_ids)
    if not ids:
        return
    rows = session.execute(
        select(Document, DocumentVersion, ExtractedText.text, Procedure)
        .join(DocumentVersion, (DocumentVersion.document_id == Document.id)
              & (DocumentVersion.number == Document.current_version))
        .outerjoin(ExtractedText, ExtractedText.version_id == DocumentVersion.id)
        .outerjoin(Procedure, Procedure.id == Document.procedure_id)
        # Procedure.case is eagerly joined with an INNER join, which would drop every row without a procedure.
        .options(lazyload(Procedure.case))
        .where(Document.id.in_(ids))).all()
    for document, version, text, procedure in rows:
        yield IndexedDocument(
            document_id=document.id, **_case_fields(document.case), title=document.title, kind=document.kind,
            mime_type=version.mime_type, text=text or "", document_date=document.document_date,
            created_at=document.created_at, **procedure_fields(document.case, procedure))


def procedure_fields(case: Case, procedure: Procedure | None) -> dict[str, str]:
    """The fields of an index entry from its procedure/sub-file: found by its reference and title; a sub-file's
    entries carry `<case type>/<key>`, which the access filter hides from whoever may not see that sub-file."""
    if procedure is None:
        return {}
    return {"procedure": procedure.reference, "procedure_title": procedure.title,
            "subfile": f"{case.case_type}/{procedure.subfile}" if procedure.subfile else ""}


def _case_fields(case: Case) -> dict[str, Any]:
    """The fields of an index entry that come from its case: documents and notes are found, faceted and access-
    filtered by the same ones."""
    return {"case_id": case.id, "reference": case.reference, "case_title": case.title, "case_type": case.case_type,
            "unit": case.unit.code, "file_plan_code": case.file_plan_node.code, "status": case.status,
            "metadata": {k: _as_text(v) for k, v in case.metadata_.items() if k != "checks"}}


NOTE_KIND = "note"  # the index entry's kind (facet and `kind:note`)


def indexed_notes(session: Session, note_ids: Iterable[int]) -> Iterator[IndexedDocument]:
    """The index's view of notes (keyed by `note_key`): the note's text plus its case's and procedure's fields
    (a note in a sub-file is hidden from whoever may not see the sub-file, as its documents are)."""
    ids = list(note_ids)
    if not ids:
        return
    for note, case, procedure in session.execute(
            select(Note, Case, Procedure).join(Case, Case.id == Note.case_id)
            .outerjoin(Procedure, Procedure.id == Note.procedure_id).options(lazyload(Procedure.case))
            .where(Note.id.in_(ids))).all():
        yield IndexedDocument(
            document_id=note_key(note.id), **_case_fields(case), title="", kind=NOTE_KIND, mime_type="text/plain",
            text=note.text, document_date=note.noted_on, created_at=note.created_at,
            **procedure_fields(case, procedure))


def indexed_entries(session: Session, keys: Iterable[int]) -> Iterator[IndexedDocument]:
    """Documents and notes by their index keys."""
    keys = list(keys)
    yield from indexed_documents(session, [k for k in keys if k > 0])
    yield from indexed_notes(session, [n for k in keys if (n := note_id_of(k)) is not None])


def _stored_keys(session: Session) -> set[int]:
    """Every key the index should hold: documents' ids and notes' keys."""
    return set(session.execute(select(Document.id)).scalars()) | {
        note_key(n) for n in session.execute(select(Note.id)).scalars()}


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_as_text(v) for v in value.values())
    return "" if value is None else str(value)


REINDEX_CHUNK = 10_000  # documents per commit: whoosh writes one segment per commit and leaves segments this
# large unmerged (its MERGE_SMALL policy), so a rebuild writes every posting once; 1,000 made it merge again and
# again and halved the rate at 100,000 documents. Memory stays bounded: whoosh's writer spills to disk.


def reindex(rt: Runtime, chunk: int = REINDEX_CHUNK, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the whole index from the database, a chunk at a time (bounded memory, chunked commits).

    Every document is written again (an upsert), then what the index holds beyond the database is removed: the
    index is never empty meanwhile, so searches go on finding everything during a rebuild."""
    done = 0
    sources: tuple[tuple[type[Document] | type[Note], Callable[[Session, list[int]], Iterator[IndexedDocument]]],
                   ...] = ((Document, indexed_documents), (Note, indexed_notes))
    for model, entries in sources:
        last_id = 0
        while True:
            with rt.db.read() as session:
                ids = list(session.execute(select(model.id).where(model.id > last_id).order_by(model.id)
                                           .limit(chunk)).scalars())
                if not ids:
                    break
                rt.search_index.index(list(entries(session, ids)))
            last_id = ids[-1]
            done += len(ids)
            if progress:
                progress(len(ids))
    with rt.db.read() as session:
        stored = _stored_keys(session)
    stale = sorted(set(rt.search_index.document_ids()) - stored)
    if stale:
        rt.search_index.delete(stale)
    return done


@dataclass(frozen=True)
class CheckReport:
    in_database: int
    in_index: int
    missing: list[int]  # in the database, not in the index
    stale: list[int]  # in the index, no longer in the database
    pending: int  # outbox rows not yet applied
    awaiting_text: int = 0  # new documents the index takes once their text is extracted (not missing)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.stale


def check(rt: Runtime) -> CheckReport:
    indexed = set(rt.search_index.document_ids())
    with rt.db.read() as session:
        stored = _stored_keys(session)
        pending = session.execute(select(func.count()).select_from(SearchOutbox)).scalar_one()
        awaiting = _awaiting_text(session, stored - indexed)
    return CheckReport(len(stored), len(indexed), sorted(stored - indexed - awaiting), sorted(indexed - stored),
                       pending, len(awaiting))


