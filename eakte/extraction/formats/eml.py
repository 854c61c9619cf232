"""E-mail (RFC 5322 / .eml): key headers plus the readable body parts."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.formats.plaintext import decode_text
from eakte.extraction.result import Status
from eakte.extraction.sink import TextLimitReached, TextSink

_HEADERS: tuple[tuple[str, str], ...] = (
    ("Subject", "Betreff"),
    ("From", "Von"),
    ("To", "An"),
    ("Cc", "Cc"),
    ("Date", "Datum"),
)


def extract(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    with open(path, "rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    try:
        for name, label in _HEADERS:
            value = _header(msg, name)
            if value:
                sink.add(f"{label}: {value}\n")
        sink.separate("\n")
        plain, html = _body_parts(msg)
        # Most mails carry the same body as text/plain and text/html; take the
        # plain one and fall back to HTML only for HTML-only mails.
        for part in plain or html:
            sink.separate("\n")
            text = _part_text(part)
            sink.add(_html_to_text(text) if part.get_content_type() == "text/html" else text)
    except TextLimitReached:
        pass
    return "done"


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except MemoryError:
        raise
    except Exception:  # a malformed header must not cost us the body
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _body_parts(msg: Message) -> tuple[list[Message], list[Message]]:
    plain: list[Message] = []
    html: list[Message] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(part)
        elif ctype == "text/html":
            html.append(part)
    return plain, html


def _part_text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except (LookupError, UnicodeError, ValueError, AssertionError):
            pass  # unknown/lying charset: decode the raw bytes ourselves
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return decode_text(payload)
    return ""


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def _html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
