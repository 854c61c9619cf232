"""Finding records: the `SearchIndex` interface that the whoosh and PostgreSQL backends implement.

Backends take plain dataclasses and return ids, snippets and facets; they know nothing of SQLAlchemy sessions
or Flask. The caller's permissions travel into every query as an `AccessFilter`, so totals, facets and snippets
only ever count what the caller may see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Protocol, Sequence


@dataclass(frozen=True)
class IndexedDocument:
    """One document (its current version) with the case fields it is found by."""

    document_id: int
    case_id: int
    case_reference: str
    case_title: str
    case_type: str
    unit: str
    file_plan_code: str
    status: str
    title: str
    kind: str
    mime_type: str
    text: str
    document_date: dt.date | None = None
    created_at: dt.datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessFilter:
    """What the caller may see: everything, or the cases of these units (minus restricted case types)."""

    all_units: bool = False
    units: frozenset[str] = frozenset()
    hidden_case_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hit:
    document_id: int
    case_id: int
    score: float
    snippet: str  # HTML-escaped, with <mark> around matches


@dataclass(frozen=True)
class Page:
    hits: Sequence[Hit]
    total: int
    facets: dict[str, dict[str, int]]


class SearchIndex(Protocol):
    def index(self, docs: Iterable[IndexedDocument]) -> None: ...

    def delete(self, document_ids: Iterable[int]) -> None: ...

    def search(self, query: str, access: AccessFilter, *, offset: int = 0, limit: int = 20) -> Page: ...
