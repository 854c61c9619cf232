"""Text extraction for the search index, run in sandboxed worker processes.

Public API::

    from eakte.extraction import TextExtractor, ExtractionResult

    with TextExtractor(timeout_s=30, memory_mb=512, max_chars=5_000_000, workers=2) as ex:
        result = ex.extract(path, detected_mime)   # never raises for bad documents
        if result.status == "done":
            index(result.text)

Statuses: ``done``, ``encrypted``, ``unsupported``, ``failed`` (see
:class:`ExtractionResult`).
"""

from eakte.extraction.extractor import TextExtractor
from eakte.extraction.formats import SUPPORTED_MIME_TYPES
from eakte.extraction.result import DONE, ENCRYPTED, FAILED, STATUSES, UNSUPPORTED, ExtractionResult, Status

__all__ = [
    "DONE",
    "ENCRYPTED",
    "FAILED",
    "STATUSES",
    "SUPPORTED_MIME_TYPES",
    "UNSUPPORTED",
    "ExtractionResult",
    "Status",
    "TextExtractor",
]
