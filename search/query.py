"""The search query language, parsed into the backend-independent AST of `search.ast`.

Syntax (a hand-written recursive-descent parser; `parse` raises only `QueryError`):

- words: ``rechnung müller`` — every word must match (implicit AND); words are matched stemmed and folded
  (see `search.analysis`), so ``Rechnungen`` finds *Rechnung* and ``Mueller`` finds *Müller*.
- phrases: ``"antrag auf baugenehmigung"``.
- operators (upper case only; lower-case *and*/*or*/*not* are words): ``a AND b``, ``a OR b``, ``NOT a``,
  ``-a``; parentheses group. Precedence: NOT, then AND (also implicit), then OR: ``a b OR c`` is ``(a b) OR c``.
- fields: ``title:bescheid``, ``title:"phrase"``, ``title:(a OR b)``, ``meta.lieferant:müller``; field names are
  `search.ast.FIELDS` (case-insensitive) or ``meta.<name>``. An unknown field is an error; ``Betreff: x``
  (a colon followed by a space) and ``10:30`` or ``https://…`` are plain words.
- prefix: ``rech*`` (at least 2 letters or digits before the ``*``; ``*`` only at the end of a word).
  A lone ``*`` matches everything.
- dates (on ``created_at`` and ``document_date``): ``created_at:2026-03-15`` (a day), ``document_date:2026-03``
  (a month), ``created_at:2026`` (a year), ``created_at:[2026-01-01 TO 2026-03-31]`` (inclusive; ``*`` for an
  open end), ``created_at:>=2026-01-01`` (also ``>``, ``<``, ``<=``, applied to the whole day/month/year).
  German dates ``15.03.2026`` and ``03.2026`` are accepted too.
- a reference such as ``20.30/0042/2026`` is a word (the backends search it as a phrase of its parts, so it
  is found in the case reference and in text); ``reference:20.30/0042/2026`` matches the reference exactly,
  ``procedure:20.30/0042/2026-3`` the reference of a document's procedure (Vorgang) or sub-file.
- words without any letter or digit (``&``, ``-``) are ignored; an empty query matches everything.

For keyword fields the value is kept as written (``kind:"Bescheid Entwurf"`` gives ``Term("Bescheid Entwurf",
"kind")``): backends compare it exactly after `search.analysis.fold`. Text-field values are left unanalysed in the
AST; every backend analyses them the same way.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from search import QueryError
from search.ast import DATE_FIELDS, FIELDS, KEYWORD_FIELDS, And, DateRange, MatchAll, Node, Not, Or, Phrase, Term

MAX_LENGTH = 2000  # characters
MAX_DEPTH = 32  # nested parentheses / NOTs
MAX_TERMS = 200
MIN_PREFIX = 2  # letters or digits before a trailing *

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[^\W][\w-]*)?\Z")
_ALNUM = re.compile(r"[^\W_]")
_KEYWORDS = {"AND", "OR", "NOT"}


def _known_fields() -> str:
    return ", ".join(FIELDS) + ", meta.<name>"


def _error(message: str, message_de: str, position: int | None) -> QueryError:
    where = f" (at character {position + 1})" if position is not None else ""
    where_de = f" (bei Zeichen {position + 1})" if position is not None else ""
    return QueryError(message + where, message_de + where_de, position)


# --- lexer --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD, PHRASE, RANGE, LPAREN, RPAREN, AND, OR, NOT
    value: str
    pos: int
    end: int


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(_Tok("LPAREN", c, i, i + 1))
            i += 1
        elif c == ")":
            toks.append(_Tok("RPAREN", c, i, i + 1))
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise _error("Missing closing quote for the quote here",
                             "Das schließende Anführungszeichen zu diesem fehlt", i)
            toks.append(_Tok("PHRASE", text[i + 1:j], i, j + 1))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                if text[j] == "[" and j > i and text[j - 1] == ":":
                    break
                j += 1
            word = text[i:j]
            kind = word if word in _KEYWORDS else "WORD"
            toks.append(_Tok(kind, word, i, j))
            i = j
            if j < n and text[j] == "[":
                k = text.find("]", j + 1)
                if k < 0:
                    raise _error("Missing ']' for the date range starting here",
                                 "Die ']' zum hier beginnenden Datumsbereich fehlt", j)
                toks.append(_Tok("RANGE", text[j + 1:k], j, k + 1))
                i = k + 1
    return toks


# --- dates --------------------------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\Z")
_GERMAN = re.compile(r"(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})\Z")


def _period(value: str, pos: int) -> tuple[dt.date, dt.date]:
    """First and last day of a day, month or year written as YYYY[-MM[-DD]] or [DD.]MM.YYYY."""
    m = _ISO.match(value)
    if m:
        year, month, day = m.group(1), m.group(2), m.group(3)
    else:
        g = _GERMAN.match(value)
        if not g:
            raise _bad_date(value, pos)
        day, month, year = g.group(1), g.group(2), g.group(3)
    try:
        y = int(year)
        if y < 1:
            raise ValueError
        if month is None:
            return dt.date(y, 1, 1), dt.date(y, 12, 31)
        mo = int(month)
        if day is None:
            return dt.date(y, mo, 1), dt.date(y, mo, calendar.monthrange(y, mo)[1])
        d = dt.date(y, mo, int(day))
        return d, d
    except (ValueError, calendar.IllegalMonthError):
        raise _bad_date(value, pos) from None


def _bad_date(value: str, pos: int) -> QueryError:
    return _error(f"'{value}' is not a valid date; use YYYY-MM-DD, YYYY-MM, YYYY or DD.MM.YYYY",
                  f"'{value}' ist kein gültiges Datum; erlaubt sind JJJJ-MM-TT, JJJJ-MM, JJJJ oder TT.MM.JJJJ", pos)


def _date_value(field: str, value: str, pos: int) -> DateRange:
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            rest = value[len(op):]
            if not rest:
                raise _bad_date(value, pos)
            first, last = _period(rest, pos + len(op))
            if op == ">=":
                return DateRange(field, first, None)
            if op == ">":
                return DateRange(field, _shift(last, 1, value, pos), None)
            if op == "<=":
                return DateRange(field, None, last)
            return DateRange(field, None, _shift(first, -1, value, pos))
    first, last = _period(value, pos)
    return DateRange(field, first, last)


def _shift(day: dt.date, days: int, value: str, pos: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        raise _bad_date(value, pos) from None


def _date_range(field: str, tok: _Tok) -> DateRange:
    parts = tok.value.split()
    if len(parts) != 3 or parts[1].upper() != "TO":
        raise _error("A date range must look like [2026-01-01 TO 2026-03-31] ('*' for an open end)",
                     "Ein Datumsbereich sieht so aus: [2026-01-01 TO 2026-03-31] ('*' für ein offenes Ende)", tok.pos)
    start = None if parts[0] == "*" else _period(parts[0], tok.pos + 1)[0]
    end = None if parts[2] == "*" else _period(parts[2], tok.pos + 1)[1]
    if start and end and start > end:
        raise _error(f"The date range {parts[0]} TO {parts[2]} ends before it starts",
                     f"Der Datumsbereich {parts[0]} TO {parts[2]} endet vor seinem Beginn", tok.pos)
    return DateRange(field, start, end)


# --- parser -------------------------------------------------------------------------------------------------------


def _has_alnum(text: str) -> bool:
    return _ALNUM.search(text) is not None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.depth = 0
        self.terms = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            return MatchAll()
        node = self.or_expr(None)
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop or_expr early
            raise _error("Unexpected ')' without a matching '('", "Unerwartete ')' ohne passende '('", tok.pos)
        return node if node is not None else MatchAll()

    # operators ---------------------------------------------------------------------------------------------------

    def _needs_operand(self, op: _Tok) -> None:
        nxt = self.peek()
        if nxt is None or nxt.kind in ("RPAREN", "AND", "OR"):
            raise _error(f"'{op.value}' needs a search term after it",
                         f"Nach '{op.value}' fehlt ein Suchbegriff", op.pos)

    def or_expr(self, field: str | None) -> Node | None:
        first = self.peek()
        if first is not None and first.kind in ("OR", "AND"):
            raise _error(f"'{first.value}' needs a search term before it",
                         f"Vor '{first.value}' fehlt ein Suchbegriff", first.pos)
        items = [self.and_expr(field)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            self._needs_operand(tok)
            items.append(self.and_expr(field))
        return _combine(Or, items)

    def and_expr(self, field: str | None) -> Node | None:
        items: list[Node | None] = []
        while (tok := self.peek()) is not None and tok.kind not in ("RPAREN", "OR"):
            if tok.kind == "AND":
                self.take()
                self._needs_operand(tok)
                continue
            items.append(self.unary(field))
        return _combine(And, items)

    def unary(self, field: str | None) -> Node | None:
        tok = self.peek()
        assert tok is not None
        if tok.kind == "NOT":
            self.take()
            self._needs_operand(tok)
            return self._nested(lambda: _negate(self.unary(field)), tok)
        if tok.kind == "WORD" and tok.value[:1] in "-+" and len(tok.value) > 1 and tok.value[1] not in "-+":
            self.take()
            sign, rest = tok.value[0], tok.value[1:]
            inner = _Tok("WORD", rest, tok.pos + 1, tok.end)
            node = self.word(inner, field)
            return _negate(node) if sign == "-" else node
        if tok.kind == "WORD" and tok.value in ("-", "+"):
            nxt = self.peek(1)
            if nxt is not None and nxt.pos == tok.end and nxt.kind in ("PHRASE", "LPAREN"):
                self.take()
                node = self.primary(field)
                return _negate(node) if tok.value == "-" else node
        return self.primary(field)

    def _nested(self, fn, tok: _Tok):  # type: ignore[no-untyped-def]
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error("The query is nested too deeply", "Die Suchanfrage ist zu tief verschachtelt", tok.pos)
        try:
            return fn()
        finally:
            self.depth -= 1

    def primary(self, field: str | None) -> Node | None:
        tok = self.take()
        if tok.kind == "LPAREN":
            return self._nested(lambda: self.group(tok, field), tok)
        if tok.kind == "RPAREN":
            raise _error("Unexpected ')' without a matching '('", "Unerwartete ')' ohne passende '('", tok.pos)
        if tok.kind == "PHRASE":
            return self.phrase(tok, field)
        if tok.kind == "RANGE":  # only directly after "field:", handled in word()
            raise _error("A date range needs a date field before it, e.g. created_at:[…]",
                         "Vor einem Datumsbereich muss ein Datumsfeld stehen, z. B. created_at:[…]", tok.pos)
        return self.word(tok, field)

    def group(self, open_tok: _Tok, field: str | None) -> Node | None:
        nxt = self.peek()
        if nxt is not None and nxt.kind == "RPAREN":
            raise _error("Empty parentheses", "Leere Klammern", open_tok.pos)
        node = self.or_expr(field)
        close = self.peek()
        if close is None or close.kind != "RPAREN":
            raise _error("Missing ')' for the '(' here", "Die ')' zu dieser '(' fehlt", open_tok.pos)
        self.take()
        return node

    # terms -------------------------------------------------------------------------------------------------------

    def _count(self, tok: _Tok) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise _error(f"Too many search terms (at most {MAX_TERMS})",
                         f"Zu viele Suchbegriffe (höchstens {MAX_TERMS})", tok.pos)

    def phrase(self, tok: _Tok, field: str | None) -> Node | None:
        if field in DATE_FIELDS:
            raise _error(f"'{field}' needs a date, not a phrase", f"'{field}' braucht ein Datum, keine Phrase", tok.pos)
        self._count(tok)
        if field in KEYWORD_FIELDS:
            value = " ".join(tok.value.split())
            return Term(value, field) if value else None
        words = tuple(w for w in tok.value.split() if _has_alnum(w))
        return Phrase(words, field) if words else None

    def word(self, tok: _Tok, field: str | None) -> Node | None:
        value = tok.value
        colon = value.find(":")
        if colon > 0:
            name, rest = value[:colon], value[colon + 1:]
            if _FIELD_NAME.match(name) and not rest.startswith("//"):
                canonical = _field_name(name)
                nxt = self.peek()
                attached = nxt is not None and nxt.pos == tok.end and nxt.kind in ("PHRASE", "LPAREN", "RANGE")
                if canonical is None:
                    if rest or attached:
                        raise _error(f"Unknown field '{name}'; known fields: {_known_fields()}",
                                     f"Unbekanntes Feld '{name}'; bekannte Felder: {_known_fields()}", tok.pos)
                    # "Betreff: Antrag" -- a word followed by a colon
                else:
                    return self.field_value(canonical, rest, tok, attached)
        return self.plain(tok, value, field)

    def field_value(self, field: str, rest: str, tok: _Tok, attached: bool) -> Node | None:
        value_pos = tok.pos + len(tok.value) - len(rest)
        if rest:
            if field in DATE_FIELDS:
                self._count(tok)
                return _date_value(field, rest, value_pos)
            return self.plain(_Tok("WORD", rest, value_pos, tok.end), rest, field)
        if not attached:
            raise _error(f"The field '{field}' needs a value, e.g. {field}:value",
                         f"Das Feld '{field}' braucht einen Wert, z. B. {field}:wert", tok.pos)
        nxt = self.take()
        if nxt.kind == "RANGE":
            if field not in DATE_FIELDS:
                raise _error(f"Ranges work only on date fields ({', '.join(DATE_FIELDS)}), not on '{field}'",
                             f"Bereiche gibt es nur für Datumsfelder ({', '.join(DATE_FIELDS)}), nicht für '{field}'",
                             nxt.pos)
            self._count(nxt)
            return _date_range(field, nxt)
        if nxt.kind == "PHRASE":
            return self.phrase(nxt, field)
        return self._nested(lambda: self.group(nxt, field), nxt)  # LPAREN

    def plain(self, tok: _Tok, value: str, field: str | None) -> Node | None:
        if field in DATE_FIELDS:
            self._count(tok)
            return _date_value(field, value, tok.pos)
        if value.startswith((">", "<")) and field is not None and _has_alnum(value):
            raise _error(f"Comparisons work only on date fields ({', '.join(DATE_FIELDS)}), not on '{field}'",
                         f"Vergleiche gibt es nur für Datumsfelder ({', '.join(DATE_FIELDS)}), nicht für '{field}'",
                         tok.pos)
        if value == "*" and field is None:
            return MatchAll()
        star = value.find("*")
        if star >= 0:
            stem = value.rstrip("*")
            if "*" in stem:
                raise _error("'*' is only allowed at the end of a word", "'*' ist nur am Wortende erlaubt",
                             tok.pos + stem.index("*"))
            if len(_ALNUM.findall(stem)) < MIN_PREFIX:
                raise _error(f"A prefix search needs at least {MIN_PREFIX} letters or digits before the '*'",
                             f"Eine Präfixsuche braucht mindestens {MIN_PREFIX} Buchstaben oder Ziffern vor dem '*'",
                             tok.pos)
            self._count(tok)
            return Term(stem, field, prefix=True)
        if field in KEYWORD_FIELDS:
            self._count(tok)
            return Term(value, field)
        if not _has_alnum(value):
            return None
        self._count(tok)
        return Term(value, field)


def _field_name(name: str) -> str | None:
    lower = name.lower()
    if lower in FIELDS:
        return lower
    if lower.startswith("meta.") and len(name) > 5:
        return "meta." + name[5:].lower()
    return None


def _negate(node: Node | None) -> Node | None:
    if node is None:
        return None
    if isinstance(node, Not):
        return node.item
    return Not(node)


def _combine(kind: type[And] | type[Or], items: list[Node | None]) -> Node | None:
    flat: list[Node] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, kind):
            flat.extend(item.items)
        else:
            flat.append(item)
    if not flat:
        return None
    if any(isinstance(item, MatchAll) for item in flat):
        if kind is Or:
            return MatchAll()
        flat = [item for item in flat if not isinstance(item, MatchAll)] or [MatchAll()]
    if len(flat) == 1:
        return flat[0]
    return kind(tuple(flat))


def parse(text: str) -> Node:
    """Parse a user's query; raises `QueryError` (English and German message, 0-based position) on bad input."""
    if not isinstance(text, str):
        raise QueryError("The query must be text", "Die Suchanfrage muss Text sein", None)
    if len(text) > MAX_LENGTH:
        raise _error(f"The query is too long (at most {MAX_LENGTH} characters)",
                     f"Die Suchanfrage ist zu lang (höchstens {MAX_LENGTH} Zeichen)", MAX_LENGTH)
    try:
        return _Parser(text).parse()
    except QueryError:
        raise
    except RecursionError:
        raise QueryError("The query is nested too deeply", "Die Suchanfrage ist zu tief verschachtelt", None) from None
