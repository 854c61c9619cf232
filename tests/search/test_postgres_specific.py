"""What only the PostgreSQL backend has: its table (idempotent schema, the DDL for a migration), batched upserts,
PostgreSQL's tsvector limits, the access filter inside the SQL; random queries checked against a brute-force
reading of the query (`Oracle`); bounded memory while indexing EAKTE_SEARCH_SCALE_DOCS documents (10,000 unless
told). Latency at scale is measured in benchmarks/search.py."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import threading
import uuid
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from search import AccessFilter, Filters, IndexedDocument, SearchRequest
from search.ast import And, DateRange, MatchAll, Not, Or, Phrase, Term

PG_URL = os.environ.get("EAKTE_TEST_DATABASE_URL", "")
pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="EAKTE_TEST_DATABASE_URL not set: PostgreSQL tests skipped")]

ALL = AccessFilter(all_units=True)


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    base = make_url(PG_URL)
    name = f"eakte_search_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng = sa.create_engine(base.set(database=name))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def index(engine: sa.Engine):  # type: ignore[no-untyped-def]
    from search.postgres_index import PostgresIndex
    ix = PostgresIndex(engine, f"search_{uuid.uuid4().hex[:8]}")
    ix.ensure_schema()
    yield ix
    ix.drop_schema()


def doc(document_id: int, text: str = "", **kw: object) -> IndexedDocument:
    fields: dict[str, object] = dict(
        document_id=document_id, case_id=document_id, reference=f"20.30/{document_id:04d}/2026",
        case_title="Akte", case_type="general", unit="20", file_plan_code="20.30", status="open",
        title=f"Dokument {document_id}", kind="letter", mime_type="application/pdf", text=text,
        created_at=dt.datetime(2026, 1, 1) + dt.timedelta(days=document_id % 300))
    fields.update(kw)
    return IndexedDocument(**fields)  # type: ignore[arg-type]


def search(ix, query, access: AccessFilter = ALL, **kw):  # type: ignore[no-untyped-def]
    return ix.search(SearchRequest(query, access, **kw))


# -- schema ---------------------------------------------------------------------------------------------------------


def test_schema_is_idempotent_and_safe_to_race(engine: sa.Engine) -> None:
    from search.postgres_index import PostgresIndex
    ix = PostgresIndex(engine, "search_race")
    errors: list[BaseException] = []

    def create() -> None:
        try:
            ix.ensure_schema()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    ix.ensure_schema()
    ix.index([doc(1, "Rechnung")])
    ix.ensure_schema()  # again, with data: nothing lost
    assert ix.document_ids() == [1]
    with engine.connect() as conn:
        indexes: dict[str, str] = dict(conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_race'")).all())
    assert any("USING gin (tsv)" in d for d in indexes.values())
    for name in ("filters", "case_id", "created_at", "document_date"):
        assert f"ix_search_race_{name}" in indexes
    ix.drop_schema()


def test_migration_ddl_creates_what_ensure_schema_creates(engine: sa.Engine) -> None:
    from search.postgres_index import PostgresIndex, schema_statements, search_documents_table
    table = search_documents_table(sa.MetaData(), "search_migrated")
    with engine.begin() as conn:  # as an Alembic migration would: op.execute(statement) for each
        for statement in schema_statements(table):
            conn.execute(statement)
    ix = PostgresIndex(engine, "search_migrated")
    ix.ensure_schema()  # nothing left to do
    ix.index([doc(1, "Haushaltssatzung")])
    assert search(ix, Term("Haushaltssatzung")).total == 1
    inspected = sa.inspect(engine)
    assert {c["name"] for c in inspected.get_columns("search_migrated")} == {c.name for c in table.columns}
    assert {i["name"] for i in inspected.get_indexes("search_migrated")} == {i.name for i in table.indexes}
    assert inspected.get_pk_constraint("search_migrated")["constrained_columns"] == ["document_id"]
    with engine.connect() as conn:
        storage = conn.execute(sa.text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'search_migrated'"
                                       "::regclass AND attname = 'tsv'")).scalar_one()
    assert storage == "m"  # the tsvector stays in the row (see schema_statements)
    ix.drop_schema()


# -- writing --------------------------------------------------------------------------------------------------------


def test_upsert_replaces_a_document(index) -> None:
    index.index([doc(1, "Gebührenbescheid über Abwassergebühren")])
    assert search(index, Term("Abwassergebühren")).total == 1
    index.index([doc(1, "Mahnung wegen Grundsteuer", title="Mahnung")])
    assert index.document_ids() == [1]
    assert search(index, Term("Abwassergebühren")).total == 0
    assert search(index, Term("Grundsteuer")).total == 1
    assert search(index, Term("Mahnung", field="title")).total == 1


def test_batches_and_duplicates_within_one_call(index) -> None:
    from search.postgres_index import BATCH
    n = BATCH * 2 + 17
    consumed = 0

    def docs() -> Iterator[IndexedDocument]:  # a generator: index() must not need a list
        nonlocal consumed
        for i in range(1, n + 1):
            consumed += 1
            yield doc(i, f"Vorgang Nummer {i} Haushaltsplan")
        yield doc(5, "ersetzt: Kassenanordnung")  # the same id again, later: the later wins

    index.index(docs())
    assert consumed == n
    assert index.document_ids() == list(range(1, n + 1))
    assert search(index, Term("Haushaltsplan")).total == n - 1
    assert [h.document_id for h in search(index, Term("Kassenanordnung")).hits] == [5]
    index.delete(iter(range(1, 11)))
    assert len(index.document_ids()) == n - 10
    index.delete([])
    index.clear()
    assert index.document_ids() == []


def test_nul_characters_and_aware_datetimes(index) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    index.index([doc(1, "Seite 1\x00Seite 2 Haushalt", title="Titel\x00", metadata={"a\x00": "b\x00c"},
                     created_at=dt.datetime(2026, 3, 1, 0, 30, tzinfo=berlin))])
    assert search(index, Term("Haushalt")).total == 1
    assert search(index, DateRange("created_at", dt.date(2026, 2, 28), dt.date(2026, 2, 28))).total == 1  # UTC


def test_text_with_more_lexemes_than_a_tsvector_holds_is_indexed(index) -> None:
    rnd = random.Random(7)
    alphabet = "абвгдежзиклмнопрстуфхцчшщэюя"  # two bytes each: 1,000,000 characters are > 1 MB of lexemes
    words = ["".join(rnd.choice(alphabet) for _ in range(9)) for _ in range(110_000)]
    index.index([doc(1, "Anfang " + " ".join(words)), doc(2, "Kleines Dokument")])
    assert index.document_ids() == [1, 2]
    assert search(index, Term("Anfang")).total == 1
    assert search(index, Term(words[10])).total == 1


# -- searching ------------------------------------------------------------------------------------------------------


@pytest.fixture
def town(index):  # type: ignore[no-untyped-def]
    index.index([
        doc(1, "Die Widerspruchsfrist für Rechnungen beträgt einen Monat. <script>alert(1)</script> & mehr",
            case_title="Widerspruch gegen Gebührenbescheid Müller", title="Bescheid",
            metadata={"supplier": "Müller & Söhne GmbH"}),
        doc(2, "Geheimwort Quastenflosser im Ordnungsamt", unit="32", case_type="trade", kind="form",
            created_at=dt.datetime(2025, 6, 1)),
        doc(3, "Quastenflosser Beurteilung vertraulich", case_type="personnel_file", kind="note"),
        doc(4, "Die Straßenreinigung wird neu ausgeschrieben", unit="32", status="closed",
            document_date=dt.date(2024, 3, 1)),
    ])
    return index


def test_access_filter_restricts_totals_facets_and_hits(town) -> None:
    olga = AccessFilter(units=frozenset({"32"}), restricted_types=frozenset({"personnel_file"}))
    page = search(town, Term("Quastenflosser"), olga)
    assert page.total == 1 and [h.document_id for h in page.hits] == [2]
    assert page.facets["unit"] == {"32": 1} and page.facets["case_type"] == {"trade": 1}
    auditor = AccessFilter(all_units=True, restricted_types=frozenset({"personnel_file"}))
    assert search(town, Term("Quastenflosser"), auditor).total == 1
    personnel = AccessFilter(units=frozenset({"20"}), restricted_types=frozenset({"personnel_file"}),
                             restricted_units=frozenset({"20"}))
    assert {h.document_id for h in search(town, Term("Quastenflosser"), personnel).hits} == {3}
    by_case = AccessFilter(case_ids=frozenset({4}))
    assert [h.document_id for h in search(town, MatchAll(), by_case).hits] == [4]
    nobody = search(town, MatchAll(), AccessFilter())
    assert nobody.total == 0 and not nobody.hits and all(v == {} for v in nobody.facets.values())


def test_folding_stemming_compounds_and_fields(town) -> None:
    for q in ("Mueller", "Muller", "MÜLLER", "rechnung", "Rechnungen", "Straßenreinigung", "STRASSENREINIGUNG"):
        assert search(town, Term(q)).total >= 1, q
    assert search(town, Term("Strassenreinigung", field="text")).total == 1
    assert search(town, Term("Bescheid", field="title")).total == 1
    assert search(town, Term("Bescheid", field="text")).total == 0
    assert search(town, Term("Gebührenbescheid", field="case_title")).total == 1
    assert search(town, Term("Söhne", field="meta.supplier")).total == 1
    assert search(town, Term("soehne", field="meta.supplier")).total == 1
    assert search(town, Term("Meier", field="meta.supplier")).total == 0
    assert search(town, Term("20.30/0001/2026")).total == 1
    assert search(town, Term("20.30/0001/2026", field="reference")).total == 1
    assert search(town, Term("32", field="unit")).total == 2
    assert search(town, Term("quasten", prefix=True)).total == 2
    assert search(town, Phrase(("Rechnungen", "beträgt"))).total == 1
    assert search(town, Phrase(("beträgt", "Rechnungen"))).total == 0
    assert search(town, Term("die")).total == 2  # no stop words, as in the whoosh backend
    assert search(town, Term("LETTER", field="kind")).total == 2  # keyword fields: exact after folding
    assert search(town, Term("lett", field="kind", prefix=True)).total == 2
    assert search(town, Term("lett", field="kind")).total == 0
    assert search(town, Phrase(("Bescheid", "Widerspruch"))).total == 0  # no phrase across fields
    assert search(town, Or((Term("Geheimwort"), Term("Straßenreinigung")))).total == 2
    assert search(town, And((Term("Quastenflosser"), Not(Term("vertraulich"))))).total == 1
    assert search(town, DateRange("document_date", dt.date(2024, 1, 1), dt.date(2024, 12, 31))).total == 1
    assert search(town, Not(DateRange("document_date", dt.date(2024, 1, 1), None))).total == 3
    assert search(town, DateRange("created_at", None, dt.date(2025, 12, 31))).total == 1
    assert search(town, MatchAll(), filters=Filters(date_from=dt.date(2025, 6, 1),
                                                    date_to=dt.date(2025, 6, 1))).total == 1


def test_snippets_are_escaped_and_mark_folded_and_compound_matches(town) -> None:
    hit = search(town, Term("Rechnung")).hits[0]
    assert "<mark>Rechnungen</mark>" in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "<script>" not in hit.snippet and "&amp;" in hit.snippet
    assert "<mark>Widerspruchsfrist</mark>" in search(town, Term("frist")).hits[0].snippet
    assert "<mark>Straßenreinigung</mark>" in search(town, Term("Strassenreinigung")).hits[0].snippet
    assert "<mark>Monat</mark>" in search(town, Phrase(("einen", "Monat"))).hits[0].snippet
    assert "<mark>" not in search(town, Term("Bescheid", field="title")).hits[0].snippet


def test_sorting_paging_and_exact_totals(index) -> None:
    index.index([doc(i, "Haushalt " * (i % 5 + 1) + "Bericht", created_at=dt.datetime(2026, 1, 1)
                     + dt.timedelta(hours=i)) for i in range(1, 46)])
    pages = [search(index, Term("Haushalt"), offset=o, limit=10) for o in range(0, 50, 10)]
    assert all(p.total == 45 for p in pages)
    ids = [h.document_id for p in pages for h in p.hits]
    assert sorted(ids) == list(range(1, 46))  # no duplicates, none missing across pages
    scores = [h.score for p in pages for h in p.hits]
    assert scores == sorted(scores, reverse=True)
    by_date = [h.document_id for h in search(index, Term("Haushalt"), sort="date", limit=45).hits]
    assert by_date == list(range(45, 0, -1))
    assert search(index, Term("Haushalt"), offset=100).hits == []


# -- scale ----------------------------------------------------------------------------------------------------------

VOCABULARY = ("Antrag Bescheid Gebühr Rechnung Widerspruch Frist Stadt Gemeinde Verwaltung Kasse Haushalt Satzung "
              "Bürger Straße Grundstück Bebauungsplan Baugenehmigung Abwasser Müll Schule Kindergarten Feuerwehr "
              "Ordnungsamt Kämmerei Personal Vertrag Ausschreibung Vergabe Angebot Zahlung Mahnung Steuer Grundsteuer "
              "Gewerbe Anmeldung Genehmigung Prüfung Bericht Protokoll Sitzung Rat Ausschuss Beschluss Vorlage Akte "
              "Vorgang Schreiben Anlage Nachweis Bestätigung Erklärung Verfügung Anordnung Auftrag Leistung Betrag "
              "Euro Konto Datum Monat Jahr Woche Termin Ort Raum Gebäude Sanierung Planung Kosten Förderung Mittel "
              "Zuschuss Verwendung Nachweisung Abrechnung Umlage Beitrag Erschließung Friedhof Wasser Strom Gas").split()
FILLER = "der die das und in zu den mit von für auf ist im nicht ein eine als auch es an werden aus er hat".split()


SYLLABLES = ("an ab be bei da de din ein er fa ge gen ha hal he hin ka ke kor la lan le lin ma me mit na ne "
             "nor o pa pe ra re rin sa sche se sta ste stei ta te ter un ver vor wa we wer zu zen").split()


class Corpus:
    """A German-like corpus: the municipal VOCABULARY among 30,000 made-up words, Zipf-distributed (a few words
    in most documents, most words in few), 30 % stop words, and one rare reference word per document."""

    def __init__(self, seed: int = 1) -> None:
        rnd = random.Random(seed)
        made_up = list(dict.fromkeys("".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4))).capitalize()
                                     for _ in range(40_000)))[:30_000]
        for k, word in enumerate(VOCABULARY):  # municipal words at ranks from 3 to about 3,000
            made_up.insert(min(len(made_up), int(3 * 1.09 ** k)), word)
        self.words = made_up
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(made_up))))
        self.rnd = rnd

    def text(self, rnd: random.Random) -> list[str]:
        n = rnd.randint(300, 800)
        content = rnd.choices(self.words, cum_weights=self.cum_weights, k=n)
        return [rnd.choice(FILLER) if rnd.random() < 0.3 else w for w in content]


def _scale_docs(n: int, seed: int = 1) -> Iterator[IndexedDocument]:
    corpus = Corpus(seed)
    rnd = random.Random(seed)
    units = ["10", "14", "20", "32", "40", "50", "60", "70"]
    for i in range(1, n + 1):
        words = corpus.text(rnd)
        words.insert(rnd.randrange(len(words)), f"Aktenzeichen{rnd.randrange(20_000):05d}")
        yield doc(i, " ".join(words), unit=units[i % len(units)], case_id=i // 3,
                  case_type="personnel_file" if i % 50 == 0 else "general",
                  title=f"{rnd.choice(VOCABULARY)} {rnd.choice(VOCABULARY)}", kind=rnd.choice(["letter", "note"]))


def test_indexing_many_documents_keeps_memory_bounded(index) -> None:
    """Documents go in as a stream, written in batches: the client never holds the corpus (latency at scale is
    measured in benchmarks/search.py)."""
    import psutil
    n = int(os.environ.get("EAKTE_SEARCH_SCALE_DOCS", "10000"))
    rss = psutil.Process().memory_info().rss
    index.index(_scale_docs(n))
    grown_mb = (psutil.Process().memory_info().rss - rss) / 2**20
    assert grown_mb < 300
    assert len(index.document_ids()) == n


# -- the same answers as a brute-force reading of the query ----------------------------------------------------------


class Oracle:
    """The query semantics, evaluated document by document in Python with `search.analysis` (the contract's
    meaning of every AST node, the access filter and the filters), to check the SQL against."""

    KEYWORDS = ("reference", "case_type", "unit", "file_plan_code", "status", "kind", "mime_type")

    def __init__(self, docs: list[IndexedDocument]) -> None:
        from search import analysis
        self.a = analysis
        self.docs = docs
        self.fields = {d.document_id: self._fields(d) for d in docs}

    def _positions(self, text: str, prefix: str = "") -> list[set[str]]:
        out: list[set[str]] = []
        for tok in self.a.index_tokens(text):
            while len(out) <= tok.pos:
                out.append(set())
            out[tok.pos].add(prefix + tok.term)
        return out

    def _fields(self, d: IndexedDocument) -> dict[str, list[list[set[str]]]]:
        other = [d.reference, d.file_plan_code, d.kind, d.case_type, *d.metadata.values()]
        meta = [self._positions(v, f"{self.a.fold(k.strip())}:") for k, v in d.metadata.items()]
        return {"title": [self._positions(d.title)], "case_title": [self._positions(d.case_title)],
                "text": [self._positions(d.text)], "other": [self._positions(v) for v in other], "meta": meta}

    @staticmethod
    def _phrase(runs: list[list[set[str]]], terms: list[str], start: str | None = None) -> bool:
        if start is not None and not terms:
            return any(t.startswith(start) for run in runs for pos in run for t in pos)
        if start is not None:  # the words before, and a word with this start anywhere
            return Oracle._phrase(runs, terms) and Oracle._phrase(runs, [], start)
        if not terms:
            return False
        return any(all(terms[i] in run[p + i] for i in range(len(terms)))
                   for run in runs for p in range(len(run) - len(terms) + 1))

    def matches(self, node, d: IndexedDocument) -> bool:  # type: ignore[no-untyped-def]
        f = self.fields[d.document_id]
        if isinstance(node, MatchAll):
            return True
        if isinstance(node, And):
            return all(self.matches(i, d) for i in node.items)
        if isinstance(node, Or):
            return any(self.matches(i, d) for i in node.items)
        if isinstance(node, Not):
            return not self.matches(node.item, d)
        if isinstance(node, DateRange):
            value = getattr(d, node.field)
            day = value.date() if isinstance(value, dt.datetime) else value
            return day is not None and (node.start is None or day >= node.start) and (
                node.end is None or day <= node.end)
        text = node.text if isinstance(node, Term) else " ".join(node.words)
        prefix = isinstance(node, Term) and node.prefix
        if node.field in self.KEYWORDS:
            value, wanted = self.a.fold(getattr(d, node.field)), self.a.fold(" ".join(text.split()))
            return bool(wanted) and (value.startswith(wanted) if prefix else value == wanted)
        terms = self.a.query_terms(text)
        start = self.a.prefix_term(text) if prefix else None
        if prefix:
            if not start:
                return False
            terms = terms[:-1]
        if node.field and node.field.startswith("meta."):
            tag = f"{self.a.fold(node.field[5:].strip())}:"
            return self._phrase(f["meta"], [tag + t for t in terms], None if start is None else tag + start)
        runs = f[node.field] if node.field else [r for name in ("title", "case_title", "text", "other") for r in f[name]]
        return self._phrase(runs, terms, start)

    def visible(self, d: IndexedDocument, access: AccessFilter, filters: Filters) -> bool:
        seen = access.all_units or d.unit in access.units or d.case_id in access.case_ids
        allowed = d.case_type not in access.restricted_types or d.unit in access.restricted_units
        day = d.created_at.date() if d.created_at else None
        return seen and allowed and all(
            getattr(filters, name) is None or getattr(filters, name) == getattr(d, name)
            for name in ("case_type", "unit", "status", "kind")) and (
            filters.date_from is None or (day is not None and day >= filters.date_from)) and (
            filters.date_to is None or (day is not None and day <= filters.date_to))

    def search(self, request: SearchRequest) -> tuple[set[int], dict[str, dict[str, int]], list[int]]:
        from collections import Counter
        hits = [d for d in self.docs if self.visible(d, request.access, request.filters)
                and self.matches(request.query, d)]
        facets = {"case_type": Counter(d.case_type for d in hits), "unit": Counter(d.unit for d in hits),
                  "year": Counter(str(d.created_at.year) for d in hits if d.created_at),
                  "kind": Counter(d.kind for d in hits), "status": Counter(d.status for d in hits)}
        newest = sorted(hits, key=lambda d: (d.created_at is not None, d.created_at or dt.datetime.min,
                                             d.document_id), reverse=True)
        return {d.document_id for d in hits}, {k: dict(v) for k, v in facets.items()}, \
            [d.document_id for d in newest]


def _random_query(rnd: random.Random, words: list[str]) -> str:
    def word() -> str:
        w = rnd.choice(words)
        shape = rnd.randrange(12)
        if shape == 0:
            return w[:rnd.randint(2, 5)] + "*"
        if shape == 1:
            return f'"{w} {rnd.choice(words)}"'
        if shape == 2:
            return f"{rnd.choice(['title', 'text', 'case_title'])}:{w}"
        if shape == 3:
            return rnd.choice(["unit:20", "kind:NOTE", "case_type:personnel_file", "status:open",
                               "reference:20.30/00*", "file_plan_code:20.30", "mime_type:application/pdf"])
        if shape == 4:
            return f"meta.Thema:{w}" if rnd.random() < 0.7 else f"meta.thema:{w[:3]}*"
        if shape == 5:
            return f"-{w}"
        if shape == 6:
            return f"created_at:[2026-01-{rnd.randint(1, 28):02d} TO 2026-0{rnd.randint(2, 9)}-15]"
        if shape == 7:
            return f"20.30/{rnd.randint(1, 300):04d}/2026"
        if shape == 8:  # two words that follow each other in some document: a phrase that exists
            return f'"{rnd.choice(PHRASES)}"' if PHRASES else w
        return w

    parts = [word() for _ in range(rnd.randint(1, 3))]
    if len(parts) > 1 and rnd.random() < 0.4:
        return f"({parts[0]} OR {parts[1]})" + "".join(f" {p}" for p in parts[2:])
    if rnd.random() < 0.1:
        return f"NOT {parts[0]}"
    return " ".join(parts)


PHRASES: list[str] = []


def test_finds_exactly_what_the_query_means(index) -> None:
    """Random queries of every kind under access filters and filters: the same documents, totals, facets and
    date order as the brute-force `Oracle` (relevance order is the backend's own)."""
    from search.query import parse
    corpus, rnd = Corpus(seed=5), random.Random(5)
    words = [w for w in corpus.words[:400] if w not in FILLER]
    docs = []
    for i in range(1, 301):
        text = corpus.text(rnd)[:rnd.randint(5, 60)]
        PHRASES.append(" ".join(text[3:5]))
        docs.append(doc(i, " ".join(text), unit=rnd.choice(["20", "32", "50"]), status=rnd.choice(["open", "closed"]),
                        case_type=rnd.choice(["general", "general", "personnel_file"]), case_id=i // 2,
                        kind=rnd.choice(["letter", "note"]), title=" ".join(rnd.choices(words, k=2)),
                        case_title=" ".join(rnd.choices(words, k=3)),
                        metadata={"thema": " ".join(rnd.choices(words, k=2))} if i % 3 else {},
                        created_at=dt.datetime(2026, 1, 1) + dt.timedelta(hours=17 * i) if i % 11 else None,
                        document_date=dt.date(2026, 1, 1) + dt.timedelta(days=i % 90) if i % 4 else None))
    index.index(docs)
    oracle = Oracle(docs)
    accesses = [ALL, AccessFilter(units=frozenset({"20"}), case_ids=frozenset({7, 8, 9}),
                                  restricted_types=frozenset({"personnel_file"}), restricted_units=frozenset({"50"})),
                AccessFilter(all_units=True, restricted_types=frozenset({"personnel_file"})),
                AccessFilter(case_ids=frozenset(range(0, 150, 7)))]
    filters = [Filters(), Filters(), Filters(status="open"), Filters(unit="32", kind="note"),
               Filters(date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 4, 30))]
    for _ in range(400):
        query = _random_query(rnd, words)
        request = SearchRequest(parse(query), rnd.choice(accesses), rnd.choice(filters), limit=400)
        expected, facets, newest = oracle.search(request)
        page = index.search(request)
        assert {h.document_id for h in page.hits} == expected and page.total == len(expected), (query, request)
        assert page.facets == facets, (query, request)
        by_date = index.search(SearchRequest(request.query, request.access, request.filters, sort="date", limit=7,
                                             offset=3, facets=False))
        assert [h.document_id for h in by_date.hits] == newest[3:10], (query, request)
