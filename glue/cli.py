"""The ``glue`` command. Administration commands print JSON on stdout."""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from core.db import Database
from core.errors import GlueError
from core.settings import get_settings


def _out(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


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


@db.command("revision")
@click.option("--message", "-m", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    from core.migrate import alembic_config

    command.revision(alembic_config(get_settings().resolved_database_url()), message=message,
                     autogenerate=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run the job worker in this process (the one-machine default)")
@click.option("--sandboxes/--no-sandboxes", default=True, show_default=True,
              help="Start the sandbox shops of the demo connections that `glue demo` made")
def serve(host: str, port: int, threads: int, worker: bool, sandboxes: bool) -> None:
    """Serve the web app and, by default, the in-process worker."""
    import waitress

    from glue.worker import install_event_kick, start_in_process_worker
    from sandbox import demo as demo_shops
    from web.app import create_app

    demo_shops.ensure_shopify_secret()
    app = create_app()
    # the demo shops first: the worker must not sync a connection still pointing at the
    # previous run's (gone) sandbox
    url = f"http://{host}:{port}"
    if sandboxes:  # the demo shops' webhooks come to the address this server listens on
        os.environ.setdefault("GLUE_PUBLIC_URL", url)
    running = demo_shops.start_demo_shops(_database(), url) if sandboxes else None
    consumer = start_in_process_worker() if worker else None
    # Huey's consumer takes over SIGTERM for its own run loop, which ``serve`` does not run:
    # give it back to this process, so that ``kill`` stops the server and the worker with it
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if consumer is None:
        install_event_kick()  # a separate `glue worker` delivers; wake it after each commit
    if running is not None:
        demo_shops.install(app, running)
        # after the server answers: WooCommerce pings Glue while its webhooks are created
        threading.Timer(2.0, running.kick).start()
        for shop in running.shops.values():
            click.echo(f"Demo {shop.platform} shop {shop.shop}: "
                       f"http://{host}:{port}/demo-shops/{shop.key}", err=True)
    # Everything made so far lives as long as the process: out of the collector's way, a
    # full collection no longer walks it (it cost page views 100+ ms now and then)
    gc.collect()
    gc.freeze()
    click.echo(f"Glue is serving on http://{host}:{port}", err=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="Glue")
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        if running is not None:
            running.stop()


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _run(fn):  # noqa: ANN001, ANN202
    """Run ``fn(session)`` in one transaction; domain refusals become a clean CLI error."""
    from core.errors import GlueError, ValidationFailed

    try:
        with _database().transaction() as session:
            return fn(session)
    except ValidationFailed as exc:
        _fail("; ".join(e.get("message", "") for e in exc.errors) or exc.message)
    except GlueError as exc:
        _fail(exc.message)


@main.group()
def org() -> None:
    """Organizations."""


@org.command("create")
@click.option("--business-id", required=True, help="Finnish Y-tunnus, e.g. 1234567-1")
@click.option("--name", required=True)
@click.option("--supplier", is_flag=True,
              help="Give the supplier role (creates the public catalog)")
@click.option("--retailer", is_flag=True, help="Give the retailer role")
@click.option("--country", default="FI", show_default=True)
def org_create(business_id: str, name: str, supplier: bool, retailer: bool, country: str) -> None:
    """Create an organization; prints its business ID and public catalog."""
    from core import catalogs, parties
    from core.principal import SYSTEM

    def create(session):  # noqa: ANN001, ANN202
        organization = parties.create_organization(
            session, SYSTEM, business_id=business_id, name=name, supplier=supplier,
            retailer=retailer, country=country)
        public = catalogs.public_catalog_of(session, organization.id) if supplier else None
        return {"businessId": organization.business_id,
                "publicCatalogExternalId": public.external_id if public else None}

    _out(_run(create))


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--org", "business_id", required=True, help="The organization's business ID")
@click.option("--permissions", required=True, help="Comma-separated: admin,supplier,retailer")
@click.option("--password", default=None, help="Omit to create the user without a password")
@click.option("--name", default="")
@click.option("--language", default="fi", type=click.Choice(["fi", "sv", "en"]))
def user_create(email: str, business_id: str, permissions: str, password: str | None, name: str,
                language: str) -> None:
    """Create a user (or add a membership to an existing one)."""
    from core import parties
    from core.principal import SYSTEM

    def create(session):  # noqa: ANN001, ANN202
        organization = parties.organization_by_business_id(session, business_id)
        created = parties.create_user(
            session, SYSTEM, email=email, organization_id=organization.id, name=name,
            permissions=[p.strip() for p in permissions.split(",") if p.strip()],
            password=password, language=language)
        return {"email": created.email, "businessId": organization.business_id,
                "permissions": sorted(p.strip() for p in permissions.split(",") if p.strip())}

    _out(_run(create))


@main.group("api-account")
def api_account() -> None:
    """API accounts (for the v3 API's /auth/token)."""


@api_account.command("create")
@click.option("--org", "business_id", required=True, help="The organization's business ID")
@click.option("--name", required=True)
def api_account_create(business_id: str, name: str) -> None:
    """Create an API account; the secret is printed once and stored only hashed."""
    from core import api_accounts, parties
    from core.principal import SYSTEM

    def create(session):  # noqa: ANN001, ANN202
        organization = parties.organization_by_business_id(session, business_id)
        account, secret = api_accounts.create_api_account(
            session, SYSTEM, organization_id=organization.id, name=name)
        return {"account": account.account, "secret": secret}

    _out(_run(create))


@main.command("export")
@click.option("--org", "business_id", required=True, help="The organization's business ID")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export(business_id: str, out: Path) -> None:
    """Write the organization's own data to a standalone SQLite file (with full-text search)."""
    from core.export import export_organization

    with _database().sessions() as session:
        try:
            counts = export_organization(session, business_id, out)
        except GlueError as exc:
            _fail(exc.message)
    _out({"file": str(out), "tables": counts})


@main.command("import-products")
@click.option("--org", "business_id", required=True, help="The supplier's business ID")
@click.option("--catalog", "catalog_id", default=None,
              help="Catalog externalId that price and quantity columns publish into")
@click.option("--dry-run", is_flag=True, help="Only report what would change")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_products(business_id: str, catalog_id: str | None, dry_run: bool, file: Path) -> None:
    """Import products from a CSV or XLSX file (columns guessed from the header row).

    Rows go in batches of 2,000, each in its own transaction, with a progress bar on stderr;
    the summary and every row's error are printed as JSON.
    """
    from core import catalogs, inventory, parties, product_files
    from core.principal import Principal
    from core.products import MAX_ITEMS

    try:
        header, rows = product_files.read_table(file.read_bytes(), file.name)
    except product_files.FileUnreadable as exc:
        _fail(str(exc))
    mapping = product_files.guess_mapping(header)
    if missing := product_files.mapping_errors(mapping):
        _fail(f"the header does not name these columns (once each): {', '.join(missing)}")
    database = _database()
    with database.sessions() as session:
        try:
            organization = parties.organization_by_business_id(session, business_id)
            if not organization.is_supplier:
                _fail(f"{business_id} is not a supplier")
            actor = Principal(organization_id=organization.id, permissions=frozenset({"supplier"}),
                              label="cli:import-products")
            catalog = catalogs.get_catalog(session, actor, catalog_id) if catalog_id else None
        except GlueError as exc:
            _fail(exc.message)
    if catalog is not None and catalog.supplier_id != organization.id:
        _fail(f"catalog {catalog_id} is not this supplier's")
    target = (catalog.id, catalog.external_id) if catalog else None
    outcomes: list[product_files.RowOutcome] = []
    seen: set[str] = set()
    with click.progressbar(range(0, len(rows), MAX_ITEMS), label="importing",
                           file=sys.stderr) as starts:
        for start in starts:
            with database.transaction() as session:
                batch = product_files.compare(session, organization.id, header,
                                              rows[start:start + MAX_ITEMS], mapping,
                                              target, first_row=start, seen=seen)
                writes = [o for o in batch if o.item is not None and o.status != "unchanged"]
                if not dry_run and writes:
                    for failed in inventory.upsert_inventory(session, actor,
                                                             [o.item for o in writes]):
                        writes[failed["index"]].status = "error"
                        writes[failed["index"]].errors = failed["errors"]
            outcomes += batch
    _out({"file": str(file), "dryRun": dry_run, **product_files.summary(outcomes),
          "errors": [{"row": o.row, "externalId": o.sku, "errors": o.errors}
                     for o in outcomes if o.status == "error"]})


@main.command()
def demo() -> None:
    """Seed the demo data (idempotent) and print the logins."""
    from glue.demo import seed

    _out(_run(seed))


def _attach_worker_commands() -> None:
    from glue.worker import replay_command, worker_command

    main.add_command(worker_command)
    main.add_command(replay_command)


_attach_worker_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
