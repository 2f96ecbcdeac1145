"""``GET /healthz`` and ``GET /readyz``.

- ``/healthz``: 200 when the web server is up and the database answers (liveness).
- ``/readyz``: 200 only when this process can do its work (readiness): the database answers,
  its schema is at the migrations' head, and the job queue's storage is reachable. Otherwise
  503 with a JSON body naming each check that failed, so a load balancer keeps traffic away
  and an operator sees why. Error details are the exception's class only: a message could
  carry a connection string.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, jsonify

from core.db import Database
from core.migrate import alembic_config
from web.app import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    with get_db().engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of ``core/migrations`` (read once: they change with a deploy)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def check_database(database: Database) -> str | None:
    """``None`` when the database answers, else why not."""
    with database.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return None


def check_migrations(database: Database) -> str | None:
    """``None`` when the schema's alembic revision is the migrations' head."""
    with database.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = migration_heads()
    if current == heads:
        return None
    return (f"schema at {', '.join(sorted(current)) or 'no revision'}, "
            f"migrations head {', '.join(sorted(heads))} (run `glue db upgrade`)")


def check_queue() -> str | None:
    """``None`` when the job queue's storage (SQLite file or Redis) answers a size query."""
    from glue.worker import get_huey  # the worker imports the spine, which imports web

    get_huey().storage.queue_size()
    return None


def _run(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"unreachable ({type(exc).__name__})"


@bp.get("/readyz")
def readyz() -> Response:
    database = get_db()
    problems = {"database": _run(lambda: check_database(database))}
    if problems["database"] is None:
        problems["migrations"] = _run(lambda: check_migrations(database))
    else:
        problems["migrations"] = "not checked: the database is unreachable"
    problems["queue"] = _run(check_queue)
    failing = {name: why for name, why in problems.items() if why is not None}
    response = jsonify(status="not ready" if failing else "ready",
                       checks={name: problems[name] or "ok" for name in problems},
                       **({"not_ready": sorted(failing)} if failing else {}))
    response.status_code = 503 if failing else 200
    return response
