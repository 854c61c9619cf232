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
        self._due = float("inf")  # when the planned trailing call runs

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                return  # the trailing call comes after this request, so it covers it
            wait = self._last + self._gap - time.monotonic()
            if wait > 0:
                self._plan(wait)
                return
            self._last = time.monotonic()
        self._call()

    def _plan(self, wait: float) -> None:
        """(Under the lock.) The trailing call in `wait` seconds."""
        self._timer = threading.Timer(wait, self._trailing)
        self._timer.name = f"eakte-{self._name}"
        self._timer.daemon = True
        self._due = time.monotonic() + wait
        self._timer.start()

    def _trailing(self) -> None:
        with self._lock:
            self._timer, self._due = None, float("inf")
            self._last = time.monotonic()
        try:
            self._call()
        except Exception:  # a timer thread has nobody to raise to; what it was for is caught up by a later call
            log.exception("%s failed", self._name)

    def stretch(self, seconds: float) -> None:
        """Make the interval `seconds` long from now on, but never shorter than the least interval."""
        with self._lock:
            self._gap = max(self._interval, seconds)

    def hurry(self, within_s: float) -> None:
        """Drop the stretch, and bring a planned trailing call forward to at most `within_s` after the last call
        (e.g. when a burst is over: its tail need not wait the stretched interval, yet a steady stream of single
        requests, each "over" at once, still gets one call per `within_s`, not one per request)."""
        with self._lock:
            self._gap = self._interval
            if self._timer is None:
                return
            wait = self._last + max(within_s, self._interval) - time.monotonic()  # never below the least interval
            if time.monotonic() + wait >= self._due:
                return
            self._timer.cancel()
            self._timer, self._due = None, float("inf")
            if wait > 0:
                self._plan(wait)
                return
        self._trailing()

    def flush(self) -> None:
        """Make a planned trailing call now (e.g. before shutting down)."""
        with self._lock:
            timer, self._timer, self._due = self._timer, None, float("inf")
        if timer is not None:
            timer.cancel()
            self._trailing()
