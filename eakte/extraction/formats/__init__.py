"""Per-format text extractors. They run inside the sandboxed worker only.

Each extractor writes into a :class:`~eakte.extraction.sink.TextSink` and
returns ``"done"`` or ``"encrypted"``; errors are raised and turned into a
``failed`` result by the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eakte.extraction.result import Status
from eakte.extraction.sink import TextSink


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    # Uncompressed bytes all members of one OOXML/ODF package may produce together.
    max_zip_bytes: int = 256 * 1024 * 1024


Extractor = Callable[[Path, TextSink, ExtractOptions], Status]


def _registry() -> dict[str, Extractor]:
    # Imported here so importing the package (e.g. in the parent, for
    # SUPPORTED_MIME_TYPES) does not pull in pypdf and friends.
    from eakte.extraction.formats import eml, odt, ooxml, pdf, plaintext, xml

    return {
        "application/pdf": pdf.extract,
        "text/plain": plaintext.extract,
        "text/csv": plaintext.extract,
        "text/xml": xml.extract,
        "application/xml": xml.extract,
        "message/rfc822": eml.extract,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ooxml.extract_docx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ooxml.extract_xlsx,
        "application/vnd.oasis.opendocument.text": odt.extract,
    }


SUPPORTED_MIME_TYPES: Final[frozenset[str]] = frozenset(
    {
        "application/pdf",
        "text/plain",
        "text/csv",
        "text/xml",
        "application/xml",
        "message/rfc822",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
    }
)

_extractors: dict[str, Extractor] | None = None


def get_extractor(mime: str) -> Extractor | None:
    global _extractors
    if _extractors is None:
        _extractors = _registry()
        assert frozenset(_extractors) == SUPPORTED_MIME_TYPES
    return _extractors.get(mime)


def preload() -> None:
    """Import all extractor modules now (the worker does this before saying ready)."""
    get_extractor("application/pdf")
