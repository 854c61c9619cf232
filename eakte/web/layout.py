"""The data of the page layout (header, navigation with the Postkorb count), read once per request."""
from __future__ import annotations

from flask import g

from eakte.services import overview
from eakte.services.access import Actor
from eakte.web.runtime import runtime


def note_open_tasks(counts: dict[str, int], due_followups: int | None = None) -> None:
    """A page that has read the inbox's per-type counts (always of the whole inbox, whatever its filter), and
    perhaps the number of due follow-ups, hands them on, so the layout does not count them a second time."""
    g.open_tasks = sum(counts.values())
    g.due_followups = due_followups


def layout_context(actor: Actor) -> overview.Me:
    return overview.me(runtime(), actor, open_tasks=g.get("open_tasks"), due_followups=g.get("due_followups"))
