"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db import make_engine
from core.migrate import alembic_config
from glue.schema import metadata


def _diff(connection: sa.Connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def test_upgrade_from_empty_matches_the_models(tmp_path, database_url):
    if database_url.startswith("postgresql"):
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS migration_check CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA migration_check")
        with engine.connect() as conn:
            conn.exec_driver_sql("SET search_path TO migration_check")
            conn.commit()
            config = alembic_config(database_url)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
            diff = _diff(conn)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA migration_check CASCADE")
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = _diff(conn)
        engine.dispose()
    assert diff == []
