"""German analysis: folding, stemming, the decompounder (what it finds and what it does not), tokens."""
from __future__ import annotations

import threading

import pytest

from search.analysis import decompound, fold, index_tokens, prefix_term, query_terms, stem, word_terms
from search.whoosh_index import german_analyzer


@pytest.mark.parametrize("variants", [
    ("Müller", "Mueller", "MÜLLER", "MUELLER", "Muller", "muller"),
    ("Straße", "Strasse", "STRASSE", "straße"),
    ("Büro", "Buero", "Buro"),
    ("Ärzte", "Aerzte", "Arzte"),
    ("Köln", "Koeln", "Koln"),
    ("Überweisung", "Ueberweisung", "Uberweisung"),
    ("Café", "Cafe", "CAFÉ"),
])
def test_fold_makes_spellings_equal(variants: tuple[str, ...]) -> None:
    assert len({fold(v) for v in variants}) == 1


@pytest.mark.parametrize("word, folded", [
    ("Steuer", "steuer"), ("Feuer", "feuer"), ("Mauer", "mauer"), ("neue", "neue"),  # ue after a vowel stays
    ("Quelle", "quelle"), ("Queue", "queue"),  # and after q
    ("Michael", "michal"), ("aktuell", "aktull"),  # the price: some words change, on both sides alike
])
def test_fold_digraph_rules(word: str, folded: str) -> None:
    assert fold(word) == folded


def test_fold_keeps_everything_but_letters_as_it_is() -> None:
    assert fold("Az. 20.30/0042/2026 – Müller-Lüdenscheidt!") == "az. 20.30/0042/2026 – muller-ludenscheidt!"
    assert fold("") == ""


@pytest.mark.parametrize("forms", [
    ("Rechnung", "Rechnungen"), ("Gebühr", "Gebühren", "Gebuehren"), ("Antrag", "Anträge", "Antraege", "Antrags"),
    ("Bescheid", "Bescheide", "Bescheides"), ("Steuer", "Steuern"), ("Frist", "Fristen"), ("Akte", "Akten"),
    ("Amt", "Ämter"), ("Haus", "Häuser"), ("Beschluss", "Beschlüsse"),
])
def test_stem_unites_forms(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1


def test_numbers_and_codes_are_not_stemmed() -> None:
    assert stem("0042") == "0042"
    assert stem("RE2026") == "re2026"


FOUND = {
    "Widerspruchsfrist": {"frist", "widerspruch"},
    "Widerspruchsfristen": {"frist", "widerspruch"},
    "Zahlungsfrist": {"frist", "zahlung"},
    "Gebührenbescheid": {"bescheid", "gebuhr"},
    "Steuerbescheide": {"bescheid", "steu"},
    "Bauantrag": {"antrag", "bau"},
    "Bauanträge": {"antrag", "bau"},
    "Hundesteuer": {"steu", "hund"},
    "Grundsteuern": {"steu", "grund"},
    "Müllgebühren": {"gebuhr", "mull"},
    "Ordnungsamt": {"amt", "ordnung"},
    "Ordnungsämter": {"amt", "ordnung"},
    "Standesamt": {"amt"},
    "Personalakte": {"akt", "personal"},
    "Gewerbeanmeldung": {"anmeld", "meldung", "gewerb"},
    "Kaufvertrag": {"vertrag", "kauf"},
    "Baugenehmigung": {"genehm", "bau"},
    "Rathaus": {"haus"},
    "Reisepass": {"pass"},
    "Gemeinderatsbeschlussvorlage": {"vorlag", "beschluss", "gemeinderat"},
}
NOT_SPLIT = ["insgesamt", "Kontakte", "Kompass", "senkrecht", "Anmeldung", "Beamter", "Hausnummer", "Gemeinderat",
             "Referat", "Spezialisten", "Abenteuer", "Rechnung", "Frist", "Amt"]


@pytest.mark.parametrize("word, parts", FOUND.items())
def test_decompounding_finds(word: str, parts: set[str]) -> None:
    terms = word_terms(word)
    assert terms[0] == stem(word)
    assert parts <= set(terms[1:])
    for part in parts:  # what a query for the part analyses to
        assert part in terms


@pytest.mark.parametrize("word", NOT_SPLIT)
def test_decompounding_leaves_alone(word: str) -> None:
    assert decompound(fold(word)) == ()


def test_query_for_a_part_meets_the_indexed_compound() -> None:
    assert query_terms("Frist") == ["frist"] and "frist" in word_terms("Widerspruchsfristen")
    assert query_terms("Gebühren")[0] in word_terms("Gebührenbescheid")
    assert query_terms("Widerspruchsfrist") == ["widerspruchsfrist"]  # queries are not split


def test_index_tokens_put_parts_at_the_word_position() -> None:
    text = "Die Widerspruchsfrist (20.30/0042/2026) endet."
    tokens = list(index_tokens(text))
    compound = [t for t in tokens if t.pos == 1]
    assert [t.term for t in compound] == ["widerspruchsfrist", "frist", "widerspruch"]
    assert {text[t.start:t.end] for t in compound} == {"Widerspruchsfrist"}
    assert [t.term for t in tokens if t.pos >= 2] == ["20", "30", "0042", "2026", "end"]


def test_query_terms_and_prefixes() -> None:
    assert query_terms("20.30/0042/2026") == ["20", "30", "0042", "2026"]
    assert query_terms("Müller-Lüdenscheidt") == ["mull", "ludenscheidt"]
    assert query_terms("&") == []
    assert prefix_term("Rech") == "rech" and prefix_term("Mue") == "mu" and prefix_term("--") == ""


def test_whoosh_analyzer_modes() -> None:
    analyzer = german_analyzer()
    indexed = [(t.text, t.pos) for t in analyzer("Zahlungsfrist läuft", positions=True, mode="index")]
    assert indexed == [("zahlungsfrist", 0), ("frist", 0), ("zahlung", 0), ("lauft", 1)]
    queried = [t.text for t in analyzer("Zahlungsfrist läuft", mode="query")]
    assert queried == ["zahlungsfrist", "lauft"]
    chars = [(t.startchar, t.endchar) for t in analyzer("a Müller", chars=True)]
    assert chars == [(0, 1), (2, 8)]


def test_stemming_is_thread_safe() -> None:
    """The Snowball stemmer objects keep state while they work; each thread has its own."""
    import random

    from search import analysis
    rnd = random.Random(3)
    words = ["".join(rnd.choice("aeiounrstlgbcdhm") for _ in range(rnd.randint(4, 14))) for _ in range(3000)]
    expected = [analysis._stemmer().stemWord(w) for w in words]
    results: list[list[str]] = []

    def work() -> None:
        results.append([analysis._stemmer().stemWord(w) for w in words])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == expected for r in results)
