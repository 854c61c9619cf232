"""PDF text via pypdf, with pypdf's default decompression limits left in place."""

from __future__ import annotations

import logging
from pathlib import Path

from pypdf import PdfReader

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.result import Status
from eakte.extraction.sink import TextLimitReached, TextSink

# pypdf logs a warning for every slightly malformed object; in the worker that
# is noise on the server's stderr, real failures surface as exceptions.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class PagesFailed(Exception):
    pass


def extract(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    reader = PdfReader(path)
    if reader.is_encrypted:
        # Also true for PDFs with an empty user password; we deliberately do
        # not try any password: flag the document and let a human decide.
        return "encrypted"
    first_error: Exception | None = None
    failed_pages = 0
    pages = reader.pages
    for index in range(len(pages)):
        try:
            text = pages[index].extract_text()
        except (TextLimitReached, MemoryError):
            raise  # MemoryError is an Exception too; it must reach the worker
        except Exception as exc:  # one broken page must not lose the whole document
            failed_pages += 1
            first_error = first_error or exc
            continue
        sink.add(text)
        sink.separate("\n")
    if first_error is not None and failed_pages == len(pages):
        raise PagesFailed(f"no page could be read: {type(first_error).__name__}: {first_error}")
    return "done"
