"""The contract every `SearchIndex` backend fulfils (run for each backend in conftest.BACKENDS): German
analysis, the query language, filters, facets, snippets, sorting, paging, updates, and the access filter as
part of the search itself."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from search import FACETS, AccessFilter, Filters, IndexedDocument, Page, QueryError, SearchIndex, SearchRequest
from search.ast import Node
from search.query import parse

EVERYTHING = AccessFilter(all_units=True)
CLERK_20 = AccessFilter(units=frozenset({"20"}), restricted_types=frozenset({"personnel"}),
                        restricted_units=frozenset({"20"}))
AUDITOR = AccessFilter(all_units=True, restricted_types=frozenset({"personnel"}), restricted_units=frozenset({"14"}))
PERSONNEL_CLERK = AccessFilter(units=frozenset({"11"}), restricted_types=frozenset({"personnel"}),
                               restricted_units=frozenset({"11"}))


def doc(document_id: int, text: str = "", **kw: object) -> IndexedDocument:
    values: dict[str, object] = dict(
        document_id=document_id, case_id=document_id, reference=f"20.30/{document_id:04d}/2026",
        case_title="Allgemeine Akte", case_type="general", unit="20", file_plan_code="20.30", status="open",
        title=f"Dokument {document_id}", kind="letter", mime_type="application/pdf", text=text,
        document_date=None, created_at=dt.datetime(2026, 1, 1, 9, 0) + dt.timedelta(days=document_id), metadata={})
    values.update(kw)
    return IndexedDocument(**values)  # type: ignore[arg-type]


TOWN = [
    doc(1, "Rechnung Nr. 4711 der Firma Müller GmbH über Büromaterial.", title="Rechnung Müller",
        case_title="Büromaterial 2026", case_type="invoice", kind="invoice", reference="20.30/0042/2026",
        metadata={"lieferant": "Müller GmbH", "rechnungsnummer": "RE-2026-4711"},
        created_at=dt.datetime(2026, 1, 15, 10, 0), document_date=dt.date(2026, 1, 14)),
    doc(2, "Widerspruch gegen den Gebührenbescheid vom 3. Februar. Die Widerspruchsfrist beträgt einen Monat.",
        title="Widerspruch Meier", case_title="Gebühren Meier", created_at=dt.datetime(2026, 2, 10, 8, 30),
        document_date=dt.date(2026, 2, 9)),
    doc(3, "Antrag auf Baugenehmigung für ein Einfamilienhaus. Herr Mueller beantragt die Genehmigung.",
        title="Bauantrag", case_title="Bauvorhaben Lindenweg", unit="32", status="closed", kind="application",
        reference="32.10/0007/2026", file_plan_code="32.10", created_at=dt.datetime(2026, 3, 5, 14, 0),
        document_date=dt.date(2026, 3, 2), mime_type="text/plain"),
    doc(4, "Die Rechnungen des Jahres wurden geprüft. Baugenehmigung und Antrag liegen vor, auf Wiedervorlage.",
        title="Prüfvermerk", case_title="Jahresabschluss", created_at=dt.datetime(2025, 12, 20, 12, 0),
        reference="20.30/0043/2026"),
    # the secret word: another unit's case, a personnel case of the personnel unit, a personnel case in unit 20
    doc(5, "Vermerk zum Quastenflosser im Stadtteich.", unit="32", case_title="Gewässer",
        created_at=dt.datetime(2026, 4, 1, 9, 0)),
    doc(6, "Personalakte: Beurteilung, Quastenflosser-Projekt.", unit="11", case_type="personnel", kind="note",
        case_title="Personalakte Schmidt", created_at=dt.datetime(2026, 4, 2, 9, 0)),
    doc(7, "Personalakte der Kämmerei, Stichwort Seepferdchen.", unit="20", case_type="personnel", kind="note",
        case_title="Personalakte Kämmerei", created_at=dt.datetime(2026, 4, 3, 9, 0)),
]


def search(index: SearchIndex, query: str | Node, access: AccessFilter = EVERYTHING, **kw: Any) -> Page:
    node = parse(query) if isinstance(query, str) else query
    return index.search(SearchRequest(node, access, **kw))  # type: ignore[arg-type]


def ids(page: Page) -> set[int]:
    return {h.document_id for h in page.hits}


def found(index: SearchIndex, query: str, **kw: Any) -> set[int]:
    page = search(index, query, limit=100, **kw)
    assert page.total == len(page.hits), (query, page.total, len(page.hits))
    return ids(page)


@pytest.fixture
def town(index: SearchIndex) -> SearchIndex:
    index.index(TOWN)
    return index


# --- German text -----------------------------------------------------------------------------------------------


def test_stemming_finds_other_forms(town: SearchIndex) -> None:
    assert found(town, "Rechnungen") == {1, 4}
    assert found(town, "Rechnung") == {1, 4}
    assert found(town, "Gebühren") == {2}  # case title "Gebühren Meier", and Gebührenbescheid


def test_umlaut_folding_both_ways(town: SearchIndex) -> None:
    assert found(town, "Mueller") == {1, 3}  # Müller in 1, Mueller in 3
    assert found(town, "Müller") == {1, 3}
    assert found(town, "Muller") == {1, 3}
    assert found(town, "Bueromaterial") == {1}
    assert found(town, "geprueft") == {4}


def test_case_folding(town: SearchIndex) -> None:
    assert found(town, "RECHNUNG") == found(town, "rechnung") == {1, 4}
    assert found(town, "bAuGeNeHmIgUnG") == {3, 4}


def test_compound_parts(town: SearchIndex) -> None:
    assert found(town, "frist") == {2}  # Widerspruchsfrist
    assert found(town, "Fristen") == {2}
    assert found(town, "bescheid") == {2}  # Gebührenbescheid
    assert found(town, "Widerspruchsfrist") == {2}
    assert 3 in found(town, "Antrag")  # Bauantrag (title)


# --- the query language ------------------------------------------------------------------------------------------


def test_phrase(town: SearchIndex) -> None:
    assert found(town, '"Antrag auf Baugenehmigung"') == {3}  # 4 has the words, not the phrase
    assert found(town, '"Firma Mueller GmbH"') == {1}
    assert found(town, '"Baugenehmigung Antrag"') == set()


def test_phrases_with_stop_words_are_exact(index: SearchIndex) -> None:
    """Stop words count in a phrase (whoosh looks such pairs up as one term; PostgreSQL keeps every word)."""
    index.index([doc(1, "Die Frist der Anhörung endet am Montag."),
                 doc(2, "Die Anhörung der Frist endet nie, sagt der Antrag."),
                 doc(3, "Frist und Anhörung, Anhörung endet.")])
    assert found(index, '"Frist der Anhörung"') == {1}
    assert found(index, '"der Anhörung"') == {1}
    assert found(index, '"die Anhörung der Frist"') == {2}
    assert found(index, '"Anhörung endet"') == {1, 3}  # two ordinary words: checked by their positions
    assert found(index, '"Anhörung endet am Montag"') == {1}
    assert found(index, '"der Antrag"') == {2} and found(index, '"Antrag der"') == set()
    assert found(index, '"die der"') == set() and found(index, '"endet nie sagt"') == {2}


def test_and_or_not(town: SearchIndex) -> None:
    assert found(town, "Rechnung Müller") == {1}
    assert found(town, "Rechnung AND Müller") == {1}
    assert found(town, "Rechnung OR Widerspruch") == {1, 2, 4}
    assert found(town, "Rechnung -Büromaterial") == {4}
    assert found(town, "Rechnung NOT Büromaterial") == {4}
    assert found(town, "(Rechnung OR Widerspruch) NOT Müller") == {2, 4}
    assert found(town, "-Rechnung") == {2, 3, 5, 6, 7}
    assert found(town, "NOT Rechnung NOT Personalakte") == {2, 3, 5}


def test_field_value(town: SearchIndex) -> None:
    assert found(town, "title:Widerspruch") == {2}
    assert found(town, "text:Meier") == set()  # only in title and case title
    assert found(town, "case_title:Meier") == {2}
    assert found(town, "kind:invoice") == {1}
    assert found(town, "unit:32") == {3, 5}
    assert found(town, "status:closed") == {3}
    assert found(town, "case_type:personnel") == {6, 7}
    assert found(town, "file_plan_code:32.10") == {3}
    assert found(town, "mime_type:text/plain") == {3}
    assert found(town, 'title:"Rechnung Müller"') == {1}
    assert found(town, "meta.lieferant:Mueller") == {1}
    assert found(town, "meta.Lieferant:müller") == {1}
    assert found(town, "meta.lieferant:Baugenehmigung") == set()
    assert found(town, "meta.rechnungsnummer:RE-2026-4711") == {1}


def test_prefix(town: SearchIndex) -> None:
    assert found(town, "Baugenehm*") == {3, 4}
    assert found(town, "rech*") == {1, 4}
    assert found(town, "Quastenfl*") == {5, 6}


def test_date_ranges(town: SearchIndex) -> None:
    assert found(town, "created_at:[2026-02-01 TO 2026-03-31]") == {2, 3}
    assert found(town, "created_at:2026-01") == {1}
    assert found(town, "created_at:2025") == {4}
    assert found(town, "created_at:>=2026-04-02") == {6, 7}
    assert found(town, "created_at:<2026-01-15") == {4}
    assert found(town, "created_at:<=2026-01-15") == {1, 4}  # the whole day
    assert found(town, "document_date:2026-03") == {3}
    assert found(town, "document_date:[2026-01-01 TO 2026-02-09]") == {1, 2}
    assert found(town, "Rechnung created_at:2026") == {1}


def test_reference_number(town: SearchIndex) -> None:
    assert found(town, "20.30/0042/2026") == {1}
    assert found(town, "reference:20.30/0042/2026") == {1}
    assert found(town, "reference:20.30/0043/2026") == {4}
    assert found(town, "reference:20.30/004*") == {1, 4}


def test_malformed_queries_raise_query_error() -> None:
    for bad in ['"unclosed', "(Rechnung", "Rechnung)", "Rechnung AND", "OR Rechnung", "NOT", "colour:red",
                "created_at:2026-13-01", "created_at:[2026-01-01 TO]", "r*"]:
        with pytest.raises(QueryError):
            parse(bad)


# --- filters, facets ----------------------------------------------------------------------------------------------


def test_filters(town: SearchIndex) -> None:
    everything = "*"
    assert found(town, everything, filters=Filters(unit="32")) == {3, 5}
    assert found(town, everything, filters=Filters(case_type="invoice")) == {1}
    assert found(town, everything, filters=Filters(status="closed")) == {3}
    assert found(town, everything, filters=Filters(kind="note")) == {6, 7}
    spring = Filters(date_from=dt.date(2026, 3, 5), date_to=dt.date(2026, 4, 1))
    assert found(town, everything, filters=spring) == {3, 5}
    assert found(town, everything, filters=Filters(date_to=dt.date(2026, 1, 15))) == {1, 4}
    assert found(town, "Rechnung", filters=Filters(unit="20", date_from=dt.date(2026, 1, 1))) == {1}
    assert found(town, "Rechnung", filters=Filters(unit="nonexistent")) == set()


def expected_facets(docs: list[IndexedDocument]) -> dict[str, dict[str, int]]:
    counts = {
        "case_type": Counter(d.case_type for d in docs), "unit": Counter(d.unit for d in docs),
        "year": Counter(str(d.created_at.year) for d in docs if d.created_at), "kind": Counter(d.kind for d in docs),
        "status": Counter(d.status for d in docs)}
    return {name: dict(counts[name]) for name in FACETS}


def test_facet_counts_are_exact(town: SearchIndex) -> None:
    page = search(town, "", limit=0)
    assert page.total == len(TOWN) and page.hits == []
    assert page.facets == expected_facets(TOWN)
    page = search(town, "Rechnung OR Quastenflosser", limit=1)
    assert page.total == 4 and len(page.hits) == 1
    assert page.facets == expected_facets([d for d in TOWN if d.document_id in {1, 4, 5, 6}])
    page = search(town, "Rechnung OR Quastenflosser", limit=1, filters=Filters(unit="20"))
    assert page.facets == expected_facets([d for d in TOWN if d.document_id in {1, 4}])
    # ordered by count, then value
    assert list(search(town, "").facets["unit"].items()) == [("20", 4), ("32", 2), ("11", 1)]
    assert search(town, "", facets=False).facets == {}


# --- snippets, sorting, paging -----------------------------------------------------------------------------------


def test_snippet_is_escaped_and_marks_matches(index: SearchIndex) -> None:
    index.index([doc(1, "<script>alert('x')</script> Die Widerspruchsfrist endet & beginnt <b>morgen</b>.")])
    [hit] = search(index, "frist").hits
    assert "&lt;script&gt;" in hit.snippet and "<script>" not in hit.snippet
    assert "<mark>Widerspruchsfrist</mark>" in hit.snippet
    assert "&amp;" in hit.snippet and "<b>" not in hit.snippet
    [hit] = search(index, "script").hits
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet
    [hit] = search(index, "Widerspruchsfrist -morgen OR endet").hits
    assert "<mark>endet</mark>" in hit.snippet
    without = search(index, '"Die Widerspruchsfrist"').hits[0].snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without and ">" not in without


def test_snippet_marks_folded_and_stemmed_words(index: SearchIndex) -> None:
    index.index([doc(1, "Herr Müller zahlt die Rechnungen für die Müllabfuhr.")])
    [hit] = search(index, "Mueller Rechnung").hits
    assert "<mark>Müller</mark>" in hit.snippet and "<mark>Rechnungen</mark>" in hit.snippet
    assert "Müllabfuhr" in hit.snippet and "<mark>Müllabfuhr" not in hit.snippet


def test_sort_by_date(town: SearchIndex) -> None:
    page = search(town, "", sort="date", limit=100)
    assert [h.document_id for h in page.hits] == [7, 6, 5, 3, 2, 1, 4]
    page = search(town, "Rechnung OR Widerspruch", sort="date")
    assert [h.document_id for h in page.hits] == [2, 1, 4]


def test_relevance_puts_better_matches_first(index: SearchIndex) -> None:
    filler = " ".join(["Verwaltung"] * 40)
    index.index([doc(1, f"{filler} Hundesteuer {filler}", title="Schreiben"),
                 doc(2, "Hundesteuer Hundesteuer Bescheid zur Hundesteuer", title="Hundesteuer")])
    page = search(index, "Hundesteuer")
    assert [h.document_id for h in page.hits] == [2, 1]
    assert page.hits[0].score >= page.hits[1].score > 0


def test_pagination_with_exact_total(index: SearchIndex) -> None:
    index.index([doc(i, f"Sitzungsprotokoll Nummer {i}") for i in range(1, 26)]
                + [doc(i, "etwas anderes") for i in range(26, 31)])
    seen: list[int] = []
    for offset in (0, 10, 20):
        page = search(index, "Protokoll", sort="date", offset=offset, limit=10)
        assert page.total == 25
        seen.extend(h.document_id for h in page.hits)
    assert seen == list(range(25, 0, -1))
    page = search(index, "Protokoll", offset=30, limit=10)
    assert page.total == 25 and page.hits == []
    page = search(index, "Protokoll", offset=5, limit=7)
    assert page.total == 25 and len(page.hits) == 7


# --- updates -----------------------------------------------------------------------------------------------------


def test_update_replaces_and_delete_removes(index: SearchIndex) -> None:
    index.index([doc(1, "Erster Entwurf"), doc(2, "Entwurf zwei")])
    index.index([doc(1, "Endfassung", unit="32")])
    assert found(index, "Entwurf") == {2}
    page = search(index, "Endfassung")
    assert ids(page) == {1} and page.total == 1 and page.facets["unit"] == {"32": 1}
    assert sorted(index.document_ids()) == [1, 2]
    index.delete([2])
    assert found(index, "Entwurf") == set()
    assert sorted(index.document_ids()) == [1]
    index.delete([])
    index.delete([99])  # unknown ids are no error
    index.clear()
    assert list(index.document_ids()) == []
    assert search(index, "").total == 0


def test_metadata_and_case_fields_follow_updates(index: SearchIndex) -> None:
    index.index([doc(1, "Text", metadata={"lieferant": "Schulze"}, case_title="Altbau")])
    index.index([doc(1, "Text", metadata={"lieferant": "Wagner"}, case_title="Neubau")])
    assert found(index, "meta.lieferant:Schulze") == set()
    assert found(index, "meta.lieferant:Wagner") == {1}
    assert found(index, "Altbau") == set() and found(index, "Neubau") == {1}


# --- access control inside the search -----------------------------------------------------------------------------


def test_word_only_in_invisible_documents_gives_nothing_not_even_in_facets(town: SearchIndex) -> None:
    page = search(town, "Quastenflosser", CLERK_20)
    assert page.total == 0 and page.hits == []
    assert all(count == 0 for values in page.facets.values() for count in values.values())
    assert set(page.facets) == set(FACETS)
    # the same for prefixes, phrases and negations that would reach them
    assert search(town, "Quastenfl*", CLERK_20).total == 0
    assert search(town, '"zum Quastenflosser"', CLERK_20).total == 0


def test_clerk_sees_own_unit_only(town: SearchIndex) -> None:
    page = search(town, "", CLERK_20, limit=100)
    assert ids(page) == {1, 2, 4, 7} and page.total == 4  # 7: a personnel case of the clerk's own unit
    assert page.facets["unit"] == {"20": 4}
    assert found(town, "Baugenehmigung", access=CLERK_20) == {4}
    assert found(town, "-Rechnung", access=CLERK_20) == {2, 7}


def test_auditor_sees_all_units_but_not_restricted_types_elsewhere(town: SearchIndex) -> None:
    page = search(town, "Quastenflosser", AUDITOR)
    assert ids(page) == {5} and page.total == 1
    assert page.facets["case_type"] == {"general": 1} and page.facets["unit"] == {"32": 1}
    assert found(town, "", access=AUDITOR) == {1, 2, 3, 4, 5}
    assert found(town, "Personalakte", access=AUDITOR) == set()
    assert found(town, "Personalakte", access=PERSONNEL_CLERK) == {6}


def test_case_grant_gives_one_case(town: SearchIndex) -> None:
    granted = AccessFilter(units=frozenset({"20"}), case_ids=frozenset({5}), restricted_types=frozenset({"personnel"}),
                           restricted_units=frozenset({"20"}))
    assert found(town, "Quastenflosser", access=granted) == {5}
    only_case = AccessFilter(case_ids=frozenset({3}))
    page = search(town, "", only_case)
    assert ids(page) == {3} and page.total == 1 and page.facets["unit"] == {"32": 1}
    # a granted case of a restricted type outside restricted_units stays hidden
    restricted = AccessFilter(case_ids=frozenset({6}), restricted_types=frozenset({"personnel"}),
                              restricted_units=frozenset({"20"}))
    assert search(town, "Quastenflosser", restricted).total == 0


def test_no_grants_means_nothing(town: SearchIndex) -> None:
    page = search(town, "", AccessFilter())
    assert page.total == 0 and page.hits == []
    assert all(not values for values in page.facets.values())


# --- procedures and sub-files (issue 11) -----------------------------------------------------------------------

def test_procedure_reference_title_and_hidden_subfiles(index: SearchIndex) -> None:
    index.index([
        doc(21, "Anhörung", procedure="20.30/0042/2026-3", procedure_title="Widerspruch Zaunkönig"),
        doc(22, "Beihilfe Zahnersatz", procedure="20.30/0042/2026-4", procedure_title="Beihilfe",
            subfile="staff/allowance"),
        doc(23, "Akte ohne Vorgang Zahnersatz", reference="20.30/0042/2026")])
    assert found(index, "20.30/0042/2026-3") == {21}
    assert found(index, 'procedure:"20.30/0042/2026-3"') == {21}
    assert found(index, "Zaunkönig") == {21}
    hidden = AccessFilter(all_units=True, hidden_subfiles=frozenset({"staff/allowance"}))
    assert found(index, "Zahnersatz") == {22, 23}
    page = search(index, "Zahnersatz", hidden, limit=100)
    assert ids(page) == {23} and page.total == 1 and sum(page.facets["unit"].values()) == 1
    assert found(index, "*", access=AccessFilter(units=frozenset({"20"}), hidden_subfiles=frozenset(
        {"staff/allowance"}))) == {21, 23}


# --- restricted types read by unit, by grant, by sub-file (issue 12) -------------------------------------------

def test_restricted_types_open_only_by_their_own_routes(index: SearchIndex) -> None:
    index.index([
        doc(31, "Grundakte Zwergpinscher", case_id=31, unit="11", case_type="personnel"),
        doc(32, "Beihilfe Zwergpinscher", case_id=31, unit="11", case_type="personnel",
            subfile="personnel/beihilfe"),
        doc(33, "Grundakte Zwergpinscher", case_id=33, unit="12", case_type="personnel"),
        doc(34, "Allgemein Zwergpinscher", unit="11")])
    restricted = frozenset({"personnel"})
    # The auditor's general view stops at the type; a grant opens one case, the Beihilfe sub-file stays hidden.
    auditor = AccessFilter(all_units=True, restricted_types=restricted)
    assert found(index, "Zwergpinscher", access=auditor) == {34}
    granted = AccessFilter(all_units=True, restricted_types=restricted, readable_case_ids=frozenset({31}),
                           hidden_subfiles=frozenset({"personnel/beihilfe"}))
    page = search(index, "Zwergpinscher", granted, limit=100)
    assert ids(page) == {31, 34} and page.total == 2 and page.facets["case_type"] == {"personnel": 1, "general": 1}
    # The reader of unit 11's files: not unit 12's, whatever the general view says.
    reader = AccessFilter(units=frozenset({"11", "12"}), restricted_types=restricted,
                          readable=frozenset({("personnel", "11")}), hidden_subfiles=frozenset({"personnel/beihilfe"}))
    assert found(index, "Zwergpinscher", access=reader) == {31, 34}
    # The Beihilfe unit: that sub-file of every file, nothing else of them.
    beihilfe = AccessFilter(units=frozenset({"11.1"}), restricted_types=restricted,
                            readable_subfiles=frozenset({"personnel/beihilfe"}))
    page = search(index, "Zwergpinscher", beihilfe, limit=100)
    assert ids(page) == {32} and page.total == 1 and page.facets["unit"] == {"11": 1}
    # Hidden cases (a confidentiality level) stay hidden on every route.
    assert found(index, "Zwergpinscher", access=AccessFilter(
        restricted_types=restricted, readable_case_ids=frozenset({31}), readable_subfiles=frozenset(
            {"personnel/beihilfe"}), hidden_case_ids=frozenset({31}))) == set()
    # Without the type restricted (an admin's view where no reason is needed) all show.
    assert found(index, "Zwergpinscher", access=AccessFilter(all_units=True)) == {31, 32, 33, 34}
