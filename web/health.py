"""``GET /healthz``: 200 when the web server is up and the database answers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from web.app import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    with get_db().engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")
