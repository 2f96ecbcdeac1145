"""The one HTTP seam to a Shopify shop: GraphQL Admin API calls (STYLE.md 5).

ShopifyAPI 12.7.0 provides the session (shop-domain normalisation, explicit API version, the
access-token header) and the GraphQL transport. Its ``GraphQL.execute`` has no timeout, prints
error bodies to stdout and returns GraphQL errors and ``userErrors`` inside HTTP 200 answers, so
this module adds what a worker needs on top:

- a timeout on every call; timeouts and unreachable shops are :class:`Retriable`;
- HTTP errors mapped by :func:`connectors.errors.error_for_status`;
- cost-based throttling: the bucket state from ``extensions.cost.throttleStatus`` is kept, and a
  call waits until the bucket holds what the same query cost last time; a ``THROTTLED`` answer
  (or a 429) is waited out and retried, since Shopify did not run it. Other failures are never
  retried here: a 5xx after a mutation may have run it, and the worker decides;
- GraphQL ``errors`` raised as :class:`ShopifyGraphQLError` (``ACCESS_DENIED`` as
  :class:`~connectors.errors.NeedsConfiguration`) and ``userErrors`` as
  :class:`ShopifyUserErrors`.

The sleep function and the clock are injected so tests run without waiting.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import shopify
from shopify.utils.shop_url import sanitize_shop_domain

from connectors.errors import (
    ConnectorError,
    Fatal,
    NeedsConfiguration,
    Retriable,
    error_for_status,
)

API_VERSION = "2026-07"
DEFAULT_TIMEOUT = 10.0
MAX_THROTTLE_WAITS = 5
MAX_WAIT_SECONDS = 60.0


class ShopifyGraphQLError(Fatal):
    """Top-level GraphQL ``errors`` (a malformed query, an unknown field, a bad variable)."""

    def __init__(self, message: str, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(message, errors=list(errors))
        self.errors = list(errors)


class ShopifyUserErrors(Fatal):
    """A mutation's ``userErrors``: Shopify refused the input. ``user_errors`` keeps each
    ``{field, message, code}`` for the person who has to fix the data."""

    def __init__(self, mutation: str, user_errors: Sequence[Mapping[str, Any]]) -> None:
        text = "; ".join(f"{'.'.join(e.get('field') or []) or mutation}: {e.get('message')}"
                         for e in user_errors)
        super().__init__(f"{mutation} refused: {text}", user_errors=list(user_errors))
        self.mutation = mutation
        self.user_errors = list(user_errors)


class _Transport(shopify.GraphQL):
    """ShopifyAPI's GraphQL transport bound to one session, with a timeout, and letting HTTP
    errors through unprinted (the library prints bodies to stdout)."""

    def __init__(self, endpoint: str, headers: Mapping[str, str], timeout: float) -> None:
        # not super().__init__(): that reads the thread-local active session, and a worker
        # thread serves many shops; this transport holds its own endpoint and headers
        self.endpoint = endpoint
        self.headers = dict(headers)
        self.timeout = timeout

    def execute(self, query: str, variables: Mapping[str, Any] | None = None,
                operation_name: str | None = None) -> str:
        headers = self.merge_headers({"Accept": "application/json",
                                      "Content-Type": "application/json"}, self.headers)
        data = json.dumps({"query": query, "variables": variables,
                           "operationName": operation_name}).encode()
        request = urllib.request.Request(self.endpoint, data, headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read().decode("utf-8")


@dataclass
class Bucket:
    """The last known state of the shop's cost bucket for this app."""

    available: float
    maximum: float
    restore_rate: float
    at: float  # clock() when it was reported

    def estimate(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.at))


class ShopifyClient:
    """GraphQL Admin API calls to one shop with one access token.

    ``base_url`` replaces ``https://<shop>`` (the sandbox listens on loopback); the shop must
    still be a ``*.myshopify.com`` domain, because ShopifyAPI rewrites any other host to one.
    """

    def __init__(self, shop: str, token: str, *, api_version: str = API_VERSION,
                 timeout: float = DEFAULT_TIMEOUT, base_url: str | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 max_throttle_waits: int = MAX_THROTTLE_WAITS,
                 max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        domain = sanitize_shop_domain(shop)
        if not domain:
            raise NeedsConfiguration(f"{shop!r} is not a *.myshopify.com shop domain")
        session = shopify.Session(domain, api_version, token)
        site = session.version.api_path(base_url.rstrip("/")) if base_url else session.site
        self.shop = domain
        self.api_version = session.version.name
        self._transport = _Transport(
            site + "/graphql.json",
            {**shopify.ShopifyResource._headers, "X-Shopify-Access-Token": session.token},
            timeout)
        self._sleep, self._clock = sleep, clock
        self._max_waits, self._max_wait = max_throttle_waits, max_wait_seconds
        self.bucket: Bucket | None = None
        self._costs: dict[str, float] = {}
        self.calls = 0  # requests sent, for the API-call ratio the benches report

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"ShopifyClient(shop={self.shop!r}, api_version={self.api_version!r})"

    # --- calls -------------------------------------------------------------------------

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, *,
                operation_name: str | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``; see the module doc for errors."""
        key = hashlib.sha1(query.encode()).hexdigest()
        waits = 0
        while True:
            self._wait_for_budget(key)
            answer = self._post(query, variables, operation_name)
            if isinstance(answer, Retriable):  # a 429: not run, wait and send again
                delay = answer.retry_after if answer.retry_after is not None else 2.0 ** waits
            else:
                self._note_cost(key, answer)
                errors = answer.get("errors")
                if not errors:
                    return answer.get("data") or {}
                if not _throttled(errors):
                    raise _graphql_error(errors)
                delay = self._throttle_delay(key, answer)
            if waits >= self._max_waits:
                raise Retriable("Shopify kept throttling", retry_after=delay, status=429)
            self._sleep(min(delay, self._max_wait))
            waits += 1

    def mutate(self, mutation: str, variables: Mapping[str, Any], *,
               root: str) -> dict[str, Any]:
        """Run a mutation and return its payload ``data[root]``; non-empty ``userErrors``
        raise :class:`ShopifyUserErrors`."""
        payload = self.execute(mutation, variables).get(root)
        if payload is None:
            raise ShopifyGraphQLError(f"{root} returned no payload", [])
        user_errors = payload.get("userErrors") or []
        if user_errors:
            raise ShopifyUserErrors(root, user_errors)
        return payload

    def nodes(self, query: str, variables: Mapping[str, Any], *, path: Sequence[str],
              after: str | None = None) -> Iterator[dict[str, Any]]:
        """Every node of a paginated connection, page by page (``$after`` cursor, starting
        after ``after``); the query must select ``nodes`` and
        ``pageInfo { hasNextPage endCursor }`` at ``path``. Only one page is held at a time."""
        while True:
            data = self.execute(query, {**variables, "after": after})
            connection: Any = data
            for name in path:
                connection = (connection or {}).get(name)
            if not connection:
                return
            yield from connection.get("nodes") or []
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    def sleep(self, seconds: float) -> None:
        """Wait with the injected sleep (tests move a fake clock instead)."""
        self._sleep(seconds)

    # --- files: staged uploads and bulk results ------------------------------------------

    def upload_staged(self, target: Mapping[str, Any], filename: str, body: bytes) -> str:
        """POST ``body`` to a ``stagedUploadsCreate`` target as the multipart form it asks
        for (its parameters first, the file last); the ``key`` parameter, which is the
        ``stagedUploadPath`` of a bulk mutation. The target URL is a storage bucket, not the
        shop: no access token is sent."""
        fields = [(p["name"], p["value"]) for p in target.get("parameters") or []]
        self.calls += 1
        try:
            answer = requests.post(str(target["url"]), data=fields, timeout=self._timeout(),
                                   files={"file": (filename, body, "text/jsonl")})
        except requests.Timeout as exc:
            raise Retriable("the staged upload did not answer in time") from exc
        except requests.RequestException as exc:
            raise Retriable(f"cannot reach the staged upload target: {exc}") from exc
        if answer.status_code >= 400:
            raise error_for_status(answer.status_code, message=f"the staged upload was "
                                   f"refused: HTTP {answer.status_code} {answer.text[:200]}")
        if not 200 <= answer.status_code < 300:
            raise Fatal(f"the staged upload answered HTTP {answer.status_code}")
        key = dict(fields).get("key")
        if not key:
            raise Fatal("the staged upload target has no key parameter")
        return str(key)

    def download(self, url: str) -> str:
        """A bulk operation's result file (a signed URL: no access token is sent)."""
        self.calls += 1
        try:
            answer = requests.get(url, timeout=self._timeout())
        except requests.RequestException as exc:
            raise Retriable(f"cannot fetch the bulk result file: {exc}") from exc
        if answer.status_code >= 400:
            raise error_for_status(answer.status_code,
                                   message=f"bulk result file: HTTP {answer.status_code}")
        if answer.status_code != 200:
            raise Fatal(f"the bulk result file answered HTTP {answer.status_code}")
        return answer.content.decode("utf-8")

    def _timeout(self) -> float:
        return float(self._transport.timeout)

    # --- transport ---------------------------------------------------------------------

    def _post(self, query: str, variables: Mapping[str, Any] | None,
              operation_name: str | None) -> dict[str, Any] | Retriable:
        self.calls += 1
        try:
            raw = self._transport.execute(query, variables, operation_name)
        except urllib.error.HTTPError as exc:
            body = exc.read()[:300].decode("utf-8", "replace")
            error = error_for_status(exc.code, retry_after=exc.headers.get("Retry-After"),
                                     message=f"Shopify answered HTTP {exc.code}: {body}")
            if exc.code == 429:
                return error  # type: ignore[return-value]
            raise error from None
        except TimeoutError as exc:
            raise Retriable(f"Shopify did not answer within {self._transport.timeout} s") \
                from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise Retriable(f"Shopify did not answer within {self._transport.timeout} s") \
                    from exc
            raise Retriable(f"cannot reach Shopify: {exc.reason}") from exc
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise Retriable("Shopify answered with something that is not JSON") from exc
        if not isinstance(document, dict):
            raise Retriable("Shopify answered with something that is not a JSON object")
        return document

    # --- cost-based throttling -----------------------------------------------------------

    def _note_cost(self, key: str, document: Mapping[str, Any]) -> None:
        cost = (document.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if status:
            self.bucket = Bucket(available=float(status["currentlyAvailable"]),
                                 maximum=float(status["maximumAvailable"]),
                                 restore_rate=float(status["restoreRate"]) or 1.0,
                                 at=self._clock())
        if cost.get("requestedQueryCost") is not None:
            self._costs[key] = float(cost["requestedQueryCost"])

    def _wait_for_budget(self, key: str) -> None:
        """Sleep until the bucket should hold what this query cost last time."""
        need = self._costs.get(key)
        if self.bucket is None or need is None:
            return
        short = need - self.bucket.estimate(self._clock())
        if short > 0:
            self._sleep(min(short / self.bucket.restore_rate, self._max_wait))

    def _throttle_delay(self, key: str, document: Mapping[str, Any]) -> float:
        if self.bucket is None:
            return 1.0
        need = self._costs.get(key, self.bucket.maximum)
        return max(0.1, (need - self.bucket.available) / self.bucket.restore_rate)


def _throttled(errors: Sequence[Mapping[str, Any]]) -> bool:
    return any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def _graphql_error(errors: Sequence[Mapping[str, Any]]) -> ConnectorError:
    messages = "; ".join(str(e.get("message")) for e in errors)
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if "ACCESS_DENIED" in codes:
        return NeedsConfiguration(f"Shopify denied access: {messages}", errors=list(errors))
    return ShopifyGraphQLError(f"Shopify GraphQL error: {messages}", errors)


__all__ = ["API_VERSION", "ShopifyClient", "ShopifyGraphQLError", "ShopifyUserErrors"]
