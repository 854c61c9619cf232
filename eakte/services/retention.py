"""How long a case and each of its sub-files are kept after the case is closed: a sub-file's own period
(`SubFile.retention_years`, e.g. a personnel file's Urlaub 3 years) or else the file plan node's, counted from
`Case.closed_at` (for a personnel file the leaving date). Only the sub-files the caller sees are listed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Literal

from eakte.errors import NotFound
from eakte.models import Case, Procedure
from eakte.runtime import Runtime
from eakte.services import procedures
from eakte.services.access import Actor
from workflows.dates import add_years
from workflows.definition import CaseType


@dataclass(frozen=True)
class RetentionLine:
    subfile: str | None  # None: the file itself
    procedure_id: int | None
    label_de: str
    label_en: str
    years: int
    source: Literal["subfile", "file_plan"]
    kept_until: dt.date | None  # None while the case is open


@dataclass(frozen=True)
class Retention:
    file: RetentionLine
    subfiles: tuple[RetentionLine, ...]


def kept_until(closed_at: dt.date | None, years: int) -> dt.date | None:
    """`closed_at` plus whole years; None while not closed."""
    return None if closed_at is None else add_years(closed_at, years)


def schedule(case: Case, case_type: CaseType | None, visible: Iterable[Procedure]) -> Retention:
    """Pure: the periods of `case` and of the sub-files among `visible` (in their order)."""
    node = case.file_plan_node
    file = RetentionLine(None, None, "Akte", "File", node.retention_years, "file_plan",
                         kept_until(case.closed_at, node.retention_years))
    declared = {s.key: s for s in (case_type.subfiles if case_type else ())}
    lines = []
    for procedure in visible:
        sub = declared.get(procedure.subfile or "")
        if sub is None:
            continue
        years = sub.retention_years if sub.retention_years is not None else node.retention_years
        lines.append(RetentionLine(sub.key, procedure.id, sub.label_de, sub.label_en, years,
                                   "subfile" if sub.retention_years is not None else "file_plan",
                                   kept_until(case.closed_at, years)))
    return Retention(file, tuple(lines))


def read_retention(rt: Runtime, actor: Actor, case_id: int) -> Retention:
    """For the case view (API and page): 404 unless the caller sees the case (`list_procedures` checks)."""
    with rt.db.read() as session:
        visible = procedures.list_procedures(session, actor, rt.registry, case_id)
        case = session.get(Case, case_id)
        return schedule(case, rt.registry.get(case.case_type), visible)  # type: ignore[arg-type]


def retention_if_visible(rt: Runtime, actor: Actor, case_id: int) -> Retention | None:
    """`read_retention`, or None when the caller no longer sees the case: the answer to a change that raised its
    confidentiality above the caller's own role, which still reports the change itself."""
    try:
        return read_retention(rt, actor, case_id)
    except NotFound:
        return None
