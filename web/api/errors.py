"""The one error body of the API, and the mapping of domain errors onto HTTP.

Every refusal under ``/auth`` and ``/ecommerce/v3`` answers ``application/problem+json``
(RFC 9457 problem details) with Glue's members added::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "order not found",
     "error": "not_found",            # machine-readable, stable (core.errors codes)
     "message": "order not found",    # same text as detail, for clients that read "message"
     "errors": [{"message": ..., "field": "rows[0].quantity", "index": 0}]}

``errors`` lists every problem of a validation failure (with the field path or the row/item
index) and is empty otherwise. Another tenant's objects answer 404, never 403, so that their
existence does not leak (the services raise NotFound for them).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel, Field

from core.errors import Conflict, Forbidden, GlueError, NotFound, ValidationFailed

PROBLEM_JSON = "application/problem+json"


class ProblemItem(BaseModel):
    """One problem: what is wrong and, where it applies, where."""

    message: str
    field: str | None = None
    index: int | None = Field(default=None, description="Row or item index in the request.")


class Problem(BaseModel):
    """The error body of every non-2xx answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    error: str = Field(description="Machine-readable code, e.g. not_found, validation_failed, "
                                   "conflict, illegal_transition, forbidden, unauthorized.")
    message: str
    errors: list[ProblemItem] = Field(default_factory=list)


def problem(status: int, code: str, message: str,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """Build the error response."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": message, "error": code, "message": message,
            "errors": [_clean(e) for e in (errors or [])]}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


STATUS_OF: list[tuple[type[GlueError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (ValidationFailed, 422),
]


def status_for(error: GlueError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(error, cls):
            return status
    return 400


def from_glue_error(error: GlueError) -> Response:
    """A domain refusal as its HTTP answer."""
    errors = getattr(error, "errors", None)
    if errors is None and error.details.get("errors"):
        errors = error.details["errors"]
    return problem(status_for(error), error.code, error.message, errors)


def from_pydantic(exc: Any, *, prefix: str = "") -> Response:
    """A request body that does not fit its model: 422 with one item per problem."""
    items = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        index = next((int(p) for p in loc[:1] if p.isdigit()), None)
        path = prefix + ".".join(loc) if loc else None
        items.append({"message": err.get("msg", "invalid"), "field": path, "index": index})
    return problem(422, "validation_failed", "the request body is not valid", items)
