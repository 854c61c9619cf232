"""The index layout (`SCHEMA`, described in the package docstring) and what writing a document needs: its
fields, and deleting the committed copies of documents about to be rewritten."""
from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable

from whoosh import columns, fields  # type: ignore[import-untyped]
from whoosh.codec.whoosh3 import W3Codec, W3PostingsWriter, W3Segment  # type: ignore[import-untyped]
from whoosh import query as wq  # type: ignore[import-untyped]

from search import IndexedDocument
from search.analysis import _WORD
from search.whoosh_index.analyzers import (_META_ENTRY, _META_SEP, FoldedKeywordTokenizer, GermanTokenizer,
                                           MetadataTokenizer, PairsTokenizer)

WRITE_TIMEOUT = 120.0  # seconds to wait for another writer (e.g. a reindex in a worker process)
INDEX_NAME = "eakte"
SCHEMA_VERSION = "4"  # bump when the schema or the analysis changes: an index of another version is recreated
_VERSION_FILE = "eakte-schema-version"
WRITER_POOL_MB = 256  # whoosh's estimate of the postings a writer sorts in memory before it spills a run to disk
# (the real size is about 1.5x): 128 (its default) spilled about every 700 documents; 512 took a reindex near 1 GB


class _InliningPostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    """whoosh 2.7's postings writer, keeping a posting list of one posting in the term table ("inlined").

    whoosh means to (`inlinelimit`), but tests `len < inlinelimit` and then calls a method that does not exist
    (`set_inline`), so with its default of 1 it never does: every term of a new document got a block of its own
    in the postings file (pickled and zlib-compressed), half the time of writing a small segment. Its readers
    take either form (inlined postings through a ListMatcher), so segments written before stay readable."""

    def finish_postings(self):  # type: ignore[no-untyped-def]
        if self.written() or len(self) != 1:
            return super().finish_postings()
        terminfo, self._terminfo = self._terminfo, None
        terminfo.add_block(self)
        # A format without values (keywords) has none buffered; whoosh's ListMatcher then answers a str where
        # merging wants bytes.
        terminfo.set_inlined(self._ids, self._weights, self._values or [b""])
        return terminfo


class _Codec(W3Codec):  # type: ignore[misc]
    def postings_writer(self, dbfile, byteids=False):  # type: ignore[no-untyped-def]
        return _InliningPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                       compression=self._compression, inlinelimit=self._inlinelimit)

    def new_segment(self, storage, indexname):  # type: ignore[no-untyped-def]
        # The segment names whoosh's own codec, which is pickled into the index's table of contents and reads
        # both forms: the index does not depend on this class's name.
        return W3Segment(W3Codec(), indexname)


CODEC = _Codec()
_ANY_TEXT = ("text", "title", "case_title", "all")
_LENGTH_OF = {"text": "len_text", "title": "len_title", "case_title": "len_case_title", "all": "len_all",
              "text_pairs": "len_text"}
_FOLDED_KEYWORDS = ("reference", "file_plan_code", "mime_type", "procedure")
_EXACT_KEYWORDS = ("case_type", "unit", "status", "kind")
_NO_DATE = -(2**62)
_COLUMN_DEFAULT = 2**64 - 1  # whoosh's NumericColumn("Q") value for a document without a date


def _schema() -> fields.Schema:
    german = GermanTokenizer()
    folded = FoldedKeywordTokenizer()
    length = columns.NumericColumn("I", default=0)
    return fields.Schema(
        document_id=fields.ID(unique=True, sortable=True),
        case_id=fields.ID(sortable=True),
        text=fields.TEXT(analyzer=german, phrase=True),
        title=fields.TEXT(analyzer=german, phrase=True),
        case_title=fields.TEXT(analyzer=german, phrase=True),
        all=fields.TEXT(analyzer=german, phrase=True),
        text_pairs=fields.TEXT(analyzer=PairsTokenizer(), phrase=True),
        meta=fields.TEXT(analyzer=MetadataTokenizer(), phrase=True),
        reference=fields.ID(analyzer=folded),
        file_plan_code=fields.ID(analyzer=folded),
        mime_type=fields.ID(analyzer=folded),
        procedure=fields.ID(analyzer=folded),
        subfile=fields.ID(),  # for the access filter only (AccessFilter.hidden_subfiles), not a query field
        case_type=fields.ID(),
        unit=fields.ID(),
        status=fields.ID(),
        kind=fields.ID(),
        year=fields.ID(),
        created_at=fields.DATETIME(sortable=True),
        document_date=fields.DATETIME(sortable=True),
        len_text=fields.COLUMN(length),
        len_title=fields.COLUMN(length),
        len_case_title=fields.COLUMN(length),
        len_all=fields.COLUMN(length),
        body=fields.STORED(),
    )


SCHEMA = _schema()


def _words(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def _fields_of(doc: IndexedDocument) -> dict[str, object]:
    meta = {k: v for k, v in (doc.metadata or {}).items() if v not in (None, "")}
    catch_all = "\n".join(str(v) for v in (doc.reference, doc.file_plan_code, doc.kind, doc.case_type,
                                            doc.procedure, doc.procedure_title, *meta.values()) if v)
    text, title, case_title = doc.text or "", doc.title or "", doc.case_title or ""
    values: dict[str, object] = {
        "document_id": str(doc.document_id),
        "case_id": str(doc.case_id),
        "text": text, "title": title, "case_title": case_title, "all": catch_all, "text_pairs": text,
        "len_text": _words(text), "len_title": _words(title), "len_case_title": _words(case_title),
        "len_all": _words(catch_all),
        "body": zlib.compress(text.encode("utf-8"), 6),
    }
    if meta:
        values["meta"] = _META_ENTRY.join(f"{k}{_META_SEP}{v}" for k, v in meta.items())
    for name in ("reference", "file_plan_code", "mime_type", "case_type", "unit", "status", "kind", "procedure",
                 "subfile"):
        value = getattr(doc, name)
        if value:
            values[name] = str(value)
    if doc.created_at is not None:
        values["created_at"] = _naive(doc.created_at)
        values["year"] = str(doc.created_at.year)
    if doc.document_date is not None:
        values["document_date"] = dt.datetime.combine(doc.document_date, dt.time())
    return values


def _naive(value: dt.datetime) -> dt.datetime:
    """whoosh stores naive datetimes; an aware one is converted to UTC first."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value



def _delete_ids(writer, document_ids: Iterable[int], searcher=None) -> None:  # type: ignore[no-untyped-def]
    """Delete the committed documents with these ids, looked up with one searcher (whoosh's update_document
    and delete_by_term open a new reader on every segment for every document). `searcher`: an open searcher of
    exactly the writer's segments, used instead of opening every segment again."""
    if searcher is None:
        with writer.searcher() as own:
            _delete_found(writer, document_ids, own)
    else:
        _delete_found(writer, document_ids, searcher)


def _delete_found(writer, document_ids: Iterable[int], searcher) -> None:  # type: ignore[no-untyped-def]
    for document_id in document_ids:
        for docnum in searcher.docs_for_query(wq.Term("document_id", str(document_id)), for_deletion=True):
            writer.delete_document(docnum)

