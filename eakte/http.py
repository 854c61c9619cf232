"""HTTP answers the API and the web pages share."""
from __future__ import annotations

from contextlib import closing
from typing import BinaryIO, Iterator, Mapping

from flask import Response, stream_with_context

from eakte.models import DocumentVersion
from eakte.services.documents import iter_chunks


def file_response(version: DocumentVersion, stream: BinaryIO, headers: Mapping[str, str]) -> Response:
    """The stored bytes of `version`, streamed chunk by chunk (never whole in memory) with its length; `stream` is
    closed at the end or when the client goes away."""
    def body() -> Iterator[bytes]:
        with closing(stream):
            yield from iter_chunks(stream)

    return Response(stream_with_context(body()), mimetype=version.mime_type,
                    headers={**headers, "Content-Length": str(version.size)}, direct_passthrough=True)
