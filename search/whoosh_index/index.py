"""`WhooshIndex`: the index directory, its writers, the shared searcher and the per-segment caches, and a
search put together from the other modules (plan, evaluate, facets, snippets)."""
from __future__ import annotations

import heapq
import logging
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path

from whoosh import index as whoosh_index  # type: ignore[import-untyped]
from whoosh.writing import CLEAR  # type: ignore[import-untyped]

from search import IndexedDocument, Page, SearchRequest
from search.whoosh_index.evaluate import _Segment, _Stats
from search.whoosh_index.facets import _SegmentData, _segment_data, merge_facet_counts
from search.whoosh_index.merge import merge_policy
from search.whoosh_index.readers import refreshed
from search.whoosh_index.plan import _ALL, _Planner, _scoring_leaves
from search.whoosh_index.postings import _decode_postings, _segment_id
from search.whoosh_index.schema import (CODEC, INDEX_NAME, SCHEMA, SCHEMA_VERSION, WRITE_TIMEOUT, WRITER_POOL_MB,
                                        _VERSION_FILE, _delete_ids, _fields_of)
from search.whoosh_index.segment_ids import use_secure_segment_ids
from search.whoosh_index.snippets import page_hits

log = logging.getLogger("search.whoosh_index")  # the package's name, as before the split
use_secure_segment_ids()  # before any writer exists

POSTINGS_CACHE = 8_000_000  # decoded postings kept across searches (about 8 bytes each)


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
        return self._ix.writer(timeout=WRITE_TIMEOUT, delay=0.05, compound=False, limitmb=WRITER_POOL_MB,
                               codec=CODEC)

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        latest = {doc.document_id: doc for doc in docs}  # within one call, the last version of a document wins
        if not latest:
            return
        with self._write_lock:
            writer = self._writer()
            try:
                self._delete_committed(writer, latest)
                for doc in latest.values():
                    writer.add_document(**_fields_of(doc))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=merge_policy(len(latest)))
        self._warm()

    def delete(self, document_ids: Iterable[int]) -> None:
        ids = set(document_ids)
        if not ids:
            return
        with self._write_lock:
            writer = self._writer()
            try:
                self._delete_committed(writer, ids)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=merge_policy(0))
        self._warm()

    def _delete_committed(self, writer, document_ids: Iterable[int]) -> None:  # type: ignore[no-untyped-def]
        # The shared searcher, when it reads the very generation the writer starts from (the usual case: _warm
        # opened it after this process's last commit), knows the same segments in the same order, so its
        # document numbers are the writer's; opening every segment again cost more than writing a document.
        with self._search_lock:
            current = self._current
            if current is not None and current.reader().generation() == writer.generation - 1:
                _delete_ids(writer, document_ids, current)
                return
        _delete_ids(writer, document_ids)

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
            searcher = self._current = refreshed(self._ix, searcher)  # closes the readers of segments gone
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
            facets = merge_facet_counts((seg.data, seg.facet_counts(docs)) for seg, docs in matched)

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

        return Page(hits=page_hits(request.query, page), total=total, facets=facets)

