"""Coalescing a burst of identical requests into few calls: at most one call per interval, plus one at the end of the
interval for whatever was requested meanwhile (leading and trailing edge), so no request goes unanswered."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)


class Coalescer:
    """`coalescer()` calls `call` now, or, within `interval_s` of the last call, once when the interval is over."""

    def __init__(self, call: Callable[[], object], interval_s: float, name: str = "coalesced call") -> None:
        self._call = call
        self._interval = interval_s
        self._gap = interval_s  # the current interval: `stretch` may make it longer than the least one
        self._name = name
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                return  # the trailing call comes after this request, so it covers it
            wait = self._last + self._gap - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._trailing)
                self._timer.name = f"eakte-{self._name}"
                self._timer.daemon = True
                self._timer.start()
                return
            self._last = time.monotonic()
        self._call()

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        try:
            self._call()
        except Exception:  # a timer thread has nobody to raise to; what it was for is caught up by a later call
            log.exception("%s failed", self._name)

    def stretch(self, seconds: float) -> None:
        """Make the interval `seconds` long from now on, but never shorter than the least interval."""
        with self._lock:
            self._gap = max(self._interval, seconds)

    def flush(self) -> None:
        """Make a planned trailing call now (e.g. before shutting down)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._trailing()
