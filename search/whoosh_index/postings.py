"""Posting lists and positions read from a segment in bulk (whole blocks of whoosh 2.7's matchers), what a
phrase is looked up by, and a segment's identity and deletions."""
from __future__ import annotations

import pickle
from array import array
from itertools import accumulate

from whoosh import formats  # type: ignore[import-untyped]
from whoosh.matching.wrappers import FilterMatcher  # type: ignore[import-untyped]
from whoosh.reading import TermNotFound  # type: ignore[import-untyped]
from whoosh.system import _INT_SIZE  # type: ignore[import-untyped]

from search.analysis import is_common

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

