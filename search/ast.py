"""The parsed form of a search query, shared by every backend: `search.query.parse` builds it, each backend
compiles it to its own query language. Field names are the `IndexedDocument` attributes listed in FIELDS, plus
`meta.<name>` for a case metadata field."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Union

# Searchable fields (`field:value`); None in a node means "all text fields".
TEXT_FIELDS = ("text", "title", "case_title")
KEYWORD_FIELDS = ("reference", "case_type", "unit", "file_plan_code", "status", "kind", "mime_type",
                  "procedure")  # procedure: the reference of a document's procedure (20.30/0042/2026-3)
DATE_FIELDS = ("document_date", "created_at")
FIELDS = TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS


@dataclass(frozen=True)
class Term:
    text: str
    field: str | None = None  # None: any text field; "meta.<name>": a metadata field
    prefix: bool = False  # `rech*`


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class DateRange:
    field: str  # one of DATE_FIELDS
    start: dt.date | None  # inclusive
    end: dt.date | None  # inclusive


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Union[Term, Phrase, DateRange, And, Or, Not, MatchAll]
