"""Office Open XML: DOCX (body, headers, footers, notes) and XLSX (strings)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Final

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.result import Status
from eakte.extraction.safezip import BoundedZip
from eakte.extraction.sink import TextLimitReached, TextSink
from eakte.extraction.xmltext import local_name, namespace, parse_stream

# Transitional and Strict OOXML use different namespace URIs for the same vocabulary.
_W_NS: Final = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",
    }
)
_S_NS: Final = frozenset(
    {
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    }
)

_DOCX_MAIN: Final = "word/document.xml"
_DOCX_EXTRA: Final = re.compile(r"word/(header\d*|footer\d*|footnotes|endnotes)\.xml")
_XLSX_STRINGS: Final = "xl/sharedStrings.xml"
_XLSX_SHEET: Final = re.compile(r"xl/worksheets/[^/]+\.xml")


def extract_docx(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    with zipfile.ZipFile(path) as zf:
        pkg = BoundedZip(zf, options.max_zip_bytes)
        if not pkg.has(_DOCX_MAIN):
            raise ValueError(f"not a word document: {_DOCX_MAIN} missing")
        extra = sorted(n for n in pkg.names() if _DOCX_EXTRA.fullmatch(n))
        try:
            for name in [_DOCX_MAIN, *extra]:
                _word_part(pkg, name, sink)
        except TextLimitReached:
            pass
    return "done"


def _word_part(pkg: BoundedZip, name: str, sink: TextSink) -> None:
    # Only <w:t> holds visible text; deleted runs (<w:delText>) and field
    # codes (<w:instrText>) are deliberately not indexed.
    in_text = 0

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal in_text
        if namespace(tag) not in _W_NS:
            return
        local = local_name(tag)
        if local == "t":
            in_text += 1
        elif local == "tab":
            sink.add("\t")
        elif local in ("br", "cr"):
            sink.add("\n")

    def end(tag: str) -> None:
        nonlocal in_text
        if namespace(tag) not in _W_NS:
            return
        local = local_name(tag)
        if local == "t":
            in_text -= 1
        elif local == "p":
            sink.add("\n")

    def chars(data: str) -> None:
        if in_text:
            sink.add(data)

    with pkg.open(name) as fh:
        parse_stream(fh, start=start, end=end, chars=chars)
    sink.separate("\n")


def extract_xlsx(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    with zipfile.ZipFile(path) as zf:
        pkg = BoundedZip(zf, options.max_zip_bytes)
        sheets = sorted(n for n in pkg.names() if _XLSX_SHEET.fullmatch(n))
        if not sheets and not pkg.has(_XLSX_STRINGS):
            raise ValueError("not a spreadsheet: no worksheets and no shared strings")
        try:
            if pkg.has(_XLSX_STRINGS):
                _shared_strings(pkg, sink)
            for name in sheets:
                # Most sheets are numbers only; a byte scan (C speed) spares
                # the XML parse of sheets without inline strings.
                if pkg.contains_bytes(name, b"inlineStr"):
                    _inline_strings(pkg, name, sink)
        except TextLimitReached:
            pass
    return "done"


def _shared_strings(pkg: BoundedZip, sink: TextSink) -> None:
    # <si> is one string; <t> inside <rPh> is a phonetic reading, not content.
    in_text = 0
    in_phonetic = 0

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal in_text, in_phonetic
        if namespace(tag) not in _S_NS:
            return
        local = local_name(tag)
        if local == "t":
            in_text += 1
        elif local == "rPh":
            in_phonetic += 1

    def end(tag: str) -> None:
        nonlocal in_text, in_phonetic
        if namespace(tag) not in _S_NS:
            return
        local = local_name(tag)
        if local == "t":
            in_text -= 1
        elif local == "rPh":
            in_phonetic -= 1
        elif local == "si":
            sink.add("\n")

    def chars(data: str) -> None:
        if in_text and not in_phonetic:
            sink.add(data)

    with pkg.open(_XLSX_STRINGS) as fh:
        parse_stream(fh, start=start, end=end, chars=chars)


def _inline_strings(pkg: BoundedZip, name: str, sink: TextSink) -> None:
    in_inline_cell = False
    in_text = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal in_inline_cell, in_text
        if namespace(tag) not in _S_NS:
            return
        local = local_name(tag)
        if local == "c":
            in_inline_cell = attrs.get("t") == "inlineStr"
        elif local == "t" and in_inline_cell:
            in_text += 1

    def end(tag: str) -> None:
        nonlocal in_inline_cell, in_text
        if namespace(tag) not in _S_NS:
            return
        local = local_name(tag)
        if local == "t" and in_text:
            in_text -= 1
        elif local == "c" and in_inline_cell:
            in_inline_cell = False
            sink.add("\n")

    def chars(data: str) -> None:
        if in_text:
            sink.add(data)

    with pkg.open(name) as fh:
        parse_stream(fh, start=start, end=end, chars=chars)
