"""Segment ids that cannot collide: whoosh draws them from the global `random` module.

Anything that reseeds `random` (Hypothesis does for every example; processes forked from one parent start
with the same state) makes whoosh name a new segment like an existing one and overwrite its files: the index
is corrupt and the next search fails (an OSError deep in a column reader). The operating system's generator
has no state to share or reseed.
"""
from __future__ import annotations

import secrets

from whoosh.codec.base import Segment  # type: ignore[import-untyped]
from whoosh.util import IDCHARS  # type: ignore[import-untyped]


def _secure_id(cls: type, size: int = 16) -> str:
    return "".join(secrets.choice(IDCHARS) for _ in range(size))


def use_secure_segment_ids() -> None:
    """Idempotent; applies to every whoosh index in the process (ids only need to be unique per index)."""
    Segment._random_id = classmethod(_secure_id)
