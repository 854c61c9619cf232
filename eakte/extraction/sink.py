"""A text accumulator with a hard character cap."""

from __future__ import annotations


class TextLimitReached(Exception):
    """Raised by :meth:`TextSink.add` once the cap is hit, to stop the producer early.

    Stopping early (instead of silently dropping further text) matters for zip
    and XML bombs: parsing ends as soon as enough text has been collected.
    """


class TextSink:
    def __init__(self, max_chars: int) -> None:
        if max_chars < 0:
            raise ValueError("max_chars must be >= 0")
        self._max = max_chars
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False

    @property
    def remaining(self) -> int:
        return self._max - self._size

    def add(self, text: str) -> None:
        if not text:
            return
        if "\x00" in text:
            # PostgreSQL text columns (and most indexers) reject NUL.
            text = text.replace("\x00", "")
        room = self._max - self._size
        if len(text) > room:
            if room > 0:
                self._parts.append(text[:room])
                self._size += room
            self.truncated = True
            raise TextLimitReached
        self._parts.append(text)
        self._size += len(text)

    def separate(self, sep: str = " ") -> None:
        """Add ``sep`` unless the text is empty or already ends with whitespace.

        Markup boundaries often are word boundaries; this keeps words apart
        without piling up blank space.
        """
        if self._parts and not self._parts[-1][-1:].isspace():
            self.add(sep)

    def absorb(self, other: TextSink) -> None:
        """Take over the text of a scratch sink that was capped at our ``remaining``."""
        self._parts.append(other.text())
        self._size += other._size
        self.truncated = self.truncated or other.truncated

    def text(self) -> str:
        return "".join(self._parts)
