"""A plan evaluated on one segment with set operations on whole posting lists, inside the caller's view,
and BM25 for the matching documents only."""
from __future__ import annotations

import datetime as dt
import math
from array import array
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import TYPE_CHECKING, Any

from whoosh.reading import TermNotFound  # type: ignore[import-untyped]
from whoosh.util.times import datetime_to_long  # type: ignore[import-untyped]

from search import AccessFilter, Filters, QueryError
from search.analysis import fold
from search.whoosh_index.facets import _SegmentData, facet_counts
from search.whoosh_index.plan import _ALL, _And, _Dates, _Keyword, _Or, _Plan, _Prefix, _Words
from search.whoosh_index.postings import _deleted, _phrase_units, _positions, _segment_id, _Unit
from search.whoosh_index.schema import _LENGTH_OF, _NO_DATE

if TYPE_CHECKING:  # the index builds the segments it searches; type only, no cycle at import
    from search.whoosh_index.index import WhooshIndex

MAX_PREFIX_TERMS = 5000  # a prefix expanding to more words than this (per field and segment) is refused
K1, B = 1.2, 0.75  # BM25
FIELD_WEIGHTS = {"text": 1.0, "title": 2.0, "case_title": 1.5, "all": 1.0}


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
        return facet_counts(self.data, self.n, docs)

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
        if access.restricted_types:
            restricted: set[int] = set()
            for case_type in access.restricted_types:
                restricted.update(self.postings("case_type", case_type)[0])
            if docs:
                outside = set(restricted)
                for unit in access.restricted_units:
                    outside.difference_update(self.postings("unit", unit)[0])
                docs -= outside
            docs |= self._readable(access, restricted)
        for subfile in access.hidden_subfiles:
            if docs:
                docs.difference_update(self.postings("subfile", subfile)[0])
        for case_id in access.hidden_case_ids:
            if docs:
                docs.difference_update(self.postings("case_id", str(case_id))[0])
        for name in ("case_type", "unit", "status", "kind"):
            value = getattr(filters, name)
            if value is not None and docs:
                docs.intersection_update(self.postings(name, value)[0])
        if (filters.date_from or filters.date_to) and docs:
            low = datetime_to_long(dt.datetime.combine(filters.date_from, dt.time.min)) if filters.date_from else None
            high = datetime_to_long(dt.datetime.combine(filters.date_to, dt.time.max)) if filters.date_to else None
            docs &= self._dated("created_at", low, high)
        return docs

    def _readable(self, access: AccessFilter, restricted: set[int]) -> set[int]:
        """The documents of restricted types the caller reads however far their general view reaches."""
        if not restricted or not (access.readable or access.readable_case_ids or access.readable_subfiles):
            return set()
        found: set[int] = set()
        for case_type, unit in access.readable:
            found.update(set(self.postings("case_type", case_type)[0]) & set(self.postings("unit", unit)[0]))
        for case_id in access.readable_case_ids:
            found.update(self.postings("case_id", str(case_id))[0])
        for subfile in access.readable_subfiles:
            found.update(self.postings("subfile", subfile)[0])
        return (found & restricted) - self.deleted

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
