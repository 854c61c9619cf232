"""Generic XML: all character data, element boundaries as word breaks."""

from __future__ import annotations

from pathlib import Path

from eakte.extraction.formats import ExtractOptions
from eakte.extraction.result import Status
from eakte.extraction.sink import TextLimitReached, TextSink
from eakte.extraction.xmltext import parse_stream


def extract(path: Path, sink: TextSink, options: ExtractOptions) -> Status:
    def boundary(*_args: object) -> None:
        sink.separate()

    with open(path, "rb") as fh:
        try:
            parse_stream(fh, start=boundary, end=boundary, chars=sink.add)
        except TextLimitReached:
            pass
    return "done"
