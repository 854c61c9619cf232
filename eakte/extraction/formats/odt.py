"""OpenDocument Text: paragraphs and headings of content.xml."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Final

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.result import Status
from eakte.extraction.safezip import BoundedZip
from eakte.extraction.sink import TextLimitReached, TextSink
from eakte.extraction.xmltext import local_name, namespace, parse_stream

_TEXT_NS: Final = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CONTENT: Final = "content.xml"
# A hostile <text:s text:c="999999999"/> must not become a gigabyte of spaces.
_MAX_SPACES: Final = 64


def extract(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    with zipfile.ZipFile(path) as zf:
        pkg = BoundedZip(zf, options.max_zip_bytes)
        if not pkg.has(_CONTENT):
            raise ValueError(f"not an OpenDocument: {_CONTENT} missing")
        try:
            _content(pkg, sink)
        except TextLimitReached:
            pass
    return "done"


def _content(pkg: BoundedZip, sink: TextSink) -> None:
    in_block = 0  # inside <text:p>/<text:h>
    in_deleted = 0  # inside <text:tracked-changes>: removed text, not content

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal in_block, in_deleted
        if namespace(tag) != _TEXT_NS:
            return
        local = local_name(tag)
        if local == "tracked-changes":
            in_deleted += 1
        elif in_deleted:
            return
        elif local in ("p", "h"):
            in_block += 1
        elif local == "s" and in_block:
            sink.add(" " * _space_count(attrs.get(f"{_TEXT_NS} c", "1")))
        elif local == "tab" and in_block:
            sink.add("\t")
        elif local == "line-break" and in_block:
            sink.add("\n")

    def end(tag: str) -> None:
        nonlocal in_block, in_deleted
        if namespace(tag) != _TEXT_NS:
            return
        local = local_name(tag)
        if local == "tracked-changes":
            in_deleted -= 1
        elif in_deleted:
            return
        elif local in ("p", "h"):
            in_block -= 1
            sink.add("\n")

    def chars(data: str) -> None:
        if in_block and not in_deleted:
            sink.add(data)

    with pkg.open(_CONTENT) as fh:
        parse_stream(fh, start=start, end=end, chars=chars)


def _space_count(raw: str) -> int:
    try:
        return max(1, min(int(raw), _MAX_SPACES))
    except ValueError:
        return 1
