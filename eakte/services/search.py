"""Searching within what the caller may see: the permission filter is built here, fresh for every query, and
handed to the index as part of the query itself."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Iterator, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from eakte.errors import EakteError
from eakte.models import Case, Document, Note, Unit
from eakte.runtime import Runtime
from eakte.services import indexing, reads
from eakte.services.access import (Actor, Principal, hidden_subfiles, level_hidden_cases, participating_cases,
                                   restricted_view)
from search import AccessFilter, Filters, Page, QueryError, SearchRequest
from search.query import parse
from workflows.registry import Registry
from workflows.spreadsheet import SafeCsvWriter


class BadQuery(EakteError):
    status = 400
    title = "Malformed search query"
    title_de = "Suchanfrage fehlerhaft"


def access_filter(session: Session, p: Principal, *, registry: Registry) -> AccessFilter:
    """The rule of `access.visible_cases_filter` and `access.hidden_subfiles` in the index's terms; restricted
    types (personnel files) by `access.restricted_view` alone, never by the general view."""
    codes = dict(session.execute(select(Unit.id, Unit.code)).all())
    # As indexing writes them ("<case type>/<key>"); the partial views come in by `readable_subfiles` only.
    hidden = frozenset(f"{t}/{k}" for t, k in hidden_subfiles(session, p, registry).pairs)
    own = frozenset(codes[u] for u in p.roles_by_unit if u in codes)
    cases_query = participating_cases(p)  # the same rule as opening a case: a task or an escalation brought it
    participating = frozenset(session.execute(cases_query.distinct()).scalars()) if cases_query is not None \
        else frozenset()
    above = level_hidden_cases(p)  # cases the above would show but their confidentiality level hides
    view = restricted_view(p)
    return AccessFilter(all_units=p.is_admin or p.is_auditor, units=own, case_ids=participating,
                        restricted_types=view.types,
                        readable=frozenset((t, codes[u]) for t, u in view.reader_units if u in codes),
                        readable_case_ids=view.granted_cases, readable_subfiles=view.subfiles,
                        hidden_subfiles=hidden,
                        hidden_case_ids=frozenset(session.execute(above).scalars()) if above is not None
                        else frozenset())


@dataclass(frozen=True)
class SearchHit:
    document_id: int | None  # None: the hit is a note (Vermerk), `note_id`
    case_id: int
    reference: str
    case_title: str
    case_type: str
    title: str  # a note's: the start of its first line
    kind: str  # a note's: "note"
    score: float
    snippet: str
    note_id: int | None = None
    noted_on: dt.date | None = None
    confidentiality: str = "open"  # the case's level, for its badge


NOTE_TITLE_CHARS = 80


def _note_title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= NOTE_TITLE_CHARS else first[:NOTE_TITLE_CHARS - 1].rstrip() + "…"


def search(rt: Runtime, actor: Actor, q: str, filters: Filters, *, sort: Literal["relevance", "date"] = "relevance",
           offset: int = 0, limit: int = 20, shown: str | None = "page") -> tuple[list[SearchHit], Page]:
    """One page of hits. The hits are shown to the caller as `shown` says ("page", "csv"), and each restricted
    case among them is traced as one `read.search_hit` naming its documents and notes; None: not shown (an
    export's selection of cases, a check of the query), nothing is traced."""
    try:
        query = parse(q or "")
    except QueryError as exc:
        raise BadQuery(exc.message, detail_de=exc.message_de, position=exc.position) from None
    with rt.db.read() as session:
        access = access_filter(session, actor.principal, registry=rt.registry)
        page = rt.search_index.search(SearchRequest(query, access, filters, sort, offset, limit))
        docs = {d.id: d for d in session.execute(select(Document).where(
            Document.id.in_([h.document_id for h in page.hits if h.document_id > 0]))).scalars()}
        note_ids = [n for h in page.hits if (n := indexing.note_id_of(h.document_id)) is not None]
        notes = {n.id: (n, c) for n, c in session.execute(
            select(Note, Case).join(Case, Case.id == Note.case_id).where(Note.id.in_(note_ids)))} if note_ids else {}
        hits: list[SearchHit] = []
        read: dict[int, tuple[Case, list[int], list[int]]] = {}  # case id → (case, document ids, note ids)
        for h in page.hits:
            if (d := docs.get(h.document_id)) is not None:
                read.setdefault(d.case_id, (d.case, [], []))[1].append(d.id)
                hits.append(SearchHit(h.document_id, h.case_id, d.case.reference, d.case.title, d.case.case_type,
                                      d.title, d.kind, h.score, h.snippet,
                                      confidentiality=d.case.confidentiality))
            elif (found := notes.get(indexing.note_id_of(h.document_id) or 0)) is not None:
                note, case = found
                read.setdefault(case.id, (case, [], []))[2].append(note.id)
                hits.append(SearchHit(None, h.case_id, case.reference, case.title, case.case_type,
                                      _note_title(note.text), indexing.NOTE_KIND, h.score, h.snippet,
                                      note_id=note.id, noted_on=note.noted_on,
                                      confidentiality=case.confidentiality))
    if shown is not None:
        reads.log_reads(rt, actor, [reads.Read(case, "read.search_hit", details={
            "via": shown, "document_ids": doc_ids, "note_ids": note_ids})
            for case, doc_ids, note_ids in read.values()])
    return hits, page


CSV_BATCH = 200


def results_csv(rt: Runtime, actor: Actor, q: str, filters: Filters, *,
                sort: Literal["relevance", "date"] = "relevance") -> Iterator[str]:
    """Every hit as CSV lines (the API's /search.csv and the page's link). A malformed query raises BadQuery here,
    before anything is streamed; the lines follow lazily, one batch of hits at a time."""
    search(rt, actor, q, filters, limit=1, shown=None)

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = SafeCsvWriter(out, delimiter=";")  # titles are user input: no cell may run as a formula
        writer.writerow(["Aktenzeichen", "Betreff der Akte", "Aktentyp", "Dokument", "Art", "Dokument-ID",
                         "Relevanz"])
        offset = 0
        while True:
            hits, page = search(rt, actor, q, filters, sort=sort, offset=offset, limit=CSV_BATCH, shown="csv")
            for h in hits:
                writer.writerow([h.reference, h.case_title, h.case_type, h.title, h.kind, h.document_id,
                                 f"{h.score:.3f}"])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            offset += CSV_BATCH
            if offset >= page.total:
                return

    return rows()
