"""The analysis of `search.analysis` as whoosh tokenizers, one per kind of field (see `schema`)."""
from __future__ import annotations

from whoosh.analysis import Token, Tokenizer  # type: ignore[import-untyped]

from search.analysis import _WORD, fold, is_common, query_word_terms, word_terms

_META_GAP = 100  # positions between two metadata values, so phrases do not run from one into the next


class GermanTokenizer(Tokenizer):
    """The German analysis of `search.analysis` as a whoosh analyzer: index mode adds compound parts at the
    word's position; query mode yields one stem per word."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        query = mode == "query"
        for pos, m in enumerate(_WORD.finditer(value), start_pos):
            word = m.group()
            terms = (query_word_terms(word),) if query else word_terms(word)
            for term in terms:
                t.text = term
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = word
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + m.start(), start_char + m.end()
                yield t


def german_analyzer() -> GermanTokenizer:
    """The whoosh analyzer for German text: index mode yields compound parts at the word's position, query mode
    only the words' stems. It lives with the backend: `search.analysis` is shared and needs no whoosh."""
    return GermanTokenizer()


class FoldedKeywordTokenizer(Tokenizer):
    """The whole value as one folded token (reference, file-plan code, MIME type)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.text = fold(value.strip())
        t.boost = 1.0
        if keeporiginal:
            t.original = value
        if positions:
            t.pos = start_pos
        if chars:
            t.startchar, t.endchar = start_char, start_char + len(value)
        yield t


_META_SEP, _META_ENTRY = "\x1f", "\x1e"


class MetadataTokenizer(Tokenizer):
    """``name\\x1fvalue\\x1e…`` → ``name:term`` tokens (the value analyzed like text, the name folded)."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for entry in value.split(_META_ENTRY):
            if _META_SEP not in entry:
                continue
            name, text = entry.split(_META_SEP, 1)
            prefix = fold(name.strip()) + ":"
            for m in _WORD.finditer(text):
                for term in word_terms(m.group()):
                    t.text = prefix + term
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = pos
                    if chars:
                        t.startchar, t.endchar = start_char, start_char
                    yield t
                pos += 1
            pos += _META_GAP


class PairsTokenizer(Tokenizer):
    """Adjacent term pairs of a text in which one term is a stop word (``"frist der"``), every term of a word with
    every term of the next; a pair's position is its first word's."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,  # type: ignore[no-untyped-def]
                 start_pos=0, start_char=0, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        previous: tuple[tuple[str, bool], ...] = ()
        for pos, m in enumerate(_WORD.finditer(value), start_pos):
            current = tuple((term, is_common(term)) for term in word_terms(m.group()))
            for a, a_common in previous:
                for b, b_common in current:
                    if not (a_common or b_common):
                        continue
                    t.text = f"{a} {b}"
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = pos - 1
                    if chars:
                        t.startchar, t.endchar = start_char, start_char
                    yield t
            previous = current

