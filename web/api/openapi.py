"""The OpenAPI 3.1 document, generated from the code: the route table plus pydantic models.

Every API view carries an ``Operation`` (set with the ``@operation(...)`` decorator); the document
walks the app's URL map, so a route cannot exist without appearing in it, and a view of the
``web.api`` blueprint without an ``Operation`` is a bug ``build_document`` refuses. Routes other
blueprints serve under ``/ecommerce/v3`` appear too: with their own ``@operation`` if they use
it, otherwise described from their docstring with any answer allowed. Schemas are the models'
own JSON Schemas (draft 2020-12, which OpenAPI 3.1 uses), hoisted into ``components.schemas``.
Glue's additions to the v3 contract carry ``x-glue-extension: true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from pydantic import BaseModel, TypeAdapter

from web.api.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])
ATTR = "__glue_operation__"
API_ENDPOINT_PREFIXES = ("api.v3.", "api.auth.")
V3_PREFIX = "/ecommerce/v3"
# v3 contract paths that other blueprints serve (the rest of theirs are Glue extensions)
V3_FOREIGN_PATHS = {V3_PREFIX + "/shipments/{shipment_id}/parcels/{parcel_id}/label",
                    V3_PREFIX + "/shipments/{shipment_id}/parcels/{parcel_id}/note"}

_ERROR_TEXT = {400: "Malformed request", 401: "Missing, invalid or expired bearer token",
               403: "Not allowed for this organization's role",
               404: "Not found, or not visible to the caller",
               409: "Conflicts with the current state", 413: "Request body over the size limit",
               422: "Validation failed; `errors` lists every problem"}


@dataclass(frozen=True)
class Param:
    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """What the document says about one route."""

    summary: str
    tag: str
    body: Any = None  # a pydantic model or a type TypeAdapter understands
    response: Any = None  # ditto; None means no body
    status: int = 200
    query: tuple[Param, ...] = ()
    extension: bool = False
    auth: bool = True
    errors: tuple[int, ...] = (401, 404)
    media_type: str = "application/json"
    description: str = ""


def operation(summary: str, tag: str, **kwargs: Any) -> Callable[[F], F]:
    """Attach an ``Operation`` to a view (place it under the route decorator)."""

    def decorate(view: F) -> F:
        setattr(view, ATTR, Operation(summary=summary, tag=tag, **kwargs))
        return view

    return decorate


def query_params(*names: str | Param) -> tuple[Param, ...]:
    return tuple(Param(n) if isinstance(n, str) else n for n in names)


PAGE = Param("page", "0-based page number.", {"type": "integer", "minimum": 0})
SIZE = Param("size", "Page length (at most 2000).",
             {"type": "integer", "minimum": 1, "maximum": 2000})
AFTER = Param("after", "Glue extension: the `page.next` cursor of the previous page; wins over "
              "`page`. Lists taking it are keyset-paged (a seek on a unique key, no OFFSET "
              "scan), so plain page numbers are fast too.")


class TokenResponse(BaseModel):
    """Exactly the four keys current clients read."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int = 3600
    scope: str = "internal"


# Views defined outside web.api (which cannot import this module without an import cycle).
OUTSIDE_OPERATIONS: dict[str, Operation] = {
    "api.auth.token": Operation(
        summary="Exchange API account credentials for a bearer token", tag="auth",
        response=TokenResponse, auth=False, errors=(400, 401),
        query=(Param("grant_type", "Optional; only `client_credentials`."),),
        description="HTTP Basic `account:secret`, or form fields `client_id` and "
                    "`client_secret`. Five failed attempts lock the account for an hour; "
                    "every refusal is the same 401 `Bad credentials`."),
}


class _Schemas:
    """Collects JSON Schemas of types, hoisting their ``$defs`` into components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, tp: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template="#/components/schemas/{model}",
                                             mode=mode)
        for name, definition in schema.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and "title" in schema:
            name = tp.__name__
            self.components.setdefault(name, schema)
            return {"$ref": f"#/components/schemas/{name}"}
        return schema


def _openapi_path(rule: str) -> tuple[str, list[tuple[str, str]]]:
    """A Flask rule as an OpenAPI path template, with each path parameter and its type."""
    names: list[tuple[str, str]] = []

    def repl(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        names.append((name, "integer" if converter.startswith("int") else "string"))
        return "{" + name + "}"

    return re.sub(r"<(?:([^:<>]+):)?([^<>:]+)>", repl, rule), names


def api_rules(app: Flask) -> list[Any]:
    """Every URL rule the document must describe: ``/auth/token`` and everything under
    ``/ecommerce/v3``, whichever blueprint serves it."""
    return [r for r in app.url_map.iter_rules()
            if r.endpoint.startswith(API_ENDPOINT_PREFIXES) or r.rule.startswith(V3_PREFIX + "/")]


def _foreign_operation(endpoint: str, path: str, view: Any) -> Operation:
    """A route another blueprint serves under the prefix without an ``@operation``: described
    from its docstring, any answer allowed (decorate it with ``@operation`` for schemas)."""
    doc = (view.__doc__ or "").strip().splitlines()
    return Operation(summary=doc[0] if doc else endpoint, tag=endpoint.split(".", 1)[0],
                     response=Any, errors=(401,), extension=path not in V3_FOREIGN_PATHS,
                     media_type="*/*")


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API routes registered on ``app``."""
    schemas = _Schemas()
    schemas.ref(Problem, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(api_rules(app), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(view, ATTR, None) or OUTSIDE_OPERATIONS.get(rule.endpoint)
        path, names = _openapi_path(rule.rule)
        if op is None and rule.endpoint.startswith(API_ENDPOINT_PREFIXES):
            raise LookupError(f"API route {rule.rule} ({rule.endpoint}) has no @operation")
        op = op or _foreign_operation(rule.endpoint, path, view)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation_object(
                op, rule.endpoint, method, names, schemas)
    _exclude_literal_siblings(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Glue API v3", "version": "3.0.0",
                 "description": "Wire-compatible with Posti Glue's public API v3. Operations "
                                "marked `x-glue-extension` are Glue's additions. Errors are "
                                "RFC 9457 problem details (`Problem`). Lists answer with the "
                                "paged envelope (0-based `page`, `size`); the big ones (a "
                                "catalog's products, balances, orders, shipments) are "
                                "keyset-paged: every page is read with a seek on a unique "
                                "key, never an OFFSET scan, so the last page costs what the "
                                "first does, and `page.next` is a cursor for `after=`."},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from /auth/token; valid for 3600 s."},
                "basic": {"type": "http", "scheme": "basic",
                          "description": "API account name and secret."}}},
        "security": [{"bearer": []}],
    }


def _exclude_literal_siblings(paths: dict[str, dict[str, Any]]) -> None:
    """A path parameter cannot take a value that a literal route beside it serves (the v3 API
    has ``GET /inventory/balances`` beside ``GET /inventory/{externalId}``): say so in the
    parameter's schema, so that clients and generated tests know."""
    for path, operations in paths.items():
        parts = path.split("/")
        for index, part in enumerate(parts):
            if not (part.startswith("{") and part.endswith("}")):
                continue
            for method, operation in operations.items():
                taken = sorted(other.split("/")[index] for other, ops in paths.items()
                               if method in ops and len(other.split("/")) == len(parts)
                               and other.split("/")[:index] == parts[:index]
                               and other.split("/")[index + 1:] == parts[index + 1:]
                               and "{" not in other.split("/")[index])
                if not taken:
                    continue
                for param in operation.get("parameters", []):
                    if param["in"] == "path" and param["name"] == part[1:-1]:
                        param["schema"] = {**param["schema"], "not": {"enum": taken}}


def _operation_object(op: Operation, endpoint: str, method: str,
                      names: list[tuple[str, str]], schemas: _Schemas) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": kind}}
              for n, kind in names]
    params += [{"name": p.name, "in": "query", "required": p.required, "schema": p.schema,
                **({"description": p.description} if p.description else {})} for p in op.query]
    if op.response is None:
        ok: dict[str, Any] = {"description": "Done; no body."}
    elif op.media_type == "application/json":
        ok = {"description": "OK", "content": {
            "application/json": {"schema": schemas.ref(op.response, "serialization")}}}
    elif op.media_type == "*/*":
        ok = {"description": "OK"}
    else:
        ok = {"description": "OK", "content": {op.media_type: {"schema": {
            "type": "string", "contentMediaType": op.media_type}}}}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    errors = set(op.errors) | ({422} if op.body is not None or op.query else set())
    # a foreign route's answers are not described: "default" covers every status
    responses: dict[str, Any] = {"default" if op.media_type == "*/*" else str(op.status): ok}
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"),
                                  "content": problem}
    obj: dict[str, Any] = {
        "operationId": f"{endpoint.rsplit('.', 1)[-1]}_{method.lower()}",
        "summary": op.summary, "tags": [op.tag], "parameters": params, "responses": responses}
    if op.description:
        obj["description"] = op.description
    if op.body is not None:
        obj["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": schemas.ref(op.body, "validation")}}}
    if not op.auth:
        obj["security"] = [] if endpoint != "api.auth.token" else [{"basic": []}]
    if op.extension:
        obj["x-glue-extension"] = True
    return obj
