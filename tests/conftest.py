"""Shared fixtures: a database per run (SQLite file, or GLUE_TEST_DATABASE_URL), emptied after
every test, and settings pointed at a temporary instance folder."""

from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa

os.environ.setdefault("GLUE_SECRET_KEY", "test-secret-key-not-for-production")
os.environ["GLUE_DATABASE_URL"] = ""  # never touch a developer's own database

from core.db import Base, Database  # noqa: E402
from glue.schema import metadata  # noqa: E402  (imports every model module)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach loopback only."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")
                                          or host.startswith("/")):
            raise OSError(f"tests may not reach the network ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return (os.environ.get("GLUE_TEST_DATABASE_URL")
            or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")


@pytest.fixture(scope="session")
def database(database_url: str) -> Database:
    db = Database(database_url)
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def db(database: Database) -> Database:
    """The test database, emptied after the test."""
    yield database
    _empty(database)


def _empty(database: Database) -> None:
    """Empty the tables the test wrote to. Finding them takes one query; truncating all ~80
    tables after every test cost about a second on PostgreSQL."""
    tables = metadata.sorted_tables
    with database.engine.begin() as conn:
        probe = sa.select(*(sa.exists(sa.select(sa.literal(1)).select_from(t)) for t in tables))
        used = [t for t, has_rows in zip(tables, conn.execute(probe).one(), strict=True)
                if has_rows]
        if not used:
            return
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in used)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(used):
                conn.execute(table.delete())


@pytest.fixture
def session(db: Database):
    """A session in an open transaction; tests call ``session.commit()`` where it matters."""
    with db.sessions() as s:
        yield s


__all__ = ["Base"]
