"""Alembic environment: uses the engine eakte hands over (eakte.db.Database.alembic_config)."""
from alembic import context
from sqlalchemy import create_engine

from eakte.db import include_in_autogenerate
from eakte.models import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      include_object=include_in_autogenerate)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
