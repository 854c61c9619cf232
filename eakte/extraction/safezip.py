"""Bounded, streaming access to members of untrusted ZIP containers (OOXML, ODF).

A "zip bomb" is a small archive whose members inflate to gigabytes. Every
member is read as a stream and charged against one byte budget for the whole
document: a member whose *declared* size does not fit is refused before
reading, and the bytes actually produced are counted as well.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO, Final

# Office and ODF packages only ever use these; bzip2/lzma members would let a
# single small read inflate into hundreds of MB inside zipfile itself.
_ALLOWED_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


class ZipBudgetExceeded(Exception):
    def __init__(self, name: str, size: int, limit: int) -> None:
        super().__init__(f"{name}: uncompressed size {size} exceeds the remaining budget of {limit} bytes")


class BoundedZip:
    """A read-only ZIP whose members share a budget of uncompressed bytes."""

    def __init__(self, zf: zipfile.ZipFile, max_total_bytes: int) -> None:
        self._zf = zf
        self.remaining = max_total_bytes

    def names(self) -> list[str]:
        return self._zf.namelist()

    def has(self, name: str) -> bool:
        try:
            self._zf.getinfo(name)
        except KeyError:
            return False
        return True

    def open(self, name: str) -> io.BufferedReader:
        info = self._zf.getinfo(name)
        if info.compress_type not in _ALLOWED_METHODS:
            raise ValueError(f"{name}: unsupported compression method {info.compress_type}")
        if info.file_size > self.remaining:
            raise ZipBudgetExceeded(name, info.file_size, self.remaining)
        return io.BufferedReader(_ChargingReader(self._zf.open(info), name, self), buffer_size=1 << 16)

    def contains_bytes(self, name: str, needle: bytes) -> bool:
        """Stream ``name`` looking for ``needle`` without parsing it (cheap pre-filter)."""
        tail = b""
        with self.open(name) as fh:
            while chunk := fh.read(1 << 16):
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle) :]
        return False


class _ChargingReader(io.RawIOBase):
    """Charges every produced byte to the owning :class:`BoundedZip`'s budget.

    ``ZipExtFile`` never yields more than the declared size; this is a second,
    independent bound that also covers many members adding up.
    """

    def __init__(self, inner: IO[bytes], name: str, owner: BoundedZip) -> None:
        self._inner = inner
        self._name = name
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        if len(data) > self._owner.remaining:
            raise ZipBudgetExceeded(self._name, len(data), self._owner.remaining)
        self._owner.remaining -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()
