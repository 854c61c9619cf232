"""Plain text: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else latin-1."""

from __future__ import annotations

import codecs
from pathlib import Path

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.result import Status
from eakte.extraction.sink import TextLimitReached, TextSink

_CHUNK = 1 << 20

# Windows tools (Notepad "Unicode", Excel "Unicode text") write UTF-16 with BOM.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# latin-1 decodes every byte, so the chain always ends with a result.
_FALLBACKS: tuple[str, ...] = ("utf-8", "cp1252", "latin-1")


def extract(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    with open(path, "rb") as fh:
        head = fh.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            _decode_into(path, encoding, sink)
            return "done"
    for encoding in _FALLBACKS:
        # Decode into a scratch sink so a late decoding error (byte 3 MB in)
        # does not leave half a text in the real one.
        attempt = TextSink(sink.remaining)
        try:
            _decode_into(path, encoding, attempt)
        except UnicodeDecodeError:
            continue
        sink.absorb(attempt)
        return "done"
    raise AssertionError("latin-1 cannot fail")  # pragma: no cover


def decode_text(data: bytes) -> str:
    """Decode a small in-memory text with the same encoding rules."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    for encoding in _FALLBACKS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 cannot fail")  # pragma: no cover


def _decode_into(path: Path, encoding: str, sink: TextSink) -> None:
    """Stream-decode; stops quietly once the sink is full."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sink.add(decoder.decode(chunk))
            sink.add(decoder.decode(b"", final=True))
    except TextLimitReached:
        return
