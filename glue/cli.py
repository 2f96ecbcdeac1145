"""The ``glue`` command. Administration commands print JSON on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from core.db import Database
from core.settings import get_settings


def _out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _database() -> Database:
    return Database(get_settings().resolved_database_url())


@click.group()
def main() -> None:
    """Glue, the dropshipping hub."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the schema migrations."""
    from core.migrate import upgrade

    upgrade(get_settings().resolved_database_url(), revision)
    click.echo(f"database at {revision}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web app (and, on the embedded default, the in-process worker)."""
    import waitress

    from web.app import create_app

    app = create_app()
    click.echo(f"Glue is serving on http://{host}:{port}", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="Glue")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
