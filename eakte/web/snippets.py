"""Search snippets as HTML: the only markup from data a page shows, and only `<mark>`.

The search service promises escaped text with `<mark>…</mark>` around matches. A page does not rely on that
promise: it splits at the mark tags, reads every piece back as plain text and escapes it again, and writes
balanced tags itself — so whatever a backend returns, nothing but `<mark>` can reach the browser.
"""
from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

_TAG = re.compile(r"(</?mark>)", re.IGNORECASE)


def snippet_html(snippet: str) -> Markup:
    parts: list[str] = []
    open_mark = False
    for piece in _TAG.split(snippet or ""):
        tag = piece.lower()
        if tag == "<mark>":
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif tag == "</mark>":
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        elif piece:
            # The text is escaped once already; unescape and escape again so "&amp;" stays one "&" on screen.
            parts.append(str(escape(html.unescape(piece))))
    if open_mark:
        parts.append("</mark>")
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped or one of our own two tags
