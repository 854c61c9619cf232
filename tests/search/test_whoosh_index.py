"""What only the whoosh backend has: the index directory (schema versions, several processes/instances on one
directory, writes seen by the next search), thread safety, its segment caches, a differential check of
relevance paging against brute force, facets of large result sets. Latency at scale: benchmarks/search.py."""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from search import AccessFilter, Filters, IndexedDocument, SearchRequest
from search.ast import And, Node, Not, Or, Phrase, Term
from search.query import parse
from search.whoosh_index import SCHEMA_VERSION, WhooshIndex

ALL = AccessFilter(all_units=True)


def doc(document_id: int, text: str = "", **kw: object) -> IndexedDocument:
    values: dict[str, object] = dict(
        document_id=document_id, case_id=document_id // 3, reference=f"20.30/{document_id:04d}/2026",
        case_title="Akte", case_type="general", unit="20", file_plan_code="20.30", status="open",
        title=f"Dokument {document_id}", kind="letter", mime_type="application/pdf", text=text,
        created_at=dt.datetime(2026, 1, 1) + dt.timedelta(hours=document_id))
    values.update(kw)
    return IndexedDocument(**values)  # type: ignore[arg-type]


def search(ix: WhooshIndex, query: str | Node, access: AccessFilter = ALL, **kw: object):  # type: ignore[no-untyped-def]
    node = parse(query) if isinstance(query, str) else query
    return ix.search(SearchRequest(node, access, **kw))  # type: ignore[arg-type]


@pytest.fixture
def ix(tmp_path: Path) -> Iterator[WhooshIndex]:
    index = WhooshIndex(tmp_path / "index")
    yield index
    index.close()


def test_a_second_instance_on_the_same_directory_sees_writes_at_once(tmp_path: Path) -> None:
    writer, reader = WhooshIndex(tmp_path / "ix"), WhooshIndex(tmp_path / "ix")
    assert search(reader, "Haushaltssatzung").total == 0  # opens its searcher before the write
    writer.index([doc(1, "Haushaltssatzung 2026")])
    assert search(reader, "Haushaltssatzung").total == 1
    writer.index([doc(1, "Nachtragshaushalt")])
    assert search(reader, "Haushaltssatzung").total == 0 and search(reader, "Nachtragshaushalt").total == 1
    writer.clear()
    assert search(reader, "").total == 0
    writer.close()
    reader.close()


def test_an_index_of_another_layout_is_recreated(tmp_path: Path) -> None:
    ix = WhooshIndex(tmp_path / "ix")
    ix.index([doc(1, "alt")])
    ix.close()
    assert WhooshIndex(tmp_path / "ix").document_ids() == [1]
    (tmp_path / "ix" / "eakte-schema-version").write_text("0\n")
    again = WhooshIndex(tmp_path / "ix")
    assert again.document_ids() == []
    assert (tmp_path / "ix" / "eakte-schema-version").read_text().strip() == SCHEMA_VERSION
    again.close()


def test_threads_search_while_another_writes(ix: WhooshIndex) -> None:
    ix.index([doc(i, f"Bauantrag Nummer {i}") for i in range(1, 51)])
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                page = search(ix, "Bauantrag", limit=5)
                assert page.total >= 50 and len(page.hits) == 5
                assert all("<mark>" in h.snippet for h in page.hits)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for batch in range(5):
            ix.index([doc(100 + batch * 10 + i, "Bauantrag neu") for i in range(10)])
            other = WhooshIndex(ix.path)  # a second writer on the same directory (another process in real life)
            other.index([doc(500 + batch, "Bauantrag von woanders")])
            other.close()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert search(ix, "Bauantrag").total == 50 + 50 + 5


def test_many_small_commits_and_segment_caches(ix: WhooshIndex) -> None:
    for i in range(1, 41):  # one commit each, as the outbox drain does; whoosh merges segments on the way
        ix.index([doc(i, f"Vermerk {i}", unit=str(i % 3), created_at=dt.datetime(2025 + i % 2, 1, 1))])
    ix.delete(range(1, 11))
    page = search(ix, "Vermerk", limit=0)
    assert page.total == 30
    assert page.facets["unit"] == {"0": 10, "1": 10, "2": 10}
    assert page.facets["year"] == {"2025": 15, "2026": 15}
    assert sorted(ix.document_ids()) == list(range(11, 41))
    live = {leaf.reader().segment().segment_id() for leaf, _ in ix._searcher().leaf_searchers()}
    assert set(ix._segments) <= live  # arrays of merged-away segments are dropped


def test_documents_without_dates_and_with_aware_datetimes(ix: WhooshIndex) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    ix.index([doc(1, "Vorgang", created_at=None),
              doc(2, "Vorgang", created_at=dt.datetime(2026, 3, 1, 0, 30, tzinfo=berlin)),
              doc(3, "Vorgang", created_at=dt.datetime(2026, 2, 1))])
    page = search(ix, "Vorgang", sort="date")
    assert [h.document_id for h in page.hits] == [2, 3, 1]  # undated last
    assert page.facets["year"] == {"2026": 2}
    # an aware datetime is stored in UTC: 2026-03-01 00:30+01:00 is 2026-02-28 23:30 UTC
    assert {h.document_id for h in search(ix, "created_at:2026-02").hits} == {2, 3}
    assert search(ix, "Vorgang", filters=Filters(date_from=dt.date(2026, 3, 1))).total == 0


def test_keyword_queries_fold_but_filters_are_exact(ix: WhooshIndex) -> None:
    ix.index([doc(1, "x", unit="FB20", case_type="Bauantrag", kind="Bescheid Entwurf")])
    assert search(ix, "unit:fb20").total == 1
    assert search(ix, "case_type:bauantrag").total == 1
    assert search(ix, 'kind:"bescheid entwurf"').total == 1
    assert search(ix, "kind:besch*").total == 1
    assert search(ix, "", filters=Filters(unit="FB20")).total == 1
    assert search(ix, "", filters=Filters(unit="fb20")).total == 0
    assert search(ix, "", access=AccessFilter(units=frozenset({"FB20"}))).total == 1


def _random_query(rnd: random.Random, words: list[str]) -> Node:
    pick = lambda: Term(rnd.choice(words))  # noqa: E731
    shape = rnd.randrange(6)
    if shape == 0:
        return pick()
    if shape == 1:
        return Or((pick(), pick(), pick()))
    if shape == 2:
        return And((pick(), Not(pick())))
    if shape == 3:
        return Phrase((rnd.choice(words), rnd.choice(words)))
    if shape == 4:
        return Term(rnd.choice(words)[:3], prefix=True)
    return Or((And((pick(), pick())), pick()))


def test_relevance_pages_agree_with_brute_force_under_access_filters(ix: WhooshIndex) -> None:
    """whoosh's top-N collector skips blocks that cannot make the page; with the access filter as a filter set
    it must still return exactly the best-scoring visible documents, page after page."""
    rnd = random.Random(7)
    words = "Antrag Bescheid Frist Gebühr Rechnung Steuer Vertrag Akte Meldung Satzung Haushalt Prüfung".split()
    units = ["10", "20", "32", "40"]
    docs = [doc(i, " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 60))), unit=units[i % 4],
                case_type="personnel" if i % 7 == 0 else "general") for i in range(1, 601)]
    for start in range(0, len(docs), 150):  # several segments
        ix.index(docs[start:start + 150])
    accesses = [ALL, AccessFilter(units=frozenset({"20"})),
                AccessFilter(units=frozenset({"10", "32"}), case_ids=frozenset({5, 6})),
                AccessFilter(all_units=True, restricted_types=frozenset({"personnel"}),
                             restricted_units=frozenset({"40"}))]
    for _ in range(40):
        query = _random_query(rnd, words)
        access = rnd.choice(accesses)
        everything = search(ix, query, access, limit=1000)
        assert len(everything.hits) == everything.total
        scores = [h.score for h in everything.hits]
        assert scores == sorted(scores, reverse=True)
        for offset in (0, 7, 20):
            page = search(ix, query, access, offset=offset, limit=10)
            assert page.total == everything.total
            assert [round(h.score, 9) for h in page.hits] == [round(s, 9) for s in scores[offset:offset + 10]]
            visible = {h.document_id for h in everything.hits}
            assert {h.document_id for h in page.hits} <= visible


def test_facets_of_large_result_sets_count_exactly_after_updates(ix: WhooshIndex) -> None:
    """A result set larger than half a segment is counted as the segment's totals minus the rest; replaced
    (deleted) documents and documents outside the caller's view must not count either way."""
    ix.index([doc(i, "Bescheid Gebühr", unit="20" if i % 3 else "32", kind="notice" if i % 2 else "letter")
              for i in range(1, 41)])
    ix.index([doc(i, "Bescheid neu", unit="32", kind="letter") for i in range(1, 6)])  # 1..5 replaced
    expected_units = {"20": sum(1 for i in range(6, 41) if i % 3), "32": 5 + sum(1 for i in range(6, 41) if not i % 3)}
    page = search(ix, "Bescheid")
    assert page.total == 40 and page.facets["unit"] == dict(sorted(expected_units.items(), key=lambda kv: -kv[1]))
    clerk = search(ix, "Bescheid", AccessFilter(units=frozenset({"20"})))
    assert clerk.total == expected_units["20"] and clerk.facets["unit"] == {"20": expected_units["20"]}
    gebuehr = search(ix, "Gebühr")  # the replaced documents no longer have the word
    assert gebuehr.total == 35 and sum(gebuehr.facets["kind"].values()) == 35
