"""One clock (issue 8 point 18): every "now" and "today" in eakte/ and workflows/ comes from eakte/clock.py, so
moving that clock moves deadlines, escalation, deputy periods, case years and closing dates with it."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import select

from eakte import clock
from eakte.models import Deputy, Task
from eakte.services import cases, identity, workflow
from eakte.services.access import Actor, load_principal
from tests.conftest import OPERATOR, build_town
from workflows.definition import CaseType, Decision, DueInDays, Step
from workflows.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
CHECKED_TREES = ("eakte", "workflows")
THE_CLOCK = Path("eakte/clock.py")


# --- nobody reads the wall clock but the clock ---------------------------------------------------------------

def wall_clock_calls(source: str) -> list[tuple[int, str]]:
    """Calls of datetime.now/today/utcnow, date.today and time.time(_ns), however datetime or time was imported.
    Parsed, not grepped: docstrings and comments that mention `datetime.now()` are fine."""
    tree = ast.parse(source)
    modules, classes, time_modules, time_functions = {"datetime"}, {"datetime", "date"}, {"time"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "datetime":
                    modules.add(alias.asname or alias.name)
                elif alias.name == "time":
                    time_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "datetime":
            classes |= {a.asname or a.name for a in node.names if a.name in ("datetime", "date")}
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            time_functions |= {a.asname or a.name for a in node.names if a.name in ("time", "time_ns")}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("now", "today", "utcnow"):
            base = func.value
            if (isinstance(base, ast.Name) and base.id in classes) or (
                    isinstance(base, ast.Attribute) and base.attr in ("datetime", "date")
                    and isinstance(base.value, ast.Name) and base.value.id in modules):
                found.append((node.lineno, ast.unparse(func)))
        elif isinstance(func, ast.Attribute) and func.attr in ("time", "time_ns") and \
                isinstance(func.value, ast.Name) and func.value.id in time_modules:
            found.append((node.lineno, ast.unparse(func)))
        elif isinstance(func, ast.Name) and func.id in time_functions:
            found.append((node.lineno, func.id))
    return found


@pytest.mark.parametrize("source", [
    "import datetime as dt\nx = dt.datetime.now(dt.timezone.utc)",
    "import datetime\nx = datetime.date.today()",
    "from datetime import datetime\nx = datetime.utcnow()",
    "from datetime import date as D\nx = D.today()",
    "import time\nx = time.time()",
    "from time import time as wall\nx = wall()",
])
def test_the_scan_finds_every_spelling(source: str) -> None:
    assert len(wall_clock_calls(source)) == 1


def test_the_scan_leaves_clock_users_alone() -> None:
    assert wall_clock_calls('"""not `datetime.now()`"""\nimport time\nfrom eakte.clock import utcnow\n'
                            "x = utcnow()\ny = time.monotonic()\n# date.today()\n") == []


def test_no_wall_clock_outside_the_clock_module() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}: {call}"
                 for tree in CHECKED_TREES for path in sorted((ROOT / tree).rglob("*.py"))
                 if path.relative_to(ROOT) != THE_CLOCK
                 for line, call in wall_clock_calls(path.read_text(encoding="utf-8"))]
    assert offenders == [], "use eakte.clock (workflows/: take `now` from the service):\n" + "\n".join(offenders)


def test_workflows_do_not_import_eakte() -> None:
    """So the engine cannot reach for eakte.clock itself: the services hand it `now`."""
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not [n for n in names if n == "eakte" or n.startswith("eakte.")], path


# --- moving the clock moves time for the services -------------------------------------------------------------

@pytest.fixture
def set_now(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.datetime], None]:
    """Move the one clock (monkeypatching its source; undone after the test)."""
    def move(at: dt.datetime) -> None:
        monkeypatch.setattr(clock, "_now", lambda: at)
    return move


REVIEW = CaseType(key="review", label_de="Prüfung", label_en="Review", start="check", open_schema=True, steps=(
    Step("check", "Prüfen", "Check", "clerk", due=DueInDays(5), escalate_to=("10", "admin"),
         decisions=(Decision("ok", "OK", "OK", None),)),
))


@pytest.fixture
def town_rt(rt) -> Iterator:  # type: ignore[no-untyped-def]
    rt.__dict__["registry"] = load_registry(extra={"review": REVIEW})
    build_town(rt)
    yield rt


def _actor(rt, name: str) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, name), {}))


def test_deadline_overdue_and_escalation_follow_the_clock(town_rt, set_now) -> None:
    rt = town_rt
    start = dt.datetime(2031, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    set_now(start)
    anna = _actor(rt, "anna")
    with rt.db.write() as session:
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Prüfung", "20", "review"), rt.registry)
        workflow.start_workflow(rt, session, anna, case)
        case_id, reference = case.id, case.reference
    assert reference.endswith("/2031")  # the running number's year is the clock's
    with rt.db.read() as session:
        task = session.execute(select(Task).where(Task.case_id == case_id)).scalar_one()
        assert task.due_at == dt.datetime(2031, 3, 7, 9, 0)  # five days from the clock, not from today
        assert task.created_at == dt.datetime(2031, 3, 2, 9, 0)
        task_id = task.id

    overdue = workflow.InboxFilter(overdue=True)
    with rt.db.read() as session:
        assert workflow.inbox(session, anna, overdue, offset=0, limit=10)[1] == 0
    set_now(start + dt.timedelta(days=6))
    with rt.db.read() as session:
        assert workflow.inbox(session, anna, overdue, offset=0, limit=10)[1] == 1
    rt.jobs.periodic()  # the minutely job escalates with the clock's now
    with rt.db.read() as session:
        assert session.get(Task, task_id).escalated_at == dt.datetime(2031, 3, 8, 9, 0)  # type: ignore[union-attr]

    set_now(dt.datetime(2031, 12, 31, 23, 30, tzinfo=dt.timezone.utc))  # already 1 January in Berlin
    with rt.db.write() as session:
        closed = cases.close_case(session, anna, case_id, rt.registry)
        assert closed.closed_at == dt.date(2032, 1, 1)


def test_deputy_period_follows_the_clock_in_the_office_calendar(town_rt, set_now) -> None:
    rt = town_rt
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR, "clara", roles=[identity.UnitRole("20", "clerk")])
        anna = identity.user_by_name(session, "anna")
        clara = identity.user_by_name(session, "clara")
        session.add(Deputy(user_id=anna.id, deputy_id=clara.id, starts_on=dt.date(2031, 7, 1),
                           ends_on=dt.date(2031, 7, 14)))

    def clara_stands_in() -> bool:
        return anna_id in _actor(rt, "clara").principal.deputy_for

    anna_id = anna.id
    set_now(dt.datetime(2031, 6, 30, 21, 30, tzinfo=dt.timezone.utc))  # 23:30 in Berlin, 30 June
    assert not clara_stands_in()
    set_now(dt.datetime(2031, 6, 30, 22, 30, tzinfo=dt.timezone.utc))  # 00:30 in Berlin, 1 July
    assert clara_stands_in()
    set_now(dt.datetime(2031, 7, 14, 21, 59, tzinfo=dt.timezone.utc))
    assert clara_stands_in()
    set_now(dt.datetime(2031, 7, 14, 22, 0, tzinfo=dt.timezone.utc))  # midnight in Berlin: the period is over
    assert not clara_stands_in()


def test_set_clock_moves_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_now", clock._now)  # restore whatever happens below
    clock.set_clock(lambda: dt.datetime(2030, 5, 1, 12, tzinfo=dt.timezone.utc))
    assert clock.utcnow() == dt.datetime(2030, 5, 1, 12) and clock.office_today() == dt.date(2030, 5, 1)
    assert clock.now().tzinfo is not None and clock.utcnow().tzinfo is None
    clock.set_clock(None)
    assert abs(clock.now() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)
