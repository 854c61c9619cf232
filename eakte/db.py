"""Engine and units of work. Writes on SQLite take the write lock up front (BEGIN IMMEDIATE) so concurrent
writers queue on busy_timeout instead of failing when they upgrade a read lock."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_AFTER_COMMIT = "eakte_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (enqueue jobs that need the new rows)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)

from eakte.errors import SchemaOutdated

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Indexes whose expression differs per dialect: they live in the migrations only, not in the models.
MIGRATION_ONLY_INDEXES = frozenset({"ix_cases_invoice_number"})


# Tables a component owns and creates itself (the PostgreSQL search backend's `ensure_schema`).
SELF_MANAGED_TABLES = frozenset({"search_documents"})


def include_in_autogenerate(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if type_ == "table" and name in SELF_MANAGED_TABLES:
        return False
    if type_ == "index" and getattr(getattr(obj, "table", None), "name", None) in SELF_MANAGED_TABLES:
        return False
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                                        pool_pre_ping=True)
        writer = self.engine.execution_options(eakte_write=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._commit_listeners: list[Callable[[dict[str, object]], None]] = []
        event.listen(self._write, "after_commit", self._notify_commit)

    def on_commit(self, listener: Callable[[dict[str, object]], None]) -> None:
        """Call `listener(session.info)` after every committed write transaction."""
        self._commit_listeners.append(listener)

    def _notify_commit(self, session: Session) -> None:
        for listener in self._commit_listeners:
            listener(session.info)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    # --- schema -------------------------------------------------------------------------------------------

    def alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self) -> None:
        command.upgrade(self.alembic_config(), "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def require_current_schema(self) -> None:
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            state = "has no schema yet" if current is None else f"is at revision {current}, the code needs {head}"
            raise SchemaOutdated(f"The database {state}: run `eakte db upgrade` (or `eakte init` on a new install).")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # e.g. a migration's autocommit block: pragmas that SQLite honours outside a transaction only
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("eakte_write") else "BEGIN")
