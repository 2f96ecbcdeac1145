"""The one HTTP seam to a WooCommerce shop: REST API v3 calls (STYLE.md 5).

The ``woocommerce`` package (3.0.0) builds the URL (``<site>/wp-json/wc/v3/<endpoint>``) and
the authentication exactly as WooCommerce expects: HTTP Basic over https, the keys in the
query string when ``query_string_auth`` is on (hosts that strip ``Authorization``), and
one-legged OAuth 1.0a (HMAC-SHA256, signed query) over plain http, where WooCommerce refuses
Basic (reference §7). It returns raw ``requests`` responses with a 5 s timeout, no paging and
no error handling, so this module adds what a worker needs:

- a longer timeout (a batch of 100 products takes seconds); timeouts and unreachable shops are
  :class:`~connectors.errors.Retriable`, never retried here (a POST may have run);
- HTTP errors mapped by :func:`connectors.errors.error_for_status` with WooCommerce's own
  ``code`` and ``message`` (401 wrong secret → NeedsConfiguration, 404 → Fatal, 413 over 100
  batch items → Fatal; 501 → Fatal, not Retriable like other 5xx); ``rest_no_route`` (REST
  API or WooCommerce not reachable at that URL) → NeedsConfiguration;
- paging by ``page`` up to ``X-WP-TotalPages`` with ``per_page`` ≤ 100; the ``Link`` header is
  not followed because under OAuth it carries the previous request's stale ``oauth_*``
  parameters;
- batch answers (HTTP 200 even when items fail) split into per-item results, a failed item
  carrying its :class:`BatchItemError`.

Credentials never appear in ``repr`` or in error messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from woocommerce import API

from connectors.errors import (
    ConnectorError,
    Fatal,
    NeedsConfiguration,
    Retriable,
    error_for_status,
)

API_VERSION = "wc/v3"
DEFAULT_TIMEOUT = 30.0
MAX_PER_PAGE = 100  # WordPress core's limit for per_page
MAX_BATCH = 100  # woocommerce_rest_batch_items_limit default: create + update + delete


class BatchItemError(Fatal):
    """One object of a batch that WooCommerce refused inside a 200 answer; ``code`` is
    WooCommerce's error code (``product_invalid_sku``, ``woocommerce_rest_product_invalid_id``)
    and ``data`` its error data (``resource_id`` of the product holding a duplicate SKU)."""

    def __init__(self, message: str, *, code: str, status: int | None,
                 data: Mapping[str, Any]) -> None:
        super().__init__(message, status=status, code=code, data=dict(data))
        self.code = code
        self.data = dict(data)


@dataclass(frozen=True)
class BatchAnswer:
    """A batch answer per list, in the order sent: each entry is the object WooCommerce
    returned, or the :class:`BatchItemError` that refused it."""

    create: list[dict[str, Any] | BatchItemError] = field(default_factory=list)
    update: list[dict[str, Any] | BatchItemError] = field(default_factory=list)
    delete: list[dict[str, Any] | BatchItemError] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int | None
    total_pages: int | None


class WooCommerceClient:
    """REST API v3 calls to one shop with one consumer key and secret.

    ``url`` is the site URL exactly as WordPress knows it (OAuth signs it, so ``www`` and the
    scheme matter). ``api`` replaces the ``woocommerce.API`` instance (tests, the sandbox).
    """

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, *,
                 timeout: float = DEFAULT_TIMEOUT, query_string_auth: bool = False,
                 verify_ssl: bool = True, api: API | None = None) -> None:
        if not consumer_key or not consumer_secret:
            raise NeedsConfiguration("the WooCommerce connection has no API keys")
        self.url = url.rstrip("/")
        self.api = api or API(url=self.url, consumer_key=consumer_key,
                              consumer_secret=consumer_secret, version=API_VERSION,
                              timeout=timeout, query_string_auth=query_string_auth,
                              verify_ssl=verify_ssl)
        self.calls = 0  # requests sent, for the API-call ratio the benches report

    def __repr__(self) -> str:  # the keys stay out of logs and tracebacks
        return f"WooCommerceClient(url={self.url!r})"

    # --- calls -------------------------------------------------------------------------

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("GET", endpoint, params=params))

    def post(self, endpoint: str, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("POST", endpoint, data=data, params=params))

    def put(self, endpoint: str, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("PUT", endpoint, data=data, params=params))

    def delete(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._send("DELETE", endpoint, params=params))

    def page(self, endpoint: str, params: Mapping[str, Any] | None = None, *, page: int = 1,
             per_page: int = MAX_PER_PAGE) -> Page:
        """One page of a collection, with ``X-WP-Total`` and ``X-WP-TotalPages``."""
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        response = self._send("GET", endpoint,
                              params={**(params or {}), "per_page": per_page, "page": page})
        items = self._json(response)
        if not isinstance(items, list):
            raise Retriable(f"WooCommerce answered {endpoint} with something not a list")
        return Page(items, _int(response.headers.get("X-WP-Total")),
                    _int(response.headers.get("X-WP-TotalPages")))

    def pages(self, endpoint: str, params: Mapping[str, Any] | None = None, *,
              per_page: int = MAX_PER_PAGE) -> Iterator[Any]:
        """Every item of a collection, one page in memory at a time, until
        ``X-WP-TotalPages`` (or an empty page, when a proxy dropped the header)."""
        number = 1
        while True:
            page = self.page(endpoint, params, page=number, per_page=per_page)
            yield from page.items
            if not page.items or (page.total_pages is not None and number >= page.total_pages):
                return
            number += 1

    def batch(self, endpoint: str, body: Mapping[str, Sequence[Any]]) -> BatchAnswer:
        """POST a ``{create, update, delete}`` batch of at most 100 objects and split the
        answer per item. A bigger batch is refused here (:class:`Fatal`, as WooCommerce's 413
        would be) without a request."""
        size = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if size > MAX_BATCH:
            raise Fatal(f"a WooCommerce batch takes at most {MAX_BATCH} objects, not {size}",
                        status=413)
        if size == 0:
            return BatchAnswer()
        answer = self.post(endpoint, {k: list(v) for k, v in body.items() if v})
        if not isinstance(answer, Mapping):
            raise Retriable(f"WooCommerce answered {endpoint} with something not an object")
        lists = {}
        for kind in ("create", "update", "delete"):
            sent = len(body.get(kind) or [])
            got = [_item(entry) for entry in answer.get(kind) or []]
            if len(got) != sent:  # a plugin rewrote the answer: the items cannot be matched
                raise Retriable(f"WooCommerce answered {len(got)} of {sent} {kind} items")
            lists[kind] = got
        return BatchAnswer(**lists)

    # --- transport ---------------------------------------------------------------------

    def _send(self, method: str, endpoint: str, *, data: Any = None,
              params: Mapping[str, Any] | None = None) -> requests.Response:
        self.calls += 1
        kwargs: dict[str, Any] = {"params": dict(params)} if params else {}
        try:
            if method in ("POST", "PUT"):
                response = getattr(self.api, method.lower())(endpoint, data, **kwargs)
            else:
                response = getattr(self.api, method.lower())(endpoint, **kwargs)
        except requests.Timeout as exc:
            raise Retriable(f"WooCommerce did not answer {method} {endpoint} in time") from exc
        except requests.RequestException as exc:
            raise Retriable(f"cannot reach WooCommerce: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error(response, method, endpoint)
        return response

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:  # an HTML page: a maintenance screen, a WAF, a login page
            raise Retriable("WooCommerce answered with something that is not JSON") from exc


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _item(entry: Any) -> dict[str, Any] | BatchItemError:
    if not isinstance(entry, Mapping):
        raise Retriable("WooCommerce answered a batch item that is not an object")
    error = entry.get("error")
    if not error:
        return dict(entry)
    data = error.get("data") or {}
    return BatchItemError(f"{error.get('code')}: {error.get('message')}",
                          code=str(error.get("code") or ""), status=data.get("status"),
                          data=data)


def _error(response: requests.Response, method: str, endpoint: str) -> ConnectorError:
    code, message = "", ""
    try:
        body = response.json()
        if isinstance(body, Mapping):
            code, message = str(body.get("code") or ""), str(body.get("message") or "")
    except ValueError:
        pass
    text = f"WooCommerce answered {method} {endpoint} with HTTP {response.status_code}"
    if code or message:
        text += f": {code}: {message}"
    if code == "rest_no_route":
        return NeedsConfiguration(text + " (is WooCommerce active, with pretty permalinks?)",
                                  status=response.status_code)
    if response.status_code == 501:  # Not Implemented (no trash for webhooks, a WAF refusing
        # PUT/DELETE): the same request can never succeed, unlike the other 5xx
        return Fatal(text, status=501, code=code)
    error = error_for_status(response.status_code,
                             retry_after=response.headers.get("Retry-After"), message=text)
    error.details["code"] = code
    return error


__all__ = ["API_VERSION", "BatchAnswer", "BatchItemError", "MAX_BATCH", "MAX_PER_PAGE", "Page",
           "WooCommerceClient"]
