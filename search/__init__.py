"""Finding records: the `SearchIndex` interface that the whoosh and PostgreSQL backends implement.

Backends take plain dataclasses and return ids, snippets and facets; they know nothing of SQLAlchemy sessions
(the PostgreSQL backend gets an Engine) or Flask. The caller's permissions travel into every query as an
`AccessFilter` and are part of the query itself, so totals, facets and snippets only ever count what the caller
may see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Literal, Protocol, Sequence

from search.ast import Node

FACETS = ("case_type", "unit", "year", "kind", "status")


class QueryError(ValueError):
    """A malformed query; `message` says what is wrong and where (shown to the user as a 400)."""

    def __init__(self, message: str, message_de: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_de = message_de
        self.position = position


@dataclass(frozen=True)
class IndexedDocument:
    """One document (its current version) with the case fields it is found by."""

    document_id: int  # the entry's key; the application may give other entries keys of their own (eakte: a
    # note is an entry with kind "note" and key minus its id, see eakte.services.indexing.note_key)
    case_id: int
    reference: str  # the case's reference, e.g. 20.30/0042/2026
    case_title: str
    case_type: str
    unit: str  # code of the responsible unit
    file_plan_code: str
    status: str  # the case's status: open / closed
    title: str
    kind: str
    mime_type: str
    text: str
    document_date: dt.date | None = None
    created_at: dt.datetime | None = None  # the document's; also gives the facet "year"
    metadata: dict[str, str] = field(default_factory=dict)  # case metadata, values as strings
    procedure: str = ""  # the reference of its procedure/sub-file (20.30/0042/2026-3); "" at case level
    procedure_title: str = ""
    subfile: str = ""  # "<case type>/<sub-file key>" in a sub-file, for AccessFilter.hidden_subfiles


@dataclass(frozen=True)
class AccessFilter:
    """What the caller may see, built fresh for every query from their current memberships.

    A document is visible when (all_units or its unit in `units` or its case in `case_ids`) and, for a case type
    in `restricted_types`, only when its unit is in `restricted_units`; a document of a restricted type is also
    visible, whatever the above says, when (its type, its unit) is in `readable` (the caller reads that unit's
    files), its case in `readable_case_ids` (a recorded-reason access) or its `subfile` in `readable_subfiles`
    (a sub-file kept for the caller's unit: those documents only, not the rest of the file). Documents whose
    `subfile` is in `hidden_subfiles` are never visible (a sub-file kept for another unit), whatever else the
    caller may see.
    """

    all_units: bool = False
    units: frozenset[str] = frozenset()
    case_ids: frozenset[int] = frozenset()
    restricted_types: frozenset[str] = frozenset()
    restricted_units: frozenset[str] = frozenset()
    readable: frozenset[tuple[str, str]] = frozenset()  # (restricted case type, unit code)
    readable_case_ids: frozenset[int] = frozenset()
    readable_subfiles: frozenset[str] = frozenset()  # "<case type>/<sub-file key>" of a restricted type
    hidden_subfiles: frozenset[str] = frozenset()
    # Cases whose documents are never visible, whatever else the caller may see (a confidentiality level above
    # the caller's role): the index holds no levels, so a change of level needs no reindexing.
    hidden_case_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Filters:
    case_type: str | None = None
    unit: str | None = None
    status: str | None = None
    kind: str | None = None
    date_from: dt.date | None = None  # on created_at (inclusive)
    date_to: dt.date | None = None


@dataclass(frozen=True)
class SearchRequest:
    query: Node
    access: AccessFilter
    filters: Filters = Filters()
    sort: Literal["relevance", "date"] = "relevance"
    offset: int = 0
    limit: int = 20
    facets: bool = True


@dataclass(frozen=True)
class Hit:
    document_id: int
    case_id: int
    score: float
    snippet: str  # HTML-escaped text with <mark>…</mark> around matches


@dataclass(frozen=True)
class Page:
    hits: Sequence[Hit]
    total: int  # exact, within the access filter
    facets: dict[str, dict[str, int]]  # FACETS → value → count, within the access filter and the query


class SearchIndex(Protocol):
    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Add or replace (by document_id)."""

    def delete(self, document_ids: Iterable[int]) -> None: ...

    def search(self, request: SearchRequest) -> Page: ...

    def document_ids(self) -> Iterable[int]:
        """Every indexed id (for `eakte search check`)."""

    def clear(self) -> None: ...

    def close(self) -> None:
        """Release files and readers; the index is not used afterwards."""
