"""The migrations build exactly the schema the models describe, and the server refuses an outdated schema."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from eakte.app import create_app
from eakte.db import Database, include_in_autogenerate
from eakte.errors import SchemaOutdated
from eakte.models import Base


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_models(rt) -> None:
    with rt.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_in_autogenerate})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert rt.db.current_revision() == rt.db.head_revision()


def test_app_refuses_outdated_schema(tmp_path) -> None:
    from eakte.config import DatabaseSettings, Settings
    from eakte.runtime import Runtime
    rt = Runtime(Settings(data_dir=tmp_path, database=DatabaseSettings(url=f"sqlite:///{tmp_path}/x.db")))
    try:
        create_app(rt)
    except SchemaOutdated as exc:
        assert "eakte db upgrade" in str(exc)
    else:
        raise AssertionError("the app started on an empty database")
    finally:
        rt.close()
    db = Database(f"sqlite:///{tmp_path}/x.db")
    db.upgrade()
    db.require_current_schema()
    db.dispose()
