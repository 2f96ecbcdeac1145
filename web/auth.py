"""``/auth/token`` and bearer-token checking for the API.

Token request, in every shape current clients use (reference page, "Auth"):

- ``GET`` or ``POST /auth/token`` with ``Authorization: Basic base64(account:secret)``;
- optionally ``grant_type=client_credentials`` in the query string or the form (any other grant
  type is 400 ``unsupported_grant_type``);
- or ``POST`` form fields ``client_id`` and ``client_secret`` instead of the Basic header.

Answer: exactly ``{"access_token", "token_type": "bearer", "expires_in": 3600, "scope":
"internal"}``; any refusal is 401 "Bad credentials" with no hint which part was wrong.

Other blueprints call ``api_principal()`` (or decorate a view with ``requires_api_auth``) to
learn who sent the request's bearer token; a missing or bad token aborts with 401 and a
``WWW-Authenticate: Bearer`` header.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, jsonify, request

from core.api_accounts import (
    AuthenticationFailed,
    authenticate,
    issue_token,
    principal_for_token,
    token_ttl_seconds,
)
from core.principal import Principal
from web.app import get_db

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def _problem(*args: Any, **kwargs: Any) -> Response:
    # Imported late: web.api imports this module to nest its blueprint, so a module-level
    # import here would make the two packages' import order matter.
    from web.api.errors import problem

    return problem(*args, **kwargs)


def _unauthorized(scheme: str) -> Response:
    return _problem(401, "unauthorized", "Bad credentials",
                   headers={"WWW-Authenticate": f'{scheme} realm="glue"'})


def _credentials() -> tuple[str, str] | None:
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username, auth.password or ""
    client_id, client_secret = request.form.get("client_id"), request.form.get("client_secret")
    if client_id and client_secret is not None:
        return client_id, client_secret
    return None


@bp.route("/auth/token", methods=["GET", "POST"])
def token() -> Response:
    """Exchange API account credentials for a bearer token."""
    grant_type = request.args.get("grant_type") or request.form.get("grant_type")
    if grant_type not in (None, "", "client_credentials"):
        return _problem(400, "unsupported_grant_type",
                       "only grant_type=client_credentials is supported")
    credentials = _credentials()
    # a NUL cannot be in any account name, and PostgreSQL refuses it in a query parameter
    if credentials is None or "\x00" in credentials[0]:
        return _unauthorized("Basic")
    access_token = None
    with get_db().sessions() as session:
        # The transaction commits even when authentication fails: the failure count is state.
        with session.begin():
            try:
                principal = authenticate(session, *credentials)
                access_token = issue_token(session, principal)
            except AuthenticationFailed:
                pass
    if access_token is None:
        return _unauthorized("Basic")
    response = jsonify(access_token=access_token, token_type="bearer",
                       expires_in=token_ttl_seconds(), scope="internal")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def api_principal() -> Principal:
    """The principal of the current request's bearer token; aborts with 401 otherwise.

    The answer is remembered for the rest of the request (on ``flask.g``, never across
    requests), so calling it again costs nothing.
    """
    if "api_principal" in g:
        return g.api_principal
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        abort(_unauthorized("Bearer"))
    with get_db().sessions() as session:
        try:
            principal = principal_for_token(session, auth.token)
        except AuthenticationFailed:
            abort(_unauthorized("Bearer"))
    g.api_principal = principal
    return principal


def requires_api_auth(view: F) -> F:
    """Decorate a view so that it runs only for a valid bearer token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        api_principal()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
