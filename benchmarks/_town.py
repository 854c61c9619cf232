"""Shared set-up for benchmarks: a runtime on a fresh data directory with one unit, clerk, file-plan node, case."""
from __future__ import annotations

from pathlib import Path

from eakte.config import DatabaseSettings, Settings
from eakte.bootstrap import build_runtime
from eakte.runtime import Runtime
from eakte.services import cases, fileplan, identity
from eakte.services.access import SYSTEM, Actor, Principal, load_principal

OPERATOR = Actor(Principal(SYSTEM.user_id, "benchmark", {0: frozenset({"admin"})}), "benchmark")


def small_town(data_dir: Path, database_url: str = "") -> tuple[Runtime, Actor, int, str]:
    """Returns (runtime, clerk actor, case id, clerk's API token)."""
    rt = build_runtime(Settings(data_dir=data_dir, database=DatabaseSettings(url=database_url)))
    data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    with rt.db.write() as session:
        identity.create_unit(session, OPERATOR, "20", "Kämmerei")
        fileplan.add_node(session, OPERATOR, "20", "Finanzen", 10)
        user = identity.create_user(session, OPERATOR, "anna", roles=[identity.UnitRole("20", "clerk")])
        token = identity.issue_token(session, OPERATOR, user, "benchmark")
        clerk = Actor(load_principal(session, user, rt.registry.restricted), "127.0.0.1")
        case = cases.create_case(session, clerk, cases.NewCase("20", "Benchmark", "20"), rt.registry)
    return rt, clerk, case.id, token
