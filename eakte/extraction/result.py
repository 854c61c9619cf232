"""The outcome of one text extraction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Status = Literal["done", "encrypted", "unsupported", "failed"]

DONE: Final = "done"
ENCRYPTED: Final = "encrypted"
UNSUPPORTED: Final = "unsupported"
FAILED: Final = "failed"
STATUSES: Final[frozenset[str]] = frozenset({DONE, ENCRYPTED, UNSUPPORTED, FAILED})


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    """What the search index gets for one document.

    ``status``:
      * ``done``: ``text`` holds the extracted text (possibly ``""``);
      * ``encrypted``: an encrypted PDF; not decrypted, ``text`` is ``""``;
      * ``unsupported``: the type has no text layer we extract (images ...);
      * ``failed``: corrupt input, timeout, memory limit, worker crash; see ``error``.

    ``truncated`` is set when the text was cut at the configured maximum.
    """

    status: Status
    text: str = ""
    error: str | None = None
    truncated: bool = False

    @classmethod
    def failed(cls, error: str) -> ExtractionResult:
        return cls(status="failed", error=error)
