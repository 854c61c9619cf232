"""The query language: what `search.query.parse` builds, what it rejects (with English and German messages and
a position), and that nothing but `QueryError` ever comes out of it."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from search import QueryError
from search.ast import FIELDS, And, DateRange, MatchAll, Not, Or, Phrase, Term
from search.query import MAX_LENGTH, parse

D = dt.date


@pytest.mark.parametrize("text, expected", [
    ("", MatchAll()),
    ("   ", MatchAll()),
    ("*", MatchAll()),
    ("Rechnung", Term("Rechnung")),
    ("Rechnung Müller", And((Term("Rechnung"), Term("Müller")))),
    ("Rechnung AND Müller", And((Term("Rechnung"), Term("Müller")))),
    ("a OR b", Or((Term("a"), Term("b")))),
    ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
    ("a (b OR c)", And((Term("a"), Or((Term("b"), Term("c")))))),
    ("a OR b OR c", Or((Term("a"), Term("b"), Term("c")))),
    ("NOT a", Not(Term("a"))),
    ("-a b", And((Not(Term("a")), Term("b")))),
    ("+a -b", And((Term("a"), Not(Term("b"))))),
    ("-(a OR b)", Not(Or((Term("a"), Term("b"))))),
    ('-"a b"', Not(Phrase(("a", "b")))),
    ("NOT NOT a", Term("a")),
    ("and or not", And((Term("and"), Term("or"), Term("not")))),  # lower case: words
    ('"Antrag auf Baugenehmigung"', Phrase(("Antrag", "auf", "Baugenehmigung"))),
    ('"  Antrag  - auf "', Phrase(("Antrag", "auf"))),
    ('""', MatchAll()),
    ("title:Bescheid", Term("Bescheid", "title")),
    ("Title:Bescheid", Term("Bescheid", "title")),
    ('title:"Bescheid vom Mai"', Phrase(("Bescheid", "vom", "Mai"), "title")),
    ("title:(a OR b) c", And((Or((Term("a", "title"), Term("b", "title"))), Term("c")))),
    ("title:(a text:b)", And((Term("a", "title"), Term("b", "text")))),
    ("meta.Lieferant:Müller", Term("Müller", "meta.lieferant")),
    ('meta.lieferant:"Müller GmbH"', Phrase(("Müller", "GmbH"), "meta.lieferant")),
    ('kind:"Bescheid  Entwurf"', Term("Bescheid Entwurf", "kind")),
    ("unit:FB20", Term("FB20", "unit")),
    ("rech*", Term("rech", prefix=True)),
    ("rech**", Term("rech", prefix=True)),
    ("title:besch*", Term("besch", "title", prefix=True)),
    ("reference:20.30/00*", Term("20.30/00", "reference", prefix=True)),
    ("20.30/0042/2026", Term("20.30/0042/2026")),
    ("reference:20.30/0042/2026", Term("20.30/0042/2026", "reference")),
    ("created_at:[2026-01-01 TO 2026-03-31]", DateRange("created_at", D(2026, 1, 1), D(2026, 3, 31))),
    ("created_at:[2026-01 TO 2026-03]", DateRange("created_at", D(2026, 1, 1), D(2026, 3, 31))),
    ("created_at:[* TO 2026-03-31]", DateRange("created_at", None, D(2026, 3, 31))),
    ("created_at:[2026-01-01 to *]", DateRange("created_at", D(2026, 1, 1), None)),
    ("document_date:2026-03", DateRange("document_date", D(2026, 3, 1), D(2026, 3, 31))),
    ("document_date:2024-02", DateRange("document_date", D(2024, 2, 1), D(2024, 2, 29))),
    ("document_date:2026", DateRange("document_date", D(2026, 1, 1), D(2026, 12, 31))),
    ("document_date:2026-03-15", DateRange("document_date", D(2026, 3, 15), D(2026, 3, 15))),
    ("document_date:15.03.2026", DateRange("document_date", D(2026, 3, 15), D(2026, 3, 15))),
    ("document_date:03.2026", DateRange("document_date", D(2026, 3, 1), D(2026, 3, 31))),
    ("created_at:>=2026-01-01", DateRange("created_at", D(2026, 1, 1), None)),
    ("created_at:>2026-01", DateRange("created_at", D(2026, 2, 1), None)),
    ("created_at:<=2026-01", DateRange("created_at", None, D(2026, 1, 31))),
    ("created_at:<2026", DateRange("created_at", None, D(2025, 12, 31))),
    ("created_at:(2026-01 OR 2026-03)", Or((DateRange("created_at", D(2026, 1, 1), D(2026, 1, 31)),
                                           DateRange("created_at", D(2026, 3, 1), D(2026, 3, 31))))),
    ("Betreff: Antrag", And((Term("Betreff:"), Term("Antrag")))),  # a colon and a space: a word
    ("10:30", Term("10:30")),
    ("https://stadt.example/antrag", Term("https://stadt.example/antrag")),
    ("Müller & Söhne", And((Term("Müller"), Term("Söhne")))),
    ("a - b", And((Term("a"), Term("b")))),
    ("E-Mail", Term("E-Mail")),
    ("(a)", Term("a")),
    ("((a OR b))", Or((Term("a"), Term("b")))),
    ("a OR *", MatchAll()),
    ("a *", Term("a")),
])
def test_parses(text: str, expected: object) -> None:
    assert parse(text) == expected


def _error(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse(text)
    err = info.value
    assert err.message and err.message_de and err.message != err.message_de
    assert str(err) == err.message
    return err


@pytest.mark.parametrize("text, position, words", [
    ('Rechnung "offen', 9, "quote"),
    ("(Rechnung OR Mahnung", 0, "')'"),
    ("Rechnung)", 8, "')'"),
    ("((a) OR b))", 10, "')'"),
    ("Rechnung AND", 9, "AND"),
    ("Rechnung OR", 9, "OR"),
    ("OR Rechnung", 0, "OR"),
    ("AND Rechnung", 0, "AND"),
    ("a OR OR b", 2, "OR"),
    ("a AND OR b", 2, "AND"),
    ("(a OR)", 3, "OR"),
    ("NOT", 0, "NOT"),
    ("a NOT", 2, "NOT"),
    ("()", 0, "parentheses"),
    ("created_at:2026-13-01", 11, "date"),
    ("created_at:2026-02-30", 11, "date"),
    ("created_at:gestern", 11, "date"),
    ("document_date:>=", 14, "date"),
    ("created_at:[2026-01-01 TO]", 11, "range"),
    ("created_at:[2026-01-01 2026-02-01]", 11, "range"),
    ("created_at:[2026-01-01 TO 2026-02-01", 11, "']'"),
    ("created_at:[2026-03 TO 2026-01]", 11, "before"),
    ('created_at:"2026"', 11, "date"),
    ("title:[a TO b]", 6, "date fields"),
    ("title:>a", 6, "date fields"),
    ("title:", 0, "value"),
    ("title: Bescheid", 0, "value"),
    ("r*", 0, "prefix"),
    ("-*", None, None),
    ("a*b", 1, "'*'"),
    ("ti*tle:x", 2, "'*'"),
])
def test_errors_say_what_and_where(text: str, position: int | None, words: str | None) -> None:
    if words is None:  # these parse; listed to pin down that they do not fail
        parse(text)
        return
    err = _error(text)
    assert position is not None and err.position == position
    assert words.lower() in err.message.lower()
    assert f"character {position + 1}" in err.message and f"Zeichen {position + 1}" in err.message_de


def test_unknown_field_names_it_and_lists_the_known_ones() -> None:
    err = _error("colour:red")
    assert "'colour'" in err.message and "'colour'" in err.message_de
    for name in FIELDS:
        assert name in err.message
    assert "meta.<name>" in err.message
    assert err.position == 0
    assert _error("Rechnung farbe:(rot OR blau)").position == 9
    assert _error('farbe:"rot"').position == 0


def test_limits() -> None:
    assert _error("a" * (MAX_LENGTH + 1)).position == MAX_LENGTH
    assert "nested" in _error("(" * 40 + "a" + ")" * 40).message
    assert "nested" in _error("NOT " * 40 + "a").message
    assert "many" in _error(" ".join(["a"] * 201)).message
    parse(" ".join(["a"] * 200))


NASTY = [
    '"', '""', '"""', "(", ")", ")(", "(()", "())", "[", "]", "{", "}", ":", "::", "a:", ":a", "*", "**", "-", "--",
    "+", "-+", "+-", "!", "AND", "OR", "NOT", "AND OR NOT", "NOT NOT", "- -", "-(", "-)", '-"', "title:", "title::",
    "title:(", "title:)", 'title:"', "title:[", "created_at:[", "created_at:[]", "created_at:[ TO ]",
    "created_at:[* TO *]", "created_at:>", "created_at:<", "created_at:>=*", "created_at:0000", "created_at:9999-99",
    "created_at:-1", "meta.:x", "meta.", "meta.x:", "meta.x:*", "\x00", "\u200b", "\ud800", "\U0001d518", "\t\n",
    "Ω*", "ß*", "ẞẞ*", "a" * 1999, "(" * 31 + ")" * 31, "(" * 33, '"' * 101, "a:b:c:d", "https://", "//a:b",
    "title:title:title", "reference:", "reference:*", "unit:*", "unit:\"\"", "_:x", "_*", "__", "1*", "12*",
    "created_at:[2026-01-01 TO 2026-01-01]", "document_date:31.12.9999", "document_date:>9999-12-31",
    "document_date:<0001-01-01", "created_at:0001", "(a OR (b AND (c OR -d)))", "a OR -b OR NOT c",
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_inputs_give_a_node_or_a_query_error(text: str) -> None:
    try:
        parse(text)
    except QueryError as err:
        assert err.message and err.message_de


def test_random_inputs_never_raise_anything_but_query_error() -> None:
    pieces = list('ab \"()*:-+[]{}<>=.,/\\äöüß\t') + [
        "AND ", "OR ", "NOT ", "title:", "created_at:", "document_date:", "meta.x:", "foo:", " TO ", "2026-01-01",
        "2026-13", "15.03.2026", "*", "\x00", "\u200b", "\ud800", "𝔘", "Rechnung", "20.30/0042/2026"]
    rnd = random.Random(20260101)
    for _ in range(20_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        try:
            parse(text)
        except QueryError as err:
            assert err.message and err.message_de
            assert err.position is None or 0 <= err.position <= len(text)


def test_not_a_string() -> None:
    with pytest.raises(QueryError):
        parse(None)  # type: ignore[arg-type]


def test_property_based_robustness() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    @hypothesis.settings(max_examples=2000, deadline=None)
    @hypothesis.given(st.text(max_size=80))
    def never_crashes(text: str) -> None:
        try:
            parse(text)
        except QueryError:
            pass

    never_crashes()
