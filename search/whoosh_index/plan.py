"""The query (`search.ast`), analysed once into a plan of whole-term lookups that every segment evaluates."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Union

from whoosh.util.times import datetime_to_long  # type: ignore[import-untyped]

from search import QueryError
from search.analysis import fold, prefix_term, query_terms
from search.ast import DATE_FIELDS, TEXT_FIELDS, And, DateRange, MatchAll, Node, Not, Or, Phrase, Term
from search.whoosh_index.schema import _ANY_TEXT, _EXACT_KEYWORDS, _FOLDED_KEYWORDS


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

