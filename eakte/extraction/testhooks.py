"""Misbehaviour on demand, so tests can prove the sandbox contains it.

Only active in a worker whose environment has ``EAKTE_EXTRACTION_TEST_HOOKS=1``
(set it in the parent before the :class:`TextExtractor` starts its workers;
they inherit the environment). Production workers never honour these types.

==================================  =========================================
``application/x-eakte-test-sleep``  sleeps for an hour (wall-clock timeout)
``application/x-eakte-test-spin``   burns CPU forever (timeout / RLIMIT_CPU)
``application/x-eakte-test-hog``    allocates 1 MiB blocks until the memory
                                    limit stops it (MemoryError)
``application/x-eakte-test-crash``  dies abruptly with SIGABRT
==================================  =========================================
"""

from __future__ import annotations

import os
import time
from typing import Final, NoReturn

ENV_VAR: Final = "EAKTE_EXTRACTION_TEST_HOOKS"
PREFIX: Final = "application/x-eakte-test-"


def enabled() -> bool:
    return os.environ.get(ENV_VAR) == "1"


def is_hook(mime: str) -> bool:
    return mime.startswith(PREFIX)


def run(mime: str) -> NoReturn:
    action = mime[len(PREFIX) :]
    if action == "sleep":
        time.sleep(3600)
    elif action == "spin":
        while True:
            pass
    elif action == "hog":
        hoard: list[bytearray] = []
        while True:
            hoard.append(bytearray(1 << 20))  # zero-filled: really touches the pages
    elif action == "crash":
        os.abort()
    raise ValueError(f"unknown test hook {mime}")
