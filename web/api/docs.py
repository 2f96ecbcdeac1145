"""``GET /ecommerce/v3/openapi.json`` and the interactive viewer at ``/api/docs``.

The viewer is Swagger UI 5 from the installed ``flask-swagger-ui`` package (its static files
are served by this app; no CDN, nothing copied into the repository).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_swagger_ui import get_swaggerui_blueprint

from web.api import PREFIX, v3
from web.api.openapi import build_document, operation

DOCS_URL = "/api/docs"

bp = get_swaggerui_blueprint(DOCS_URL, PREFIX + "/openapi.json", blueprint_name="docs",
                             config={"app_name": "Glue API v3"})


def document() -> dict[str, Any]:
    """The app's OpenAPI document, built once per app (it depends only on the code)."""
    cached = current_app.extensions.get("glue.openapi")
    if cached is None:
        cached = current_app.extensions["glue.openapi"] = build_document(current_app)
    return cached


@v3.get("/openapi.json")
@operation("This OpenAPI 3.1 document", "docs", response=dict[str, Any], auth=False, errors=(),
           extension=True)
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
