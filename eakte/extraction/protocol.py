"""Line-based JSON protocol between :mod:`.process` (parent) and :mod:`.worker`.

One UTF-8 JSON object per line, strictly request/response, one request in
flight per worker::

    worker -> parent   {"ready": true, "pid": 1234}                (once, at start)
    parent -> worker   {"id": 7, "path": "/abs/file.pdf", "mime": "application/pdf",
                        "max_chars": 5000000, "max_zip_bytes": 268435456,
                        "cpu_s": 60, "text_file": "/tmp/eakte-extract-x/0-7.txt"}
    worker -> parent   {"id": 7, "status": "done", "error": null, "truncated": false,
                        "text": "..." | null, "text_file": null | "<path>", "fatal": false}

Small texts travel inline; larger ones are written by the worker to the
``text_file`` path the parent chose (inside the parent's private temp dir),
so a 5-million-character text never has to sit in a JSON line. ``fatal``
tells the parent to discard this worker (e.g. after a MemoryError).
Closing the worker's stdin asks it to exit.
"""

from __future__ import annotations

import json
from typing import Any, Final, TypedDict

# Texts up to this many UTF-8 bytes are sent inline.
INLINE_MAX_BYTES: Final = 64 * 1024


class Request(TypedDict):
    id: int
    path: str
    mime: str
    max_chars: int
    max_zip_bytes: int
    cpu_s: int
    text_file: str


class Response(TypedDict):
    id: int
    status: str
    error: str | None
    truncated: bool
    text: str | None
    text_file: str | None
    fatal: bool


def encode(message: Request | Response | dict[str, Any]) -> bytes:
    # ensure_ascii keeps the line pure ASCII: no encoding questions, and a
    # stray lone surrogate cannot break the encoder.
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("protocol message is not a JSON object")
    return value
