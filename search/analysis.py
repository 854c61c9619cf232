"""German text analysis shared by the search backends: folding, stemming, a list-based decompounder, and the
tokens the index and the query are made of.

The pipeline for one word (both at index and at query time, so both sides always agree):

1. `tokenize`: words are runs of letters and digits (`[^\\W_]+`); everything else separates them. A reference
   such as ``20.30/0042/2026`` becomes the words ``20 30 0042 2026`` at consecutive positions, so a query for it
   is a phrase of those words (the backends do that: `query_terms` returns all of them, in order).
2. `fold`: case folding plus German umlaut folding, so that *Müller*, *Mueller*, *MÜLLER* and *Muller* are one
   word (``muller``). See `fold` for the rules and their trade-offs.
3. `stem`: the Snowball German stemmer (PyPI ``snowballstemmer``, the Snowball project's own pure-Python
   build; it uses ``PyStemmer``'s C implementation automatically when that is installed) on the folded word,
   so *Rechnung* and *Rechnungen* are both ``rechnung``. Words containing digits are not stemmed.
4. `decompound` (index side only): for a compound ending in a known municipal word (``COMPOUND_PARTS``), the
   tail and the head are indexed as extra terms at the same position, so ``frist`` finds *Widerspruchsfrist*
   and ``widerspruch`` finds it too. The query side does not split (a search for *Widerspruchsfrist* does not
   turn into a search for every *Frist*).

What decompounding finds: a compound whose last part is one of ``COMPOUND_PARTS`` (with the usual inflection
endings: -e, -n, -en, -s, -es, -er, -ern), the head being at least 3 letters, e.g. Widerspruchsfrist(en),
Gebührenbescheid(e), Bauantrag/Bauanträge, Hundesteuer(n), Müllgebühren, Ordnungsamt/Ordnungsämter,
Personalakte(n), Gewerbeanmeldung (→ anmeldung, meldung, gewerbe), Gemeinderatsbeschlussvorlage (→ vorlage,
beschluss, gemeinderat, gemeinderatsbeschluss). The head is indexed in its stemmed form (a linking -s/-es/-n
falls away with the stemmer: widerspruchs → widerspruch, gebühren → gebuhr, zahlungs → zahlung) and is itself
split again (two levels).
What it does not find: compounds whose last part is not in the list (e.g. *Hausnummer*: ``nummer`` is not a
part; *Gemeinderat*: ``rat`` is left out, it would split Referat, Apparat, Heirat, Vorrat), parts in the
middle that are not a head of a listed tail, heads shorter than 3 letters (so *Anmeldung* is not an/meldung
and *Beamter* is not be/amt), and compounds with a linking element that the stemmer does not remove (e.g.
*Hühnerstall*). Pseudo-compounds known to be wrong are excluded per part (``_NOT_COMPOUNDS``: insgesamt,
Kontakte, Kompass, senkrecht, …).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

# --- folding ------------------------------------------------------------------------------------------------------

_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "ẞ": "ss"})
# "ue" is an umlaut except after a vowel (Steuer, Feuer, Mauer, neue, Abenteuer) or after "q" (Quelle, Queue);
# "ae" and "oe" always are. The same rules as the Snowball German stemmer's prelude.
_DIGRAPHS = re.compile(r"(?<![aeiouyq])ue|ae|oe")
_DIGRAPH_MAP = {"ue": "u", "ae": "a", "oe": "o"}


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case folding and German umlaut folding, for both the indexed text and the query.

    ``fold("Müller") == fold("Mueller") == fold("MULLER") == "muller"``; ``fold("Straße") == "strasse"``;
    other accents are removed too (``Café`` → ``cafe``) and compatibility forms normalised (NFKD).

    Rules, applied to the lower-cased text: ä/ö/ü → a/o/u, ß → ss; the spelled-out umlauts ae/oe → a/o, and ue →
    u except after a vowel or q. Trade-offs (the same on both sides, so recall is never lost; a few words
    collide): Michael → michal, Israel → isral, Poet → pot, aktuell → aktull, zuerst → zurst; Steuer, Mauer,
    Feuer, Quelle stay as they are. A word that only differs by such a digraph from another word is found by
    it, e.g. *Bauer* and *Baur* stay distinct (au-e), but *Buero*/*Büro*/*Buro* are one word, as wanted.

    `fold` does not tokenize and keeps every non-letter character, so it can be applied to a whole document
    (the PostgreSQL backend folds text and query before ``to_tsvector``/``to_tsquery``). Its output length may
    differ from the input's (ß → ss, ue → u), so do not use it for character offsets.
    """
    if not text:
        return ""
    lowered = text.casefold()
    if not lowered.isascii():
        lowered = _strip_accents(lowered.translate(_UMLAUTS))
    if "e" in lowered:
        lowered = _DIGRAPHS.sub(lambda m: _DIGRAPH_MAP[m.group(0)], lowered)
    return lowered


# --- stemming -----------------------------------------------------------------------------------------------------

_local = threading.local()  # Snowball stemmer objects keep state while stemming: one per thread


def _stemmer() -> snowballstemmer.stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("german")
    return stemmer


MAX_WORD = 64  # longer "words" (hashes, base64 runs) are indexed as they are, cut to this length


@lru_cache(maxsize=200_000)
def _stem_folded(word: str) -> str:
    if len(word) > MAX_WORD:
        return word[:MAX_WORD]
    if not word.isalpha():  # numbers, codes: as they are
        return word
    return _stemmer().stemWord(word)


def stem(word: str) -> str:
    """The Snowball German stem of `fold(word)`: Rechnungen → rechnung, Gebühren → gebuhr, Anträge → antrag."""
    return _stem_folded(fold(word))


# --- decompounding -----------------------------------------------------------------------------------------------

# Last parts of compounds common in municipal records. A compound ending in one of these (plus an inflection
# ending) also indexes the part and the rest. Written in their dictionary form; folded on import.
COMPOUND_PARTS = (
    "frist", "antrag", "auftrag", "bescheid", "rechnung", "steuer", "gebühr", "abgabe", "vertrag", "amt", "akte",
    "meldung", "anmeldung", "abmeldung", "ummeldung", "verfahren", "genehmigung", "erlaubnis", "satzung",
    "verordnung", "verfügung", "beschluss", "vorlage", "plan", "gesetz", "ordnung", "schreiben", "angebot",
    "zahlung", "mahnung", "widerspruch", "klage", "bericht", "protokoll", "nachweis", "bescheinigung", "ausweis",
    "urkunde", "register", "versicherung", "beitrag", "zuschuss", "förderung", "leistung", "hilfe", "recht",
    "stelle", "haus", "straße", "grundstück", "gebäude", "anlage", "verwaltung", "behörde", "kasse", "haushalt",
    "vermerk", "anfrage", "anzeige", "erklärung", "prüfung", "vergabe", "sitzung", "ausschuss", "schule",
    "kindergarten", "kita", "friedhof", "wasser", "abwasser", "abfall", "müll", "buch", "schein", "pass",
    "termin", "stellungnahme", "gutachten", "konzept", "entwurf", "unterlagen", "quittung", "beleg",
    "kosten", "miete", "pacht", "kauf", "verkauf", "ausgabe", "einnahme", "vollmacht", "einwendung",
    "beschwerde", "ermäßigung", "befreiung", "erstattung", "bewilligung", "zulassung", "zuweisung", "abnahme",
)

# Pseudo-compounds per part: the word (without its ending) ends with one of these, so it is no compound of it.
_NOT_COMPOUNDS = {
    "amt": ("gesamt",),  # insgesamt; but Ordnungsamt, Standesamt are compounds
    "akte": ("takte", "fakte", "rakte", "pakte"),  # Kontakte, Artefakte, Trakte, Pakte
    "recht": ("senkrecht", "waagrecht", "waagerecht", "aufrecht", "gerecht", "lotrecht"),
    "pass": ("kompass", "bypass"),
}
_ENDINGS = ("", "e", "n", "en", "s", "es", "er", "ern")
_MIN_HEAD = 3


@dataclass(frozen=True)
class _Parts:
    by_folded: dict[str, str]  # folded part -> its stem
    max_len: int


def _build_parts() -> _Parts:
    folded = {fold(p): _stem_folded(fold(p)) for p in COMPOUND_PARTS}
    return _Parts(folded, max(len(p) for p in folded))


_PARTS = _build_parts()
_EXCLUDE = {fold(k): tuple(fold(x) for x in v) for k, v in _NOT_COMPOUNDS.items() if v}


def _split_once(word: str) -> tuple[list[str], str | None]:
    """Known tails of a folded word (as folded parts) and the head before the longest one."""
    tails: list[str] = []
    head: str | None = None
    best = 0
    for ending in _ENDINGS:
        if ending and not word.endswith(ending):
            continue
        base = word[: len(word) - len(ending)] if ending else word
        # candidate tails: suffixes of `base` leaving a head of at least _MIN_HEAD letters
        for start in range(max(_MIN_HEAD, len(base) - _PARTS.max_len), len(base) - 2):
            tail = base[start:]
            if tail not in _PARTS.by_folded:
                continue
            excluded = _EXCLUDE.get(tail)
            if excluded and base.endswith(excluded):
                continue
            if tail not in tails:
                tails.append(tail)
            if len(tail) > best:
                best, head = len(tail), base[:start]
    return tails, head


@lru_cache(maxsize=100_000)
def decompound(word: str) -> tuple[str, ...]:
    """Stems of the parts of a folded compound word (not including the word's own stem); () if none is known.

    ``decompound(fold("Widerspruchsfristen")) == ("frist", "widerspruch")``.
    """
    if len(word) < _MIN_HEAD + 3 or not word.isalpha():
        return ()
    out: list[str] = []
    pending = [(word, 0)]
    while pending:
        current, depth = pending.pop()
        tails, head = _split_once(current)
        for tail in tails:
            stemmed = _PARTS.by_folded[tail]
            if stemmed not in out:
                out.append(stemmed)
        if head:
            stemmed_head = _stem_folded(head)
            if len(stemmed_head) >= _MIN_HEAD and stemmed_head not in out:
                out.append(stemmed_head)
            if depth < 1:
                pending.append((head, depth + 1))
    own = _stem_folded(word)
    return tuple(p for p in out if p != own)


# --- tokens -------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def tokenize(text: str) -> Iterator[re.Match[str]]:
    """Words of `text` as regex matches (`.group()`, `.start()`, `.end()` in the original text)."""
    return _WORD.finditer(text)


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The index terms of one word as written: its stem first, then its compound parts (see `decompound`)."""
    folded = fold(word)
    own = _stem_folded(folded)
    return (own, *decompound(folded))


@lru_cache(maxsize=50_000)
def query_word_terms(word: str) -> str:
    return _stem_folded(fold(word))


# The Snowball project's German stop-word list plus a few words of official German: words so frequent that a
# phrase containing one is best looked up as a pair of words (the whoosh backend indexes such pairs).
STOPWORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern anders
auch auf aus bei bin bis bist da damit dann der den des dem die das dass daß derselbe derselben denselben
desselben demselben dieselbe dieselben dasselbe dazu dein deine deinem deinen deiner deines denn derer dessen dich
dir du dies diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer eines einig einige
einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem euren eurer eures für gegen gewesen
hab habe haben hat hatte hatten hier hin hinter ich mich mir ihr ihre ihrem ihren ihrer ihres euch im in indem
ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner
keines können könnte machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines mit
muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich
sie ihnen sind so solche solchem solchen solcher solches soll sollte sondern sonst über um und uns unsere
unserem unseren unser unseres unter viel vom von vor während war waren warst was weg weil weiter welche welchem
welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum
zur zwar zwischen
bzw ca gem gemäß ggf sowie wurde wurden bereits hiermit innerhalb seit soweit sofern
""".split())
COMMON_TERMS = frozenset(query_word_terms(w) for w in STOPWORDS)


def is_common(term: str) -> bool:
    """Whether an analysed term is one of the stop words' (compared after folding and stemming)."""
    return term in COMMON_TERMS


@dataclass(frozen=True)
class IndexToken:
    term: str
    pos: int
    start: int
    end: int


def index_tokens(text: str) -> Iterator[IndexToken]:
    """Every indexed term with its position and character range; compound parts share the word's position."""
    for pos, m in enumerate(_WORD.finditer(text)):
        start, end = m.span()
        for term in word_terms(m.group()):
            yield IndexToken(term, pos, start, end)


def query_terms(text: str) -> list[str]:
    """The terms a query word (or a phrase's text) stands for, in order: one per word, no compound parts.

    More than one term (``20.30/0042/2026`` → ``20 30 0042 2026``, ``Müller-Lüdenscheidt`` → ``mull
    ludenscheidt``) is to be searched as a phrase; none (only punctuation) matches nothing.
    """
    return [query_word_terms(m.group()) for m in _WORD.finditer(text)]


def prefix_term(text: str) -> str:
    """A prefix as it is matched against indexed terms: folded, not stemmed (``Rech`` → ``rech``)."""
    words = [fold(m.group()) for m in _WORD.finditer(text)]
    return words[-1] if words else ""
