"""Alembic environment: runs migrations online against the configured database."""

from __future__ import annotations

from alembic import context

from gateway.db.engine import make_engine
from gateway.db.metadata import metadata

config = context.config

# A failed statement's error names no parameters: a migration may move secrets.
engine = make_engine(config.get_main_option("sqlalchemy.url") or "", hide_parameters=True)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
