"""The Glue API v3 (``/ecommerce/v3``), ``/auth/token`` and the API docs, as one blueprint.

``bp`` nests three blueprints so that the app factory registers one entry: ``auth``
(``/auth/token``), ``v3`` (every ``/ecommerce/v3`` route, one module per resource) and ``docs``
(the OpenAPI document's viewer). Errors under these prefixes answer the problem body of
``web.api.errors``; other surfaces keep their own error pages.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from core.errors import GlueError, ValidationFailed
from web.api import errors

PREFIX = "/ecommerce/v3"

bp = Blueprint("api", __name__)
v3 = Blueprint("v3", __name__, url_prefix=PREFIX)


@v3.before_request
def _refuse_nul_characters() -> None:
    """PostgreSQL text cannot hold NUL, so a NUL in a path or query value would fail deep in a
    query; refuse it at the door (bodies are checked in ``web.api.body``)."""
    values = [*request.args.keys(), *request.args.values(), *(request.view_args or {}).values()]
    if any("\x00" in str(value) for value in values):
        raise ValidationFailed("NUL characters are not allowed",
                               [{"message": "NUL character in the path or query"}])


@v3.errorhandler(GlueError)
def _glue_error(error: GlueError) -> Response:
    return errors.from_glue_error(error)


@v3.errorhandler(ValidationError)
def _body_error(error: ValidationError) -> Response:
    return errors.from_pydantic(error)


def _ours() -> bool:
    return request.path.startswith((PREFIX + "/", "/auth/")) or request.path == PREFIX


@bp.app_errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response | HTTPException:
    """Routing and protocol errors (404, 405, 413, malformed JSON) as problem bodies, but only
    under the API's prefixes; responses already built (401 from auth) pass through."""
    if not _ours():
        return error
    if error.response is not None:
        return error.response
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large", 415: "unsupported_media_type"}.get(error.code or 500,
                                                                          "http_error")
    message = {400: "the request could not be read (malformed JSON?)",
               413: "the request body is over the size limit"}.get(error.code or 500,
                                                                    error.description or "")
    return errors.problem(error.code or 500, code, message)


# Route modules register on ``v3`` when imported; nesting happens after they have.
from web import auth as _auth  # noqa: E402
from web.api import (  # noqa: E402, F401
    catalogs,
    docs,
    inventory,
    orders,
    reference,
    shipments,
)

bp.register_blueprint(_auth.bp)
bp.register_blueprint(v3)
bp.register_blueprint(docs.bp)
