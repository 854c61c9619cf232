"""The embedded search backend: whoosh (the original `Whoosh` 2.7.4, pinned) for storage, with the query
evaluated in bulk over each segment's posting lists.

Layout of one indexed document (`SCHEMA`):

- ``text``, ``title``, ``case_title``: the German analyzer (`search.analysis`), with positions;
  ``all``: a catch-all text field with the reference, file-plan code, kind, case type and the metadata values.
  A word without a field searches all four (ranking weights: title 2, case title 1.5, text and all 1).
- ``text_pairs``: every pair of adjacent terms of ``text`` of which one is a stop word (``"antrag auf"``,
  ``"der anordnung"``), as one term with positions ("common grams"): a phrase's pairs with a stop word are
  looked up as such, its other words as words, so no phrase has to compare the positions of a stop word, which
  occurs in nearly every document. Pairs of two ordinary words are not indexed: there are tens of millions of
  them in 100,000 documents, and whoosh's writer spends its time on distinct terms (indexing was 5x slower).
- ``reference``, ``file_plan_code``, ``mime_type``: one folded keyword each (``reference:20.30/0042/2026``).
- ``case_type``, ``unit``, ``status``, ``kind``, ``year``: exact keywords; filters, the access filter and the
  facets use them. A ``unit:fb20`` in a query matches the indexed values that fold to the same.
- ``meta``: metadata as ``name:term`` tokens (value analyzed like text), for ``meta.<name>:value``.
- ``created_at``, ``document_date``: DATETIME with columns; ``document_id`` (the update key) and ``case_id``
  keywords with columns; ``len_*``: word counts per text field (for BM25); ``body``: the text, stored
  zlib-compressed, for snippets.

How a search runs. The query (`search.ast`) is analysed once into a plan; then, for each segment, the plan
is evaluated with set operations on whole posting lists (decoded block by block and cached), never document by
document through whoosh's matchers: the access filter and the filters give the set of documents the caller may
see, the query the set it matches, their intersection is exactly what counts. So the total is exact, the facets
are counted over exactly that set (per-segment arrays of facet values, built once per immutable segment), and
nothing outside the caller's view is ever scored, counted or shown. Relevance is BM25 over the query's positive
terms, computed for the matching documents only; date order uses the creation dates. Snippets are made for the
page's hits only.

Why not whoosh's own query execution: its matchers step through documents one by one in Python (too slow for
exact totals and facets over 100,000 documents), and in compound queries its top-N optimisations lose hits
(`RequireMatcher` returns documents outside the restriction; `replace()`/block-quality skipping drop the best
documents of ``a -b`` and ``(a b) OR c`` queries) in 2.7.4 and in the whoosh-reloaded/whoosh3 forks alike.

Concurrency: whoosh's file lock lets one writer at a time work on the index, across processes; writes wait up
to `WRITE_TIMEOUT` seconds for it. Searches share one searcher, one at a time (they are CPU-bound Python, so
threads would not run them in parallel anyway); it is refreshed before every search when the index has changed
(one directory listing), so a document is found by the first search after its write, from any process.
Segments are written as separate files, not whoosh's compound files (which whoosh 2.7.4 and its forks copy
into memory whole while a reader is open).
"""
from __future__ import annotations

import datetime as dt
import heapq
import logging
import math
import pickle
import threading
import zlib
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any, Union

from whoosh import columns, fields, formats  # type: ignore[import-untyped]
from whoosh import index as whoosh_index  # type: ignore[import-untyped]
from whoosh import query as wq  # type: ignore[import-untyped]
from whoosh.analysis import Token, Tokenizer  # type: ignore[import-untyped]
from whoosh.matching.wrappers import FilterMatcher  # type: ignore[import-untyped]
from whoosh.reading import TermNotFound  # type: ignore[import-untyped]
from whoosh.system import _INT_SIZE  # type: ignore[import-untyped]
from whoosh.util.times import datetime_to_long  # type: ignore[import-untyped]
from whoosh.writing import CLEAR  # type: ignore[import-untyped]

from search import FACETS, AccessFilter, Filters, Hit, IndexedDocument, Page, QueryError, SearchRequest
from search.analysis import _WORD, fold, is_common, prefix_term, query_terms, query_word_terms, word_terms
from search.ast import DATE_FIELDS, TEXT_FIELDS, And, DateRange, MatchAll, Node, Not, Or, Phrase, Term
from search.snippets import highlight_terms, make_snippet

log = logging.getLogger(__name__)

WRITE_TIMEOUT = 120.0  # seconds to wait for another writer (e.g. a reindex in a worker process)
INDEX_NAME = "eakte"
SCHEMA_VERSION = "3"  # bump when the schema or the analysis changes: an index of another version is recreated
_VERSION_FILE = "eakte-schema-version"
_META_GAP = 100  # positions between two metadata values, so phrases do not run from one into the next
MAX_PREFIX_TERMS = 5000  # a prefix expanding to more words than this (per field and segment) is refused
WRITER_POOL_MB = 256  # whoosh's estimate of the postings a writer sorts in memory before it spills a run to disk
# (the real size is about 1.5x): 128 (its default) spilled about every 700 documents; 512 took a reindex near 1 GB
POSTINGS_CACHE = 8_000_000  # decoded postings kept across searches (about 8 bytes each)
K1, B = 1.2, 0.75  # BM25
FIELD_WEIGHTS = {"text": 1.0, "title": 2.0, "case_title": 1.5, "all": 1.0}
_ANY_TEXT = ("text", "title", "case_title", "all")
_LENGTH_OF = {"text": "len_text", "title": "len_title", "case_title": "len_case_title", "all": "len_all",
              "text_pairs": "len_text"}
_FOLDED_KEYWORDS = ("reference", "file_plan_code", "mime_type")
_EXACT_KEYWORDS = ("case_type", "unit", "status", "kind")
_NONE = -1
_NO_DATE = -(2**62)
_COLUMN_DEFAULT = 2**64 - 1  # whoosh's NumericColumn("Q") value for a document without a date


# --- analysis for whoosh ------------------------------------------------------------------------------------------


class GermanTokenizer(Tokenizer):
    """The German analysis of `search.analysis` as a whoosh analyzer: index mode adds compound parts at the
    word's position; query mode yields one stem per word."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        query = mode == "query"
        for pos, m in enumerate(_WORD.finditer(value), start_pos):
            word = m.group()
            terms = (query_word_terms(word),) if query else word_terms(word)
            for term in terms:
                t.text = term
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = word
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + m.start(), start_char + m.end()
                yield t


class FoldedKeywordTokenizer(Tokenizer):
    """The whole value as one folded token (reference, file-plan code, MIME type)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.text = fold(value.strip())
        t.boost = 1.0
        if keeporiginal:
            t.original = value
        if positions:
            t.pos = start_pos
        if chars:
            t.startchar, t.endchar = start_char, start_char + len(value)
        yield t


_META_SEP, _META_ENTRY = "\x1f", "\x1e"


class MetadataTokenizer(Tokenizer):
    """``name\\x1fvalue\\x1e…`` → ``name:term`` tokens (the value analyzed like text, the name folded)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for entry in value.split(_META_ENTRY):
            if _META_SEP not in entry:
                continue
            name, text = entry.split(_META_SEP, 1)
            prefix = fold(name.strip()) + ":"
            for m in _WORD.finditer(text):
                for term in word_terms(m.group()):
                    t.text = prefix + term
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = pos
                    if chars:
                        t.startchar, t.endchar = start_char, start_char
                    yield t
                pos += 1
            pos += _META_GAP




class PairsTokenizer(Tokenizer):
    """Adjacent term pairs of a text in which one term is a stop word (``"frist der"``), every term of a word with
    every term of the next; a pair's position is its first word's."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        previous: tuple[tuple[str, bool], ...] = ()
        for pos, m in enumerate(_WORD.finditer(value), start_pos):
            current = tuple((term, is_common(term)) for term in word_terms(m.group()))
            for a, a_common in previous:
                for b, b_common in current:
                    if not (a_common or b_common):
                        continue
                    t.text = f"{a} {b}"
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = pos - 1
                    if chars:
                        t.startchar, t.endchar = start_char, start_char
                    yield t
            previous = current


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
                                            *meta.values()) if v)
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
    for name in ("reference", "file_plan_code", "mime_type", "case_type", "unit", "status", "kind"):
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


# --- per-segment arrays -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SegmentData:
    """What a segment says about each of its documents, by local document number (segments never change)."""

    document_ids: array
    case_ids: array
    dates: dict[str, array]  # created_at / document_date -> raw whoosh long, _NO_DATE when missing
    facets: dict[str, tuple[list[str], array]]  # facet -> (values, value index or _NONE)
    facet_totals: dict[str, Counter[int]]  # facet -> value index -> documents (deleted ones included)
    lengths: dict[str, array]  # len_* column -> words
    length_sums: dict[str, int]


def _segment_data(reader) -> _SegmentData:  # type: ignore[no-untyped-def]
    n = reader.doc_count_all()
    facets: dict[str, tuple[list[str], array]] = {}
    for name in FACETS:
        values = list(reader.field_terms(name))
        ords = array("i", [_NONE]) * n
        for i, value in enumerate(values):
            ids, _ = _decode_postings(reader, name, value)
            for docnum in ids:
                ords[docnum] = i
        facets[name] = (values, ords)

    def column(name: str, translate: bool = True) -> list:  # type: ignore[type-arg]
        return list(reader.column_reader(name, translate=translate)) if reader.has_column(name) else [None] * n

    dates = {name: array("q", (_NO_DATE if v in (None, _COLUMN_DEFAULT) else v
                               for v in column(name, translate=False))) for name in DATE_FIELDS}
    lengths = {name: array("I", (v or 0 for v in column(name))) for name in set(_LENGTH_OF.values())}
    return _SegmentData(document_ids=array("q", (int(v) if v else 0 for v in column("document_id"))),
                        case_ids=array("q", (int(v) if v else 0 for v in column("case_id"))),
                        dates=dates, facets=facets, lengths=lengths,
                        facet_totals={name: Counter(ords) for name, (_, ords) in facets.items()},
                        length_sums={name: sum(values) for name, values in lengths.items()})


_EMPTY = (array("I"), array("f"))


def _raw_matcher(reader, field: str, term: str):  # type: ignore[no-untyped-def]
    try:
        m = reader.postings(field, term)
    except TermNotFound:
        return None
    return m.child if isinstance(m, FilterMatcher) else m  # deletions are taken out by the caller


def _decode_postings(reader, field: str, term: str) -> tuple[array, array]:  # type: ignore[no-untyped-def]
    """All (document number, term frequency) postings of a term in one segment, deleted documents included.

    Whole blocks at a time from whoosh 2.7's W3LeafMatcher; any other matcher one posting at a time."""
    m = _raw_matcher(reader, field, term)
    if m is None or not m.is_active():
        return _EMPTY
    ids, tfs = array("I"), array("f")
    if all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_next_block", "_atend", "_ids", "_weights")):
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            ids.extend(m._ids)
            tfs.extend(m._weights)
            m._next_block()
    else:
        while m.is_active():
            ids.append(m.id())
            tfs.append(m.weight())
            m.next()
    return ids, tfs


def _decode_positions(value: bytes) -> list[int]:
    """whoosh 2.7's `Positions.decode_positions` (a count, then the pickled deltas without pickle's final STOP),
    without its per-call overhead: it spent two thirds of its time building ``b"."`` (``compat.b``)."""
    if not value.endswith(b"."):
        value += b"."
    return list(accumulate(pickle.loads(value[_INT_SIZE:])))


def _positions(reader, field: str, term: str, wanted: set[int]) -> dict[int, frozenset[int]]:  # type: ignore[no-untyped-def]
    """Positions of a term in the `wanted` documents of one segment."""
    m = _raw_matcher(reader, field, term)
    out: dict[int, frozenset[int]] = {}
    if m is None:
        return out
    fmt = reader.schema[field].format
    decode = _decode_positions if type(fmt) is formats.Positions else fmt.decode_positions
    if all(hasattr(m, a) for a in ("_read_ids", "_read_values", "_next_block", "_ids", "_values")):
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            hits = [(i, d) for i, d in enumerate(m._ids) if d in wanted]
            if hits:
                if m._values is None:
                    m._read_values()
                for i, d in hits:
                    out[d] = frozenset(decode(m._values[i]))
            m._next_block()
    else:
        while m.is_active():
            if m.id() in wanted:
                out[m.id()] = frozenset(m.value_as("positions"))
            m.next()
    return out


_Unit = tuple[str, str, int]  # (field, term, offset from the phrase's first word)


def _phrase_units(field: str, terms: tuple[str, ...]) -> list[_Unit]:
    """What a phrase is looked up by. In ``text``: each adjacent pair with a stop word as a ``text_pairs`` term,
    each word not in such a pair as a ``text`` term; in other fields: its words."""
    if field != "text":
        return list(dict.fromkeys((field, t, i) for i, t in enumerate(terms)))
    units: list[_Unit] = []
    paired: set[int] = set()
    for i, (a, b) in enumerate(zip(terms, terms[1:])):
        if is_common(a) or is_common(b):
            units.append(("text_pairs", f"{a} {b}", i))
            paired.update((i, i + 1))
    units += [("text", t, i) for i, t in enumerate(terms) if i not in paired]
    return list(dict.fromkeys(units))


def _delete_ids(writer, document_ids: Iterable[int]) -> None:  # type: ignore[no-untyped-def]
    """Delete the committed documents with these ids, looked up with one searcher (whoosh's update_document
    and delete_by_term open a new reader on every segment for every document)."""
    with writer.searcher() as searcher:
        for document_id in document_ids:
            for docnum in searcher.docs_for_query(wq.Term("document_id", str(document_id)), for_deletion=True):
                writer.delete_document(docnum)


def _deleted(reader) -> frozenset[int]:  # type: ignore[no-untyped-def]
    if not reader.has_deletions():
        return frozenset()
    segment = reader.segment() if reader.is_atomic() else None
    if segment is not None and hasattr(segment, "deleted_docs"):
        return frozenset(segment.deleted_docs())
    return frozenset(d for d in range(reader.doc_count_all()) if reader.is_deleted(d))


def _segment_id(reader) -> str | None:  # type: ignore[no-untyped-def]
    segment = reader.segment() if reader.is_atomic() else None
    return segment.segment_id() if segment is not None else None


# --- the index ----------------------------------------------------------------------------------------------------


class WhooshIndex:
    """`search.SearchIndex` on a whoosh index in the directory `path` (created when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        # One searcher, used by one search at a time: searches are CPU-bound Python (the GIL serialises them
        # anyway), and a searcher per thread would hold a set of open files per thread.
        self._search_lock = threading.RLock()
        self._current = None
        self._segments: dict[str, _SegmentData] = {}
        self._cache_lock = threading.Lock()
        self._postings: OrderedDict[tuple[str, str, str], tuple[array, array]] = OrderedDict()
        self._postings_size = 0
        self._ix = self._open()

    def _open(self):  # type: ignore[no-untyped-def]
        version_file = self.path / _VERSION_FILE
        version = version_file.read_text().strip() if version_file.exists() else None
        if whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
            if version == SCHEMA_VERSION:
                return whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            log.warning("search index at %s has another layout (%s, now %s): recreated empty, run a reindex",
                        self.path, version, SCHEMA_VERSION)
        ix = whoosh_index.create_in(str(self.path), SCHEMA, indexname=INDEX_NAME)
        version_file.write_text(SCHEMA_VERSION + "\n")
        return ix

    # writing -----------------------------------------------------------------------------------------------------

    def _writer(self):  # type: ignore[no-untyped-def]
        # compound=False: whoosh reads a compound segment file through BytesIO(memoryview(mmap)), which copies
        # every part of the segment into memory for as long as a reader has it open (the whole index, for each
        # open searcher); separate files are read with seek/read instead.
        return self._ix.writer(timeout=WRITE_TIMEOUT, delay=0.05, compound=False, limitmb=WRITER_POOL_MB)

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        latest = {doc.document_id: doc for doc in docs}  # within one call, the last version of a document wins
        if not latest:
            return
        with self._write_lock:
            writer = self._writer()
            try:
                _delete_ids(writer, latest)
                for doc in latest.values():
                    writer.add_document(**_fields_of(doc))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        self._warm()

    def delete(self, document_ids: Iterable[int]) -> None:
        ids = set(document_ids)
        if not ids:
            return
        with self._write_lock:
            writer = self._writer()
            try:
                _delete_ids(writer, ids)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        self._warm()

    def clear(self) -> None:
        with self._write_lock:
            self._writer().commit(mergetype=CLEAR)
        self._warm()

    def _warm(self) -> None:
        """Open the new searcher and build the arrays of new segments now, not in the next user's search."""
        with self._search_lock:
            searcher = self._searcher()
            for leaf, _ in searcher.leaf_searchers():
                self._data(leaf.reader())

    # reading -----------------------------------------------------------------------------------------------------

    def _searcher(self):  # type: ignore[no-untyped-def]
        """The current searcher, refreshed when the index changed (callers hold _search_lock)."""
        searcher = self._current
        if searcher is None:
            searcher = self._current = self._ix.searcher()
        elif not searcher.up_to_date():
            searcher = self._current = searcher.refresh()  # closes the readers of segments that are gone
            self._forget_old_segments(searcher)
        return searcher

    def _forget_old_segments(self, searcher) -> None:  # type: ignore[no-untyped-def]
        live = {_segment_id(leaf.reader()) for leaf, _ in searcher.leaf_searchers()}
        with self._cache_lock:
            for segid in [s for s in self._segments if s not in live]:
                del self._segments[segid]
            for key in [k for k in self._postings if k[0] not in live]:
                self._postings_size -= len(self._postings.pop(key)[0])

    def _data(self, reader) -> _SegmentData:  # type: ignore[no-untyped-def]
        segid = _segment_id(reader)
        if segid is None:  # an empty index
            return _segment_data(reader)
        data = self._segments.get(segid)
        if data is None:
            data = _segment_data(reader)
            with self._cache_lock:
                self._segments[segid] = data
        return data

    def _cached_postings(self, segid: str | None, reader, field: str, term: str) -> tuple[array, array]:  # type: ignore[no-untyped-def]
        key = (segid or "", field, term)
        with self._cache_lock:
            hit = self._postings.get(key)
            if hit is not None:
                self._postings.move_to_end(key)
                return hit
        value = _decode_postings(reader, field, term)
        if segid is not None and len(value[0]) >= 64:  # short lists are cheaper to read than to keep
            with self._cache_lock:
                if key not in self._postings:
                    self._postings[key] = value
                    self._postings_size += len(value[0])
                    while self._postings_size > POSTINGS_CACHE and self._postings:
                        _, old = self._postings.popitem(last=False)
                        self._postings_size -= len(old[0])
        return value

    def document_ids(self) -> list[int]:
        with self._search_lock:
            searcher = self._searcher()
            ids: list[int] = []
            for leaf, _ in searcher.leaf_searchers():
                reader = leaf.reader()
                data = self._data(reader)
                ids.extend(data.document_ids[d] for d in reader.all_doc_ids())
            return ids

    def close(self) -> None:
        with self._search_lock:
            if self._current is not None:
                self._current.close()
                self._current = None
            self._ix.close()

    # searching ---------------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> Page:
        with self._search_lock:
            return self._search(request)

    def _search(self, request: SearchRequest) -> Page:
        searcher = self._searcher()
        plan = _Planner().plan(request.query)
        segments = [_Segment(self, leaf.reader(), offset) for leaf, offset in searcher.leaf_searchers()]
        stats = _Stats(searcher, segments)

        matched: list[tuple[_Segment, set[int]]] = []
        for seg in segments:
            docs = seg.visible(request.access, request.filters)
            seg.scope = docs
            if docs:
                docs &= seg.evaluate(plan) if plan is not _ALL else docs
            if docs:
                matched.append((seg, docs))
        total = sum(len(docs) for _, docs in matched)

        facets: dict[str, dict[str, int]] = {}
        if request.facets:
            merged: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
            for seg, docs in matched:
                for name, counts in seg.facet_counts(docs).items():
                    values = seg.data.facets[name][0]
                    for ordinal, count in counts.items():
                        if ordinal != _NONE and count:
                            merged[name][values[ordinal]] += count
            facets = {name: dict(sorted(merged[name].items(), key=lambda kv: (-kv[1], kv[0]))) for name in FACETS}

        offset, limit = max(request.offset, 0), max(request.limit, 0)
        page: list[tuple[_Segment, int, float]] = []
        if total and limit and offset < total:
            wanted = offset + limit
            scoring = _scoring_leaves(plan)
            best: list[tuple[float, int, int, int, _Segment]] = []
            for seg, docs in matched:
                if request.sort == "relevance" and scoring:
                    scores = seg.score(docs, scoring, stats)
                    top = heapq.nlargest(wanted, scores.items(), key=itemgetter(1))
                    created, ids = seg.data.dates["created_at"], seg.data.document_ids
                    best.extend((score, created[d], ids[d], d, seg) for d, score in top)
                else:
                    created, ids = seg.data.dates["created_at"], seg.data.document_ids
                    newest = heapq.nlargest(wanted, docs, key=created.__getitem__)
                    if len(newest) == wanted:  # take all documents of the last date in, for the tie-break by id
                        edge = created[newest[-1]]
                        newest = [d for d in newest if created[d] > edge] + [d for d in docs if created[d] == edge]
                    best.extend((0.0, created[d], ids[d], d, seg) for d in newest)
            ranked = heapq.nlargest(wanted, best, key=lambda t: (t[0], t[1], t[2]))
            page = [(seg, d, score) for score, _, _, d, seg in ranked[offset:wanted]]

        wanted_terms = highlight_terms(request.query)
        hits: list[Hit] = []
        for seg, d, score in page:
            body = seg.reader.stored_fields(d).get("body")
            text = zlib.decompress(body).decode("utf-8") if body else ""
            hits.append(Hit(document_id=seg.data.document_ids[d], case_id=seg.data.case_ids[d], score=score,
                            snippet=make_snippet(text, wanted_terms)))
        return Page(hits=hits, total=total, facets=facets)


# --- plans: the query, analysed once ------------------------------------------------------------------------------


class _All:
    def __repr__(self) -> str:
        return "ALL"


_ALL = _All()  # every document


@dataclass(frozen=True, eq=False)
class _Words:
    """One analysed term in any of `fields` (a word), or a phrase of terms."""
    fields: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Prefix:
    fields: tuple[str, ...]
    prefix: str  # folded, with the meta tag if any
    before: tuple[str, ...] = ()  # whole terms before the prefix ("20.30/00*")


@dataclass(frozen=True, eq=False)
class _Keyword:
    field: str
    value: str  # folded
    prefix: bool
    exact: bool  # the indexed values are exact (match them after folding), else folded


@dataclass(frozen=True, eq=False)
class _Dates:
    field: str
    low: int | None
    high: int | None


@dataclass(frozen=True, eq=False)
class _And:
    must: tuple[_Plan, ...]
    must_not: tuple[_Plan, ...] = ()


@dataclass(frozen=True, eq=False)
class _Or:
    items: tuple[_Plan, ...]


_NOTHING = _Or(())
_Plan = Union[_All, _Words, _Prefix, _Keyword, _Dates, _And, _Or]


class _Planner:
    def plan(self, node: Node) -> _Plan:
        if isinstance(node, MatchAll):
            return _ALL
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, DateRange):
            if node.field not in DATE_FIELDS:
                raise QueryError(f"'{node.field}' is not a date field", f"'{node.field}' ist kein Datumsfeld")
            low = datetime_to_long(dt.datetime.combine(node.start, dt.time.min)) if node.start else None
            high = datetime_to_long(dt.datetime.combine(node.end, dt.time.max)) if node.end else None
            return _Dates(node.field, low, high)
        if isinstance(node, Not):
            return _And((_ALL,), (self.plan(node.item),))
        if isinstance(node, And):
            must = tuple(self.plan(i) for i in node.items if not isinstance(i, Not))
            must_not = tuple(self.plan(i.item) for i in node.items if isinstance(i, Not))
            return _And(tuple(p for p in must if p is not _ALL) or (_ALL,), must_not)
        if isinstance(node, Or):
            items = tuple(self.plan(i) for i in node.items)
            return _ALL if any(p is _ALL for p in items) else _Or(items)
        raise QueryError(f"Unsupported query part {node!r}", f"Nicht unterstützter Teil der Suchanfrage {node!r}")

    @staticmethod
    def _text_fields(field: str | None) -> tuple[str, ...]:
        if field is None:
            return _ANY_TEXT
        if field in TEXT_FIELDS:
            return (field,)
        raise QueryError(f"Unknown field '{field}'", f"Unbekanntes Feld '{field}'")

    def term(self, node: Term) -> _Plan:
        field = node.field
        if field is None or field in TEXT_FIELDS:
            return self._text(self._text_fields(field), node.text, node.prefix, "")
        if field.startswith("meta."):
            return self._text(("meta",), node.text, node.prefix, fold(field[5:].strip()) + ":")
        if field in _FOLDED_KEYWORDS or field in _EXACT_KEYWORDS:
            value = fold(" ".join(node.text.split()))
            if not value:
                return _NOTHING
            return _Keyword(field, value, node.prefix, field in _EXACT_KEYWORDS)
        if field in DATE_FIELDS:
            raise QueryError(f"'{field}' needs a date", f"'{field}' braucht ein Datum")
        raise QueryError(f"Unknown field '{field}'", f"Unbekanntes Feld '{field}'")

    @staticmethod
    def _text(names: tuple[str, ...], text: str, prefix: bool, tag: str) -> _Plan:
        terms = tuple(tag + t for t in query_terms(text))
        if not prefix:
            return _Words(names, terms) if terms else _NOTHING
        start = prefix_term(text)
        return _Prefix(names, tag + start, terms[:-1]) if start else _NOTHING

    def phrase(self, node: Phrase) -> _Plan:
        field = node.field
        if field is not None and (field in _FOLDED_KEYWORDS or field in _EXACT_KEYWORDS):
            return self.term(Term(" ".join(node.words), field))
        if field is not None and field.startswith("meta."):
            tag = fold(field[5:].strip()) + ":"
            terms = tuple(tag + t for w in node.words for t in query_terms(w))
            return _Words(("meta",), terms) if terms else _NOTHING
        if field in DATE_FIELDS:
            raise QueryError(f"'{field}' needs a date", f"'{field}' braucht ein Datum")
        terms = tuple(t for w in node.words for t in query_terms(w))
        return _Words(self._text_fields(field), terms) if terms else _NOTHING


def _scoring_leaves(plan: _Plan) -> list[_Plan]:
    """The plan's positive word, phrase and prefix parts (those under a NOT do not score)."""
    out: list[_Plan] = []

    def walk(p: _Plan) -> None:
        if isinstance(p, (_Words, _Prefix)):
            out.append(p)
        elif isinstance(p, _And):
            for item in p.must:
                walk(item)
        elif isinstance(p, _Or):
            for item in p.items:
                walk(item)

    walk(plan)
    return out


# --- evaluation per segment ---------------------------------------------------------------------------------------


class _Stats:
    """Index-wide statistics for BM25: document count, average lengths, document frequencies."""

    def __init__(self, searcher, segments: list[_Segment]) -> None:  # type: ignore[no-untyped-def]
        self.searcher = searcher
        self.n = max(sum(seg.n for seg in segments), 1)
        self.avg = {name: max(sum(seg.data.length_sums[name] for seg in segments) / self.n, 1.0)
                    for name in set(_LENGTH_OF.values())}
        self._idf: dict[tuple[str, str], float] = {}

    def idf(self, field: str, term: str) -> float:
        key = (field, term)
        value = self._idf.get(key)
        if value is None:
            df = self.searcher.doc_frequency(field, term)
            value = self._idf[key] = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
        return value


@dataclass(eq=False)
class _Segment:
    index: WhooshIndex
    reader: Any
    offset: int
    data: _SegmentData = dc_field(init=False)
    segid: str | None = dc_field(init=False)
    n: int = dc_field(init=False)
    deleted: frozenset[int] = dc_field(init=False)
    memo: dict[int, set[int]] = dc_field(init=False, default_factory=dict)
    # The documents the caller may see: the result is intersected with them anyway, so phrases compare positions
    # only there (a clerk's phrase search does not check the positions of every other unit's documents).
    scope: set[int] | None = dc_field(init=False, default=None)

    def __post_init__(self) -> None:
        reader = self.reader
        self.data = self.index._data(reader)
        self.segid = _segment_id(reader)
        self.n = reader.doc_count_all()  # type: ignore[attr-defined]
        self.deleted = _deleted(reader)

    # postings ----------------------------------------------------------------------------------------------------

    def postings(self, field: str, term: str) -> tuple[array, array]:
        return self.index._cached_postings(self.segid, self.reader, field, term)

    def docs(self, field: str, term: str) -> set[int]:
        return set(self.postings(field, term)[0])

    def everything(self) -> set[int]:
        return set(range(self.n)) - self.deleted

    def facet_counts(self, docs: set[int]) -> dict[str, Counter[int]]:
        """Documents of `docs` per facet and value. For a set larger than half the segment (a frequent word, an
        auditor), the segment's totals minus the counts of the rest: fewer documents to look at."""
        if len(docs) <= self.n // 2:
            return {name: Counter(map(ords.__getitem__, docs)) for name, (_, ords) in self.data.facets.items()}
        rest = set(range(self.n)).difference(docs)
        out = {}
        for name, (_, ords) in self.data.facets.items():
            out[name] = counts = self.data.facet_totals[name].copy()
            counts.subtract(Counter(map(ords.__getitem__, rest)))
        return out

    def terms_with_prefix(self, field: str, prefix: str) -> list[str]:
        try:
            found = []
            for raw in self.reader.expand_prefix(field, prefix):  # type: ignore[attr-defined]
                found.append(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                if len(found) > MAX_PREFIX_TERMS:
                    raise QueryError(f"The prefix '{prefix}*' matches too many words; please type more letters",
                                     f"Das Präfix '{prefix}*' passt auf zu viele Wörter; bitte mehr Buchstaben "
                                     f"eingeben")
            return found
        except TermNotFound:
            return []

    # the caller's view ---------------------------------------------------------------------------------------------

    def visible(self, access: AccessFilter, filters: Filters) -> set[int]:
        """The documents of this segment that the caller may see and that pass the filters."""
        if access.all_units:
            docs = self.everything()
        else:
            docs = set()
            for unit in access.units:
                docs.update(self.postings("unit", unit)[0])
            for case_id in access.case_ids:
                docs.update(self.postings("case_id", str(case_id))[0])
            docs -= self.deleted
        if access.restricted_types and docs:
            restricted: set[int] = set()
            for case_type in access.restricted_types:
                restricted.update(self.postings("case_type", case_type)[0])
            for unit in access.restricted_units:
                restricted.difference_update(self.postings("unit", unit)[0])
            docs -= restricted
        for name in ("case_type", "unit", "status", "kind"):
            value = getattr(filters, name)
            if value is not None and docs:
                docs.intersection_update(self.postings(name, value)[0])
        if (filters.date_from or filters.date_to) and docs:
            low = datetime_to_long(dt.datetime.combine(filters.date_from, dt.time.min)) if filters.date_from else None
            high = datetime_to_long(dt.datetime.combine(filters.date_to, dt.time.max)) if filters.date_to else None
            docs &= self._dated("created_at", low, high)
        return docs

    def _dated(self, field: str, low: int | None, high: int | None) -> set[int]:
        values = self.data.dates[field]
        lo = low if low is not None else _NO_DATE + 1
        hi = high if high is not None else 2**63 - 1
        return {d for d, v in enumerate(values) if lo <= v <= hi}

    # the query ---------------------------------------------------------------------------------------------------

    def evaluate(self, plan: _Plan) -> set[int]:
        """The documents of this segment matching `plan` (deleted ones may be included; callers intersect)."""
        key = id(plan)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._evaluate(plan)
        return found

    def _evaluate(self, plan: _Plan) -> set[int]:
        if plan is _ALL:
            return self.everything()
        if isinstance(plan, _Words):
            found: set[int] = set()
            for name in plan.fields:
                found |= self._words_in(name, plan.terms)
            return found
        if isinstance(plan, _Prefix):
            found = set()
            for name in plan.fields:
                here: set[int] = set()
                for term in self.terms_with_prefix(name, plan.prefix):
                    here.update(self.postings(name, term)[0])
                if plan.before and here:
                    here &= self._words_in(name, plan.before)
                found |= here
            return found
        if isinstance(plan, _Keyword):
            return self._keyword(plan)
        if isinstance(plan, _Dates):
            return self._dated(plan.field, plan.low, plan.high)
        if isinstance(plan, _And):
            parts = sorted((self.evaluate(p) for p in plan.must), key=len)
            found = set(parts[0])
            for part in parts[1:]:
                if not found:
                    break
                found &= part
            for p in plan.must_not:
                if not found:
                    break
                found -= self.evaluate(p)
            return found
        if isinstance(plan, _Or):
            found = set()
            for p in plan.items:
                found |= self.evaluate(p)
            return found
        raise AssertionError(plan)

    def _words_in(self, field: str, terms: tuple[str, ...]) -> set[int]:
        if len(terms) == 1:
            return self.docs(field, terms[0])
        units = _phrase_units(field, terms)
        lists = sorted((self.postings(f, t)[0] for f, t, _ in units), key=len)
        candidates = set(lists[0])
        if self.scope is not None:
            candidates &= self.scope
        for ids in lists[1:]:
            if not candidates:
                return candidates
            candidates.intersection_update(ids)
        if not candidates or len(units) == 1:
            return candidates
        return self._check_positions(units, candidates)

    def _check_positions(self, units: list[_Unit], candidates: set[int]) -> set[int]:
        """The candidates in which every unit occurs at its offset from a common start."""
        positions = [(_positions(self.reader, f, t, candidates), offset) for f, t, offset in units]
        (first, first_offset), rest = positions[0], positions[1:]
        found: set[int] = set()
        for d in candidates:
            for p in first.get(d, frozenset()):
                start = p - first_offset
                if all(start + offset in at.get(d, frozenset()) for at, offset in rest):
                    found.add(d)
                    break
        return found

    def _keyword(self, plan: _Keyword) -> set[int]:
        if plan.exact:  # indexed as written: find the values that fold to the wanted one
            values = [v for v in self.reader.field_terms(plan.field)  # type: ignore[attr-defined]
                      if (fold(v).startswith(plan.value) if plan.prefix else fold(v) == plan.value)]
        elif plan.prefix:
            values = self.terms_with_prefix(plan.field, plan.value)
        else:
            values = [plan.value]
        found: set[int] = set()
        for value in values:
            found.update(self.postings(plan.field, value)[0])
        return found

    # scores ------------------------------------------------------------------------------------------------------

    def score(self, docs: set[int], leaves: list[_Plan], stats: _Stats) -> dict[int, float]:
        """BM25 of the positive terms for each of `docs` (documents matching only unscored parts score 0)."""
        scores: dict[int, float] = {}
        for leaf in leaves:
            if isinstance(leaf, _Words):
                for name in leaf.fields:
                    weight = FIELD_WEIGHTS.get(name, 1.0)
                    if len(leaf.terms) > 1:
                        for f, t in {(f, t) for f, t, _ in _phrase_units(name, leaf.terms)}:
                            self._bm25(scores, docs, f, t, weight, stats)
                    else:
                        for term in set(leaf.terms):
                            self._bm25(scores, docs, name, term, weight, stats)
            else:  # a prefix: a constant for the documents it matched
                get = scores.get
                for d in self.evaluate(leaf) & docs:
                    scores[d] = get(d, 0.0) + 1.0
        if len(scores) < len(docs):
            scores.update(dict.fromkeys(docs.difference(scores), 0.0))
        return scores

    def _bm25(self, scores: dict[int, float], docs: set[int], field: str, term: str, weight: float,
              stats: _Stats) -> None:
        ids, tfs = self.postings(field, term)
        if not ids:
            return
        length_field = _LENGTH_OF.get(field)
        c = weight * stats.idf(field, term) * (K1 + 1.0)
        get = scores.get
        if length_field is None:  # meta: no lengths
            for d, tf in zip(ids, tfs):
                if d in docs:
                    scores[d] = get(d, 0.0) + c * tf / (tf + K1)
            return
        lengths = self.data.lengths[length_field]
        base, per_word = K1 * (1.0 - B), K1 * B / stats.avg[length_field]
        for d, tf in zip(ids, tfs):
            if d in docs:
                scores[d] = get(d, 0.0) + c * tf / (tf + base + per_word * lengths[d])
