"""The data of the page layout (header, navigation with the Postkorb count), read once per request."""
from __future__ import annotations

from flask import g

from eakte.services import overview
from eakte.services.access import Actor
from eakte.web.runtime import runtime


def note_open_tasks(counts: dict[str, int]) -> None:
    """A page that has read the inbox's per-type counts (always of the whole inbox, whatever its filter) hands
    them on, so the layout does not count the same tasks a second time."""
    g.open_tasks = sum(counts.values())


def layout_context(actor: Actor) -> overview.Me:
    return overview.me(runtime(), actor, open_tasks=g.get("open_tasks"))
