"""The `index` fixture: a fresh, empty `SearchIndex` for each backend in BACKENDS, so the contract suite
(test_contract.py) runs against every backend.

To add a backend: append its name to BACKENDS and teach `make_index` to build it (skip when it cannot run here).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from search import SearchIndex

BACKENDS = ["whoosh", "postgres"]


def make_index(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> SearchIndex:
    """A new, empty index of backend `name`; cleanup is registered with `request.addfinalizer`."""
    if name == "whoosh":
        from search.whoosh_index import WhooshIndex
        ix = WhooshIndex(tmp_path / "whoosh-index")
        request.addfinalizer(ix.close)
        return ix
    if name == "postgres":
        module = pytest.importorskip("search.postgres_index")
        if not os.environ.get("EAKTE_TEST_DATABASE_URL"):
            pytest.skip("EAKTE_TEST_DATABASE_URL not set: PostgreSQL search backend skipped")
        engine = request.getfixturevalue("search_pg_engine")
        pg = module.PostgresIndex(engine, f"search_{uuid.uuid4().hex[:8]}")
        pg.ensure_schema()
        request.addfinalizer(pg.drop_schema)
        return pg
    raise ValueError(f"unknown search backend {name!r}")


@pytest.fixture(scope="session")
def search_pg_engine(pg_database: str) -> Iterator[object]:
    """One engine on the test run's PostgreSQL database (tests/conftest.py's pg_database); tables per test."""
    import sqlalchemy as sa
    engine = sa.create_engine(pg_database)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> SearchIndex:
    return make_index(request.param, tmp_path, request)
