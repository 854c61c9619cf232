"""Highlighted snippets, the same for every backend: HTML-escaped text with ``<mark>…</mark>`` around the words
that the query's positive text terms matched (after folding, stemming and decompounding, so ``frist`` marks
*Widerspruchsfrist* and ``Mueller`` marks *Müller*).

Format: up to `FRAGMENTS` fragments of about `FRAGMENT_CHARS` characters, cut at spaces, joined by `` … ``, with
a leading/trailing `` … `` where the text goes on; runs of whitespace become one space. Without a match in the
text (e.g. only the title matched, or an empty query) the snippet is the text's beginning, without marks.
Everything but the ``<mark>`` tags is escaped with `html.escape` (quotes too).
"""
from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from search.analysis import fold, prefix_term, query_terms, tokenize, word_terms
from search.ast import And, Node, Not, Or, Phrase, Term

FRAGMENT_CHARS = 160
FRAGMENTS = 2
MAX_SCAN = 300_000  # characters of a long text looked at for matches
MAX_MATCHES = 60  # matches looked for; the windows start at the first MAX_WINDOWS of them
MAX_WINDOWS = 30
_SPACE = re.compile(r"\s+")

# Query fields whose terms are looked for in the document text.
_TEXT_QUERY_FIELDS = (None, "text")


@dataclass(frozen=True)
class HighlightTerms:
    terms: frozenset[str] = frozenset()  # index terms (stems) to mark
    prefixes: tuple[str, ...] = ()  # folded prefixes; a word is marked when one of its terms starts with one

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes)


@dataclass
class _Collect:
    terms: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


def highlight_terms(node: Node) -> HighlightTerms:
    """The positive text terms of a query (not those under NOT, not those of other fields)."""
    out = _Collect()
    _walk(node, out)
    return HighlightTerms(frozenset(out.terms), tuple(sorted(out.prefixes)))


def _walk(node: Node, out: _Collect) -> None:
    if isinstance(node, (And, Or)):
        for item in node.items:
            _walk(item, out)
    elif isinstance(node, Not):
        return
    elif isinstance(node, Term) and node.field in _TEXT_QUERY_FIELDS:
        if node.prefix:
            *whole, _last = query_terms(node.text) or [""]
            out.terms.update(whole)
            prefix = prefix_term(node.text)
            if prefix:
                out.prefixes.add(prefix)
        else:
            out.terms.update(query_terms(node.text))
    elif isinstance(node, Phrase) and node.field in _TEXT_QUERY_FIELDS:
        for word in node.words:
            out.terms.update(query_terms(word))


def _matches(text: str, wanted: HighlightTerms) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if not wanted:
        return spans
    terms, prefixes = wanted.terms, wanted.prefixes
    for m in tokenize(text[:MAX_SCAN]):
        word = m.group()
        wt = word_terms(word)
        hit = not terms.isdisjoint(wt)
        if not hit and prefixes:
            folded = fold(word)
            hit = any(folded.startswith(p) or any(t.startswith(p) for t in wt) for p in prefixes)
        if hit:
            spans.append(m.span())
            if len(spans) >= MAX_MATCHES:
                break
    return spans


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to about FRAGMENT_CHARS, cut at whitespace."""
    room = max(FRAGMENT_CHARS - (end - start), 0)
    lo = max(0, start - room // 3)
    hi = min(len(text), end + room - (start - lo))
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space >= 0 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space >= 0 else hi
    return lo, hi


def _render(text: str, lo: int, hi: int, spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    pos = lo
    for s, e in spans:
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        parts.append(_escape(text[pos:s]))
        parts.append("<mark>" + _escape(text[s:e]) + "</mark>")
        pos = e
    parts.append(_escape(text[pos:hi]))
    return "".join(parts).strip()


def _escape(text: str) -> str:
    return html.escape(_SPACE.sub(" ", text), quote=True)


def make_snippet(text: str, wanted: HighlightTerms) -> str:
    """An HTML snippet of `text` with the `wanted` terms marked (see the module doc for the format)."""
    if not text:
        return ""
    spans = _matches(text, wanted)
    if not spans:
        lo, hi = _window(text, 0, 0)
        return _render(text, 0, hi, []) + (" …" if hi < len(text) else "")
    # greedy: the window holding most matches first, then the best one that does not overlap it
    starts = [s for s, _ in spans]
    candidates = [(_window(text, s, e)) for s, e in spans[:MAX_WINDOWS]]
    scored = sorted(((bisect_right(starts, hi - 1) - bisect_left(starts, lo), -lo, lo, hi) for lo, hi in candidates),
                    reverse=True)
    windows: list[tuple[int, int]] = []
    for _count, _neg, lo, hi in scored:
        if all(hi <= wl or lo >= wh for wl, wh in windows):
            windows.append((lo, hi))
            if len(windows) == FRAGMENTS:
                break
    windows.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in windows:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    windows = merged
    out = []
    for i, (lo, hi) in enumerate(windows):
        piece = _render(text, lo, hi, spans)
        if i == 0 and lo > 0:
            piece = "… " + piece
        out.append(piece)
    result = " … ".join(out)
    if windows[-1][1] < len(text):
        result += " …"
    return result


def snippet(text: str, query: Node) -> str:
    return make_snippet(text, highlight_terms(query))
