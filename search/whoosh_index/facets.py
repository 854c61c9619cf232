"""Per-segment arrays, built once per immutable segment: each document's facet values (so facets are counted
over exactly the matching set), dates, ids and lengths; and counting and merging the facets of a search."""
from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from search import FACETS
from search.ast import DATE_FIELDS
from search.whoosh_index.postings import _decode_postings
from search.whoosh_index.schema import _COLUMN_DEFAULT, _LENGTH_OF, _NO_DATE

_NONE = -1


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



def facet_counts(data: _SegmentData, n: int, docs: set[int]) -> dict[str, Counter[int]]:
    """Documents of `docs` per facet and value. For a set larger than half the segment (a frequent word, an
    auditor), the segment's totals minus the counts of the rest: fewer documents to look at."""
    if len(docs) <= n // 2:
        return {name: Counter(map(ords.__getitem__, docs)) for name, (_, ords) in data.facets.items()}
    rest = set(range(n)).difference(docs)
    out = {}
    for name, (_, ords) in data.facets.items():
        out[name] = counts = data.facet_totals[name].copy()
        counts.subtract(Counter(map(ords.__getitem__, rest)))
    return out


def merge_facet_counts(per_segment: Iterable[tuple[_SegmentData, dict[str, Counter[int]]]]
                       ) -> dict[str, dict[str, int]]:
    """The counts of all segments by facet value, most frequent first (then by value)."""
    merged: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for data, seg_counts in per_segment:
        for name, counts in seg_counts.items():
            values = data.facets[name][0]
            for ordinal, count in counts.items():
                if ordinal != _NONE and count:
                    merged[name][values[ordinal]] += count
    return {name: dict(sorted(merged[name].items(), key=lambda kv: (-kv[1], kv[0]))) for name in FACETS}
