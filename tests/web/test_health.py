import io

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from huey import RedisHuey, SqliteHuey

from core.db import Database
from core.migrate import alembic_config
from glue import worker
from web.app import create_app
from web.health import migration_heads


def test_healthz_answers_when_the_database_does(db):
    client = create_app(database=db).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_demo_images_are_svg_and_stable_per_name(db):
    client = create_app(database=db).test_client()
    first = client.get("/demo/images/JACKET-RED-M.svg")
    again = client.get("/demo/images/JACKET-RED-M.svg")
    other = client.get("/demo/images/MUG-BLUE.svg")
    assert first.status_code == 200
    assert first.mimetype == "image/svg+xml"
    assert first.data == again.data
    assert first.data != other.data
    assert b"<script" not in client.get("/demo/images/%3Cscript%3E.svg").data


def test_demo_images_are_png_pictures_that_shops_accept(db):
    from PIL import Image

    client = create_app(database=db).test_client()
    first = client.get("/demo/images/JACKET-RED-M.png")
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.data == client.get("/demo/images/JACKET-RED-M.png").data
    assert first.data != client.get("/demo/images/MUG-BLUE.png").data
    picture = Image.open(io.BytesIO(first.data))
    assert picture.format == "PNG" and picture.size == (600, 600)


# --- /readyz -------------------------------------------------------------------------------



@pytest.fixture
def queue_at(monkeypatch, tmp_path):  # noqa: ANN001, ANN201
    """Point the worker's queue at a SQLite file for the test: ``queue_at(path)``."""
    def use(path):  # noqa: ANN001, ANN202
        monkeypatch.setattr(worker, "_huey", SqliteHuey("readyz", filename=str(path),
                                                        results=False))
    use(tmp_path / "huey.db")
    return use


@pytest.fixture
def stamped(db):  # noqa: ANN001, ANN201
    """The test schema (made by create_all) stamped at the migrations' head, as `glue db
    upgrade` leaves it; the version table is dropped afterwards."""
    def stamp(revision: str = "head") -> None:
        with db.engine.begin() as conn:
            script = ScriptDirectory.from_config(alembic_config("sqlite://"))
            MigrationContext.configure(conn).stamp(script, revision)
    yield stamp
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def test_readyz_is_200_when_database_schema_and_queue_are_ready(db, stamped, queue_at):
    stamped()
    client = create_app(database=db).test_client()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "queue": "ok"}}


def test_readyz_names_an_unmigrated_schema(db, stamped, queue_at):
    stamped("base")  # the version table exists, but holds no revision
    client = create_app(database=db).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["not_ready"] == ["migrations"]
    assert "no revision" in body["checks"]["migrations"]
    assert all(head in body["checks"]["migrations"] for head in migration_heads())
    assert body["checks"]["database"] == body["checks"]["queue"] == "ok"


def test_readyz_names_an_unreachable_queue(db, stamped, monkeypatch):
    stamped()
    # Redis on a loopback port where nothing listens
    monkeypatch.setattr(worker, "_huey", RedisHuey("readyz", url="redis://127.0.0.1:9/0"))
    client = create_app(database=db).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["not_ready"] == ["queue"]
    assert body["checks"]["queue"].startswith("unreachable")


def test_readyz_names_an_unreachable_database_without_its_address(queue_at):
    # a port on loopback where nothing listens
    url = "postgresql+psycopg://glue:hunter2@127.0.0.1:9/nothing?connect_timeout=1"
    client = create_app(database=Database(url)).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["not_ready"] == ["database", "migrations"]
    assert body["checks"]["database"].startswith("unreachable (")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "127.0.0.1" not in response.get_data(as_text=True)
