"""Streaming XML parsing that is safe on untrusted input.

expat (unlike lxml) never fetches external entities or DTDs. What is left is
entity expansion ("billion laughs", quadratic blow-up), which needs entity
declarations, so any entity declaration aborts the parse. Documents are fed
in chunks so memory stays flat however large the XML is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol
from xml.parsers import expat

# Element names arrive as "namespace-uri localname" (or just "localname").
NS_SEP: Final = " "
_CHUNK: Final = 1 << 16

StartHandler = Callable[[str, dict[str, str]], None]
EndHandler = Callable[[str], None]
CharHandler = Callable[[str], None]


class ByteSource(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class UnsafeXml(ValueError):
    """The document declares entities; we refuse to expand them."""


def _reject_entity(*_args: object) -> None:
    raise UnsafeXml("XML entity declarations are not allowed")


def parse_stream(
    stream: ByteSource,
    *,
    start: StartHandler | None = None,
    end: EndHandler | None = None,
    chars: CharHandler | None = None,
) -> None:
    """Parse ``stream`` calling the handlers; exceptions raised by handlers propagate."""
    parser = expat.ParserCreate(namespace_separator=NS_SEP)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _reject_entity
    # Undeclared-but-referenced external entities are skipped, never loaded.
    parser.UseForeignDTD(False)
    # Coalesced text means far fewer Python callbacks on big documents.
    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    if start is not None:
        parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if chars is not None:
        parser.CharacterDataHandler = chars
    while chunk := stream.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def local_name(name: str) -> str:
    return name.rpartition(NS_SEP)[2]


def namespace(name: str) -> str:
    return name.rpartition(NS_SEP)[0]
