"""The PostgreSQL backend: one row per document in a table of its own, a weighted `tsvector` under a GIN index,
and every query, the caller's permission filter included, compiled into one WHERE clause.

For deployments with several application servers: the index lives in the shared database, so there is no index
directory to share, and every server sees a document as soon as the indexer's transaction commits.

Analysis. Both backends analyse text with `search.analysis`, so they find the same documents: words are runs of
letters and digits, `fold` makes Müller = Mueller = Muller, the Snowball German stemmer (the algorithm behind
PostgreSQL's `german` configuration) makes Rechnungen → rechnung, and `decompound` adds the parts of known
compounds at the compound's own position, so `frist` finds *Widerspruchsfrist*. This backend therefore builds the
tsvector itself from `analysis.index_tokens` (a tsvector literal with positions and weights) rather than with
`to_tsvector('german', …)`, and the tsquery from `analysis.query_terms` / `analysis.prefix_term`. Running
`to_tsvector('german', fold(text))` instead would differ from whoosh in three ways: PostgreSQL's parser splits
words differently (it keeps ``20.30/0042/2026`` or ``info@stadt.de`` whole), `german` drops stop words (so
``"Antrag auf Baugenehmigung"`` would also match *Antrag zur Baugenehmigung*, while ``für`` is kept once folded
to ``fur``), and compound parts could only be appended, not put at the compound's position.

The tsvector (column `tsv`) has one weight per source; a field query is a weight restriction on the one GIN
index (``'rechnung':A``), and ranking (`ts_rank`, cheaper than `ts_rank_cd` by far for frequent words) prefers
titles:

    A  title     B  case_title     C  reference, file-plan code, kind, case type, metadata values     D  text

plus lexemes that cannot clash with words or word prefixes (they start with ``#`` or ``@``, words with a letter
or digit), also under the GIN index: ``#<keyword field>=<folded value>`` for `reference:`, `unit:`, `kind:` …
(exact match after `fold`; ``*`` a prefix of the value), and ``@<name>:<term>`` at the positions of the words
of metadata value <name> (words, phrases and prefixes within one metadata field). Sources are kept apart by a
gap of positions, so a phrase never runs from one field into the next.

PostgreSQL's limits, and what they mean here: positions end at 16,383, so a phrase is found within about the
first 16,000 words of a document (single words everywhere); a word keeps its first 256 positions (a phrase
with a later occurrence of it is not found); a tsvector
holds at most 1 MB of lexemes and positions, so in a huge text (hundreds of pages of distinct words) the words
beyond that budget are not indexed (INDEXED_TEXT_CHARS bounds the work in any case).

Snippets are `search.snippets.make_snippet` over the page's stored text (its first SNIPPET_SOURCE_CHARS
characters, all that function looks at), the same code and format as the whoosh backend: words marked after
folding, stemming and decompounding, everything else HTML-escaped. PostgreSQL's `ts_headline` is not used: it
does not escape (PostgreSQL's documentation warns about that), and it could not mark folded spellings or
compound parts.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import json
import zlib
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from search import FACETS, AccessFilter, Filters, Hit, IndexedDocument, Page, QueryError, SearchRequest
from search import analysis, snippets
from search.ast import (DATE_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, And, DateRange, MatchAll, Node, Not, Or,
                        Phrase, Term)

FIELD_WEIGHTS = {"title": "A", "case_title": "B", "text": "D"}  # field None: every weight
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"  # for D, C, B, A (ts_rank's order)
RANK_NORMALIZATION = 1  # divide the rank by 1 + log(document length)
INDEXED_TEXT_CHARS = 2_000_000  # of a document's text, analysed into the tsvector
SNIPPET_SOURCE_CHARS = snippets.MAX_SCAN  # of a document's text, stored for snippets (all they look at)
BATCH = 500  # documents per upsert round trip and transaction
MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
MAX_POSITIONS = 256  # positions PostgreSQL keeps per lexeme
MAX_VECTOR_BYTES = 1_040_000  # a tsvector holds at most 2^20 - 1 bytes of lexemes and positions
MAX_KEYWORD_CHARS = 500  # of a keyword value, as a lexeme (at most 2047 bytes)
SEGMENT_GAP = 10  # positions between title, case title, reference/metadata values and text


def search_documents_table(metadata: sa.MetaData, name: str = "search_documents") -> sa.Table:
    """The index table, for `PostgresIndex.ensure_schema` and for an Alembic migration creating the same."""
    def txt(col: str) -> sa.Column[str]:
        return sa.Column(col, sa.Text, nullable=False, server_default="")

    return sa.Table(
        name, metadata,
        sa.Column("document_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        txt("reference"), txt("case_title"), txt("case_type"), txt("unit"), txt("file_plan_code"), txt("status"),
        txt("title"), txt("kind"), txt("mime_type"),
        sa.Column("document_date", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=False)),  # naive UTC, as in the records
        sa.Column("year", sa.Integer),  # of created_at, for the facet
        sa.Column("metadata", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        txt("text"),  # the first SNIPPET_SOURCE_CHARS characters, for snippets
        sa.Column("tsv", TSVECTOR, nullable=False),
        sa.Index(f"ix_{name}_tsv", "tsv", postgresql_using="gin"),
        # The access filter, the filters and the facets in one btree: a query without words (browsing with
        # filters) is an index-only scan, not a scan of the wide rows. Leading column: the unit (most callers
        # see a few units); case_type, status, kind are too coarse for indexes of their own.
        sa.Index(f"ix_{name}_filters", "unit", "case_type", "status", "kind", "year", "created_at", "document_id",
                 "case_id"),
        *(sa.Index(f"ix_{name}_{col}", col) for col in ("case_id", "created_at", "document_date")),
    )


def schema_statements(table: sa.Table) -> list[sa.Executable]:
    """The DDL, idempotent (IF NOT EXISTS), for `ensure_schema` or a migration (`op.execute` each).

    Beyond the `Table`: the tsvector is stored in the row (STORAGE MAIN: compressed if that helps, moved out only
    when the row exceeds a page), not in the TOAST table. Testing a row then needs no TOAST lookup, which makes
    filtering and ranking many matches about three times faster; the stored text goes to TOAST instead.
    """
    return [sa.schema.CreateTable(table, if_not_exists=True),
            *(sa.schema.CreateIndex(index, if_not_exists=True) for index in table.indexes),
            sa.text(f'ALTER TABLE "{table.name}" ALTER COLUMN tsv SET STORAGE MAIN')]


# ---------------------------------------------------------------------------------------------------------------
# analysis → tsvector / tsquery


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


# Lexemes of keyword and metadata fields start with a character no word has (words are letters and digits),
# so that neither a word nor a word prefix (``st*``) can match them.
def _keyword_lexeme(name: str, value: str) -> str:
    return f"#{name}={analysis.fold(' '.join(value.split()))[:MAX_KEYWORD_CHARS]}"


def _meta_prefix(name: str) -> str:
    return f"@{analysis.fold(name.strip())}:"


class _Vector:
    """Builds a tsvector literal: lexeme → positions with weights, within PostgreSQL's limits.

    PostgreSQL counts every lexeme (2-byte aligned) and, with positions, 2 bytes each plus 2 for their number
    against its limit of 2^20 - 1 bytes per tsvector; what would go beyond MAX_VECTOR_BYTES is left out.
    """

    def __init__(self) -> None:
        self.positions: dict[str, list[str]] = {}
        self.last: dict[str, int] = {}
        self.next = 1
        self.bytes = 0

    def segment(self, text: str, weight: str, prefix: str | None = None) -> None:
        """The words of `text` (stems and compound parts, see `analysis.word_terms`) at the next positions;
        metadata values also under `prefix`."""
        positions, last, word_terms = self.positions, self.last, analysis.word_terms
        base, count = self.next, 0
        for count, m in enumerate(analysis.tokenize(text), 1):
            pos = min(base + count - 1, MAX_POSITION)
            pos_text = f"{pos}{weight}"
            terms = word_terms(m.group())
            for term in terms if prefix is None else (*terms, *(prefix + t for t in terms)):
                entry = positions.get(term)
                if entry is None:
                    size = len(term) if term.isascii() else len(term.encode())
                    cost = size + (size & 1) + 4
                    if self.bytes + cost > MAX_VECTOR_BYTES or size > 2046:
                        continue
                    self.bytes += cost
                    positions[term] = [pos_text]
                    last[term] = pos
                elif last[term] != pos and len(entry) < MAX_POSITIONS and self.bytes + 2 <= MAX_VECTOR_BYTES:
                    self.bytes += 2
                    entry.append(pos_text)
                    last[term] = pos
        if count:
            self.next = base + count + SEGMENT_GAP

    def keyword(self, lexeme: str) -> None:
        """A lexeme without positions (it is never part of a phrase)."""
        if lexeme not in self.positions and len(lexeme.encode()) <= 2046:
            self.positions[lexeme] = []
            self.bytes += len(lexeme.encode()) + 1

    def literal(self) -> str:
        return " ".join(f"{_quote(lex)}:{','.join(pos)}" if pos else _quote(lex)
                        for lex, pos in self.positions.items())


def tsvector_literal(d: IndexedDocument) -> str:
    v = _Vector()
    v.segment(d.title, "A")
    v.segment(d.case_title, "B")
    for value in (d.reference, d.file_plan_code, d.kind, d.case_type, d.procedure, d.procedure_title):
        v.segment(value, "C")
    for name, value in d.metadata.items():
        if value not in (None, ""):
            v.segment(str(value), "C", _meta_prefix(name))
    v.segment(d.text[:INDEXED_TEXT_CHARS], "D")
    for name in KEYWORD_FIELDS:
        if getattr(d, name):
            v.keyword(_keyword_lexeme(name, getattr(d, name)))
    if d.subfile:  # not a query field: only the access filter asks for it (`access_condition`)
        v.keyword(_keyword_lexeme("subfile", d.subfile))
    return v.literal()


def _operand(lexeme: str, weight: str = "", prefix: bool = False) -> str:
    suffix = ("*" if prefix else "") + weight
    return f"{_quote(lexeme)}:{suffix}" if suffix else _quote(lexeme)


def _text_query(text: str, prefix: bool, weight: str = "", lexeme_prefix: str = "") -> str:
    """A word: its stem; words (``20.30/0042/2026``): a phrase of their stems; "" (matches nothing) without any.
    A prefix search: the words before the last one as above, and a term starting with the last word, folded
    and not stemmed (as whoosh: ``20.30/00*`` is ``20 <-> 30`` and ``00…``)."""
    terms = analysis.query_terms(text)
    if prefix:
        start = analysis.prefix_term(text)
        if not start:
            return ""
        last = _operand(lexeme_prefix + start, weight, prefix=True)
        if len(terms) < 2:
            return last
        return f"({' <-> '.join(_operand(lexeme_prefix + t, weight) for t in terms[:-1])}) & {last}"
    return " <-> ".join(_operand(lexeme_prefix + t, weight) for t in terms)


# ---------------------------------------------------------------------------------------------------------------
# query compilation


class _TsQueryType(sa.types.UserDefinedType[str]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "tsquery"


_TSQUERY = _TsQueryType()


class _Compiler:
    def __init__(self, t: sa.Table) -> None:
        self.t = t
        self.rank: list[str] = []  # tsqueries of the positive text terms and phrases, for ranking

    def matches(self, tsquery: str) -> sa.ColumnElement[bool]:
        if not tsquery:
            return sa.false()
        return self.t.c.tsv.bool_op("@@")(sa.cast(sa.literal(tsquery, sa.Text), _TSQUERY))

    def compile(self, node: Node, positive: bool = True) -> sa.ColumnElement[bool]:
        if isinstance(node, MatchAll):
            return sa.true()
        if isinstance(node, And):
            return sa.and_(*(self.compile(item, positive) for item in node.items))
        if isinstance(node, Or):
            return sa.or_(*(self.compile(item, positive) for item in node.items))
        if isinstance(node, Not):
            return sa.not_(self.compile(node.item, not positive))
        if isinstance(node, DateRange):
            return self.date_range(node)
        if not isinstance(node, (Term, Phrase)):
            raise TypeError(f"not a query node: {node!r}")
        text = node.text if isinstance(node, Term) else " ".join(node.words)
        prefix = isinstance(node, Term) and node.prefix
        name = node.field
        if name is None or name in TEXT_FIELDS:
            tsquery = _text_query(text, prefix, FIELD_WEIGHTS.get(name or "", ""))
            if positive and tsquery:
                self.rank.append(tsquery)
            return self.matches(tsquery)
        if name.startswith("meta.") and len(name) > 5:
            return self.matches(_text_query(text, prefix, lexeme_prefix=_meta_prefix(name[5:])))
        if name in KEYWORD_FIELDS:
            lexeme = _keyword_lexeme(name, text)
            return self.matches(_operand(lexeme, prefix=prefix) if lexeme != f"#{name}=" else "")
        if name in DATE_FIELDS:
            raise QueryError(f"The field '{name}' needs a date", f"Das Feld '{name}' braucht ein Datum")
        raise QueryError(f"Unknown field '{name}'", f"Unbekanntes Feld '{name}'")

    def date_range(self, node: DateRange) -> sa.ColumnElement[bool]:
        if node.field not in DATE_FIELDS:
            raise QueryError(f"'{node.field}' is not a date field", f"'{node.field}' ist kein Datumsfeld")
        col = self.t.c[node.field]
        conds: list[sa.ColumnElement[bool]] = [col.is_not(None)]  # two-valued, also under NOT
        if node.field == "created_at":
            if node.start:
                conds.append(col >= _midnight(node.start))
            if node.end:
                conds.append(col < _midnight(node.end + dt.timedelta(days=1)))
        else:
            if node.start:
                conds.append(col >= node.start)
            if node.end:
                conds.append(col <= node.end)
        return sa.and_(*conds)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def access_condition(t: sa.Table, access: AccessFilter) -> sa.ColumnElement[bool]:
    """(all_units or unit in units or case in case_ids) and (type not restricted or unit in restricted_units),
    or of a restricted type and readable (`AccessFilter`); never a hidden sub-file or case."""
    if access.all_units:
        seen: sa.ColumnElement[bool] = sa.true()
    else:
        ors = []
        if access.units:
            ors.append(t.c.unit.in_(sorted(access.units)))
        if access.case_ids:
            ors.append(t.c.case_id.in_(sorted(access.case_ids)))
        seen = sa.or_(*ors) if ors else sa.false()
    if access.restricted_types:
        allowed: sa.ColumnElement[bool] = t.c.case_type.not_in(sorted(access.restricted_types))
        if access.restricted_units:
            allowed = sa.or_(allowed, t.c.unit.in_(sorted(access.restricted_units)))
        seen = sa.and_(seen, allowed)
        readable = _readable_condition(t, access)
        if readable is not None:
            seen = sa.or_(seen, sa.and_(t.c.case_type.in_(sorted(access.restricted_types)), readable))
    if access.hidden_subfiles:  # a lexeme of the tsvector (no column), so indexes built before need no change
        seen = sa.and_(seen, sa.not_(_has_subfile(t, access.hidden_subfiles)))
    if access.hidden_case_ids:
        seen = sa.and_(seen, t.c.case_id.not_in(sorted(access.hidden_case_ids)))
    return seen


def _has_subfile(t: sa.Table, subfiles: frozenset[str]) -> sa.ColumnElement[bool]:
    query = " | ".join(_operand(_keyword_lexeme("subfile", s)) for s in sorted(subfiles))
    return t.c.tsv.bool_op("@@")(sa.cast(sa.literal(query, sa.Text), _TSQUERY))


def _readable_condition(t: sa.Table, access: AccessFilter) -> sa.ColumnElement[bool] | None:
    """The documents of restricted types the caller reads however far their general view reaches
    (`AccessFilter.readable`, `readable_case_ids`, `readable_subfiles`); None: none."""
    ors: list[sa.ColumnElement[bool]] = [sa.and_(t.c.case_type == case_type, t.c.unit == unit)
                                         for case_type, unit in sorted(access.readable)]
    if access.readable_case_ids:
        ors.append(t.c.case_id.in_(sorted(access.readable_case_ids)))
    if access.readable_subfiles:
        ors.append(_has_subfile(t, access.readable_subfiles))
    return sa.or_(*ors) if ors else None


def filter_condition(t: sa.Table, f: Filters) -> sa.ColumnElement[bool]:
    conds: list[sa.ColumnElement[bool]] = [sa.true()]
    for name in ("case_type", "unit", "status", "kind"):
        value = getattr(f, name)
        if value is not None:
            conds.append(t.c[name] == value)  # exact, as chosen from the facets
    if f.date_from:
        conds.append(t.c.created_at >= _midnight(f.date_from))
    if f.date_to:
        conds.append(t.c.created_at < _midnight(f.date_to + dt.timedelta(days=1)))
    return sa.and_(*conds)


# ---------------------------------------------------------------------------------------------------------------
# the index


class PostgresIndex:
    """`SearchIndex` on PostgreSQL (psycopg 3). Call `ensure_schema()` once before use (idempotent)."""

    def __init__(self, engine: sa.Engine, table: str = "search_documents") -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("PostgresIndex needs a PostgreSQL database")
        self.engine = engine
        self.table = search_documents_table(sa.MetaData(), table)
        self._upsert = self._upsert_statement()

    # -- schema ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: connections belong to the engine, which its owner disposes."""

    def ensure_schema(self) -> None:
        """Create the table and its indexes unless they exist; safe when several servers start at once."""
        with self.engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(self.table.name))))
            storage = conn.execute(sa.text(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attname = 'tsv'"),
                {"t": f'"{self.table.name}"'}).scalar()
            for statement in schema_statements(self.table):
                if storage != "m" or not isinstance(statement, sa.TextClause):  # ALTER TABLE only when needed
                    conn.execute(statement)

    def drop_schema(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.schema.DropTable(self.table, if_exists=True))

    # -- writing --------------------------------------------------------------------------------------------------

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Upsert by document_id, BATCH documents per transaction; `docs` is read lazily, and at most two batches
        are in memory: while PostgreSQL writes one, the next is analysed here (a thread waiting for the
        database does not hold the GIL)."""
        it = iter(docs)
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="search-index") as writer:
            pending: concurrent.futures.Future[None] | None = None
            while batch := list(itertools.islice(it, BATCH)):
                rows = list({d.document_id: _row(d) for d in batch}.values())  # of one id, the last wins
                if pending is not None:
                    pending.result()
                pending = writer.submit(self._write, rows)
            if pending is not None:
                pending.result()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._upsert, rows)

    def _upsert_statement(self) -> sa.TextClause:
        cols = [c.name for c in self.table.columns]
        values = ", ".join(f"CAST(:{c} AS jsonb)" if c == "metadata" else
                           f"CAST(:{c} AS tsvector)" if c == "tsv" else f":{c}" for c in cols)
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "document_id")
        return sa.text(f'INSERT INTO "{self.table.name}" ({", ".join(cols)}) VALUES ({values}) '
                       f"ON CONFLICT (document_id) DO UPDATE SET {update}")

    def delete(self, document_ids: Iterable[int]) -> None:
        it = iter(document_ids)
        with self.engine.begin() as conn:
            while ids := list(itertools.islice(it, 10_000)):
                conn.execute(sa.delete(self.table).where(self.table.c.document_id.in_(ids)))

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f'TRUNCATE "{self.table.name}"'))

    def document_ids(self) -> list[int]:
        t = self.table
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.c.document_id).order_by(t.c.document_id)).scalars())

    # -- searching ------------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> Page:
        """One statement (one snapshot, one scan of the matches): the matching rows the caller may see are
        collected once (with their rank when sorting by relevance), and both the page (with its stored text)
        and the facet counts, the exact total among them, are taken from that set."""
        t = self.table
        compiler = _Compiler(t)
        query = compiler.compile(request.query)
        where = sa.and_(query, access_condition(t, request.access), filter_condition(t, request.filters))
        rank_query = " | ".join(f"({q})" for q in dict.fromkeys(compiler.rank))  # "" without words
        by_rank = request.sort != "date" and bool(rank_query)
        facet_cols = [t.c[name] for name in FACETS] if request.facets else []
        m = (sa.select(t.c.document_id, t.c.case_id, t.c.created_at, *facet_cols,
                       *([_rank(t.c.tsv, rank_query).label("score")] if by_rank else []))
             .where(where).cte("m"))
        order = [m.c.created_at.desc().nulls_last(), m.c.document_id.desc()]
        if by_rank:
            order.insert(0, m.c.score.desc())
        page = (sa.select(m.c.document_id, m.c.case_id, m.c.created_at, *([m.c.score] if by_rank else []))
                .order_by(*order).limit(max(request.limit, 0)).offset(max(request.offset, 0)).subquery("page"))
        score = page.c.score if by_rank else _rank(t.c.tsv, rank_query) if rank_query else sa.literal(0.0, sa.REAL)
        null_facets = [sa.null().cast(c.type).label(c.name) for c in facet_cols]
        page_rows = (sa.select(sa.literal(0).label("part"), page.c.created_at, page.c.document_id, page.c.case_id,
                               sa.cast(score, sa.Float).label("score"), t.c.text, *null_facets,
                               *(sa.literal(1).label(f"g_{c.name}") for c in facet_cols),
                               sa.cast(sa.null(), sa.BigInteger).label("n"))
                     .join_from(page, t, page.c.document_id == t.c.document_id))
        counts = sa.select(sa.literal(1), sa.cast(sa.null(), sa.DateTime), sa.cast(sa.null(), sa.BigInteger),
                           sa.cast(sa.null(), sa.BigInteger), sa.cast(sa.null(), sa.Float),
                           sa.cast(sa.null(), sa.Text), *(m.c[c.name] for c in facet_cols),
                           *(sa.func.grouping(m.c[c.name]) for c in facet_cols), sa.func.count()).select_from(m)
        if facet_cols:
            counts = counts.group_by(sa.func.grouping_sets(*(sa.tuple_(m.c[c.name]) for c in facet_cols),
                                                           sa.tuple_()))
        with self.engine.connect() as conn:
            if _gin_driven(request.query):
                # The planner prices `tsv @@ query` like any operator, not like the detoasting of a tsvector it
                # is; for a frequent word it would scan the table and test every row. The GIN index (exact,
                # no recheck for words) and the filter columns' indexes are far cheaper.
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.execute(sa.union_all(page_rows, counts)).all()
            conn.rollback()
        wanted = snippets.highlight_terms(request.query)
        hits: list[tuple[tuple[Any, ...], Hit]] = []
        total = 0
        facets: dict[str, dict[str, int]] = {name: {} for name in FACETS} if request.facets else {}
        for row in rows:
            if row.part == 0:
                newest = (row.created_at is not None, row.created_at or dt.datetime.min, row.document_id)
                key = (row.score, *newest) if by_rank else newest
                hits.append((key, Hit(row.document_id, row.case_id, float(row.score or 0.0),
                                              snippets.make_snippet(row.text, wanted))))
                continue
            grouped = [name for name in FACETS if request.facets and row._mapping[f"g_{name}"] == 0]
            if not grouped:
                total = row.n
            elif (value := row._mapping[grouped[0]]) not in (None, ""):
                facets[grouped[0]][str(value)] = row.n
        hits.sort(key=lambda h: h[0], reverse=True)  # the union's parts come in any order: the page's order
        return Page([hit for _, hit in hits], total,
                    {name: dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
                     for name, values in facets.items()})


def _rank(vector: sa.ColumnElement[Any], tsquery: str) -> sa.ColumnElement[float]:
    return sa.func.ts_rank(sa.cast(sa.literal(RANK_WEIGHTS), sa.ARRAY(sa.REAL)), vector,
                           sa.cast(sa.literal(tsquery, sa.Text), _TSQUERY), RANK_NORMALIZATION)


def _gin_driven(node: Node) -> bool:
    """Whether every match needs a positive word or phrase, so that the GIN index can find the candidates."""
    if isinstance(node, (Term, Phrase)):
        return True
    if isinstance(node, And):
        return any(_gin_driven(item) for item in node.items)
    if isinstance(node, Or):
        return all(_gin_driven(item) for item in node.items)
    return False


# ---------------------------------------------------------------------------------------------------------------


def _lock_key(name: str) -> int:
    return 0x5EA4C4_00000000 + zlib.crc32(name.encode())


def _clean(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters (extracted PDF text sometimes has them)."""
    return value.replace("\x00", " ") if "\x00" in value else value


def _row(d: IndexedDocument) -> dict[str, Any]:
    if any("\x00" in str(v) for v in (d.text, d.title, d.case_title, d.reference, *d.metadata.keys(),
                                          *d.metadata.values())):
        d = dataclasses.replace(d, text=_clean(d.text), title=_clean(d.title), case_title=_clean(d.case_title),
                                reference=_clean(d.reference),
                                metadata={_clean(k): _clean(str(v)) for k, v in d.metadata.items()})
    created = d.created_at
    if created is not None and created.tzinfo is not None:
        created = created.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return {
        "document_id": d.document_id, "case_id": d.case_id, "reference": d.reference, "case_title": d.case_title,
        "case_type": d.case_type, "unit": d.unit, "file_plan_code": d.file_plan_code, "status": d.status,
        "title": d.title, "kind": d.kind, "mime_type": d.mime_type, "document_date": d.document_date,
        "created_at": created, "year": created.year if created else None,
        "metadata": json.dumps({k: str(v) for k, v in d.metadata.items()}, ensure_ascii=False),
        "text": d.text[:SNIPPET_SOURCE_CHARS],
        "tsv": tsvector_literal(d),
    }
