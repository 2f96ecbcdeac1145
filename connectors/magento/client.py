"""The one HTTP seam to a Magento 2 shop: REST calls signed with OAuth 1.0a (STYLE.md 5).

- **Auth**: the integration's four OAuth 1.0a credentials, HMAC-SHA256 (requests-oauthlib),
  because Magento 2.4.4+ refuses integration tokens as bearer tokens unless the merchant
  enabled "Allow OAuth Access Tokens to be used as standalone Bearer tokens"; ``bearer_token``
  is the option for shops that did. The install's token exchange is here too
  (:func:`request_token`, :func:`access_token`).
- **Store code in the path**: ``/rest/<store>/V1``; reads go to the default store (no code),
  product writes to ``all`` unless configured, so they do not become store-view overrides.
- **Search**: ``searchCriteria`` (filter groups are AND, filters inside one are OR), always
  sorted by a unique key, paged until ``total_count`` says the end is reached: older releases
  answer a page past the end with the last page again.
- **Errors**: HTTP statuses through :func:`connectors.errors.error_for_status` with Magento's
  ``message`` (``%1``/``%name`` placeholders filled in); timeouts and unreachable shops are
  :class:`Retriable`. Nothing is retried here: a 5xx after a write may have done it.
- **Async bulk**: ``/async/bulk/V1/...`` takes a JSON array and answers 202 with a
  ``bulk_uuid``; :meth:`MagentoClient.bulk_status` reads its operations.

Money goes out as exact JSON numbers: :func:`dumps` writes a ``Decimal`` as its digits.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, quote

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests_oauthlib import OAuth1

from connectors.errors import (
    ConnectorError,
    Fatal,
    NeedsConfiguration,
    Retriable,
    error_for_status,
)

DEFAULT_TIMEOUT = 20.0
PAGE_SIZE = 100  # below the 300 cap of shops that enable input limits
WRITE_STORE = "all"
USER_AGENT = "Glue-Magento/1.0"
Filter = tuple[str, Any, str]  # field, value, condition type


class NotFound(Fatal):
    """HTTP 404: the entity does not exist (a product the merchant deleted, an unknown SKU)."""


def dumps(payload: Any) -> str:
    """JSON with every ``Decimal`` written as an exact number (``39.90``, never via float)."""
    marker = f"__glue_decimal_{uuid.uuid4().hex}__"

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"{value} is not a JSON number")
            return f"{marker}{value}"
        if isinstance(value, Mapping):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        if isinstance(value, float):
            raise TypeError("amounts must be Decimal, never float")
        return value

    text = json.dumps(mark(payload), ensure_ascii=False)
    return re.sub(f'"{marker}(-?[0-9.E+-]+)"', r"\1", text)


def search_params(filter_groups: Sequence[Sequence[Filter]] = (), *, sort: str,
                  direction: str = "ASC", page_size: int = PAGE_SIZE,
                  page: int = 1) -> list[tuple[str, str]]:
    """``searchCriteria`` query parameters: each inner sequence is one filter group (its
    filters are OR-ed, the groups AND-ed)."""
    params: list[tuple[str, str]] = []
    for g, group in enumerate(filter_groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params += [(f"{prefix}[field]", field), (f"{prefix}[value]", str(value)),
                       (f"{prefix}[condition_type]", condition)]
    params += [("searchCriteria[sortOrders][0][field]", sort),
               ("searchCriteria[sortOrders][0][direction]", direction),
               ("searchCriteria[pageSize]", str(page_size)),
               ("searchCriteria[currentPage]", str(page))]
    return params


def error_message(status: int, body: bytes) -> str:
    """Magento's error ``message`` with its ``parameters`` filled in, for people to read."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return f"Magento answered HTTP {status}"
    if not isinstance(data, dict) or not data.get("message"):
        return f"Magento answered HTTP {status}"
    message, parameters = str(data["message"]), data.get("parameters") or []
    if isinstance(parameters, list):
        for i, value in enumerate(parameters, start=1):
            message = message.replace(f"%{i}", str(value))
    elif isinstance(parameters, dict):
        for name, value in parameters.items():
            message = message.replace(f"%{name}", str(value))
    return f"Magento answered HTTP {status}: {message}"[:500]


def _raise_for(response: requests.Response) -> None:
    if response.status_code < 400:
        return
    message = error_message(response.status_code, response.content)
    if response.status_code == 404:
        raise NotFound(message, status=404)
    raise error_for_status(response.status_code, retry_after=response.headers.get("Retry-After"),
                           message=message)


def _session() -> requests.Session:
    session = requests.Session()
    # Magento sets PHPSESSID even on API calls; an API client has no use for a session
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    return session


@dataclass(frozen=True)
class BulkStatus:
    """A bulk's operations by status (Magento's codes: 1 complete, 2 failed but retriable,
    3 failed, 4 open, 5 rejected) and the messages of failed ones by operation id."""

    uuid: str
    statuses: Mapping[int, int]
    messages: Mapping[int, str]

    COMPLETE, RETRIABLY_FAILED, FAILED, OPEN, REJECTED = 1, 2, 3, 4, 5

    @property
    def done(self) -> bool:
        return all(s != self.OPEN for s in self.statuses.values())

    def failed(self) -> dict[int, str]:
        return {i: self.messages.get(i, "") for i, s in self.statuses.items()
                if s in (self.RETRIABLY_FAILED, self.FAILED, self.REJECTED)}


class MagentoClient:
    """REST calls to one Magento shop.

    ``base_url`` is the shop's ``store_base_url``; ``credentials`` holds either the four OAuth
    values (``consumer_key``, ``consumer_secret``, ``access_token``, ``access_token_secret``)
    or ``bearer_token``. ``read_store`` is None for the default store; ``write_store`` is the
    store code for product writes.
    """

    def __init__(self, base_url: str, credentials: Mapping[str, str], *,
                 read_store: str | None = None, write_store: str = WRITE_STORE,
                 timeout: float = DEFAULT_TIMEOUT, bulk_interval: float = 2.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.bulk_interval = bulk_interval  # seconds between bulk status reads
        self.read_store, self.write_store = read_store, write_store
        self.timeout = timeout
        self._session = session or _session()
        self._auth = _auth(credentials)
        self.calls = 0  # requests sent, for the idle-poll cost the benches report

    def __repr__(self) -> str:  # credentials stay out of logs and tracebacks
        return f"MagentoClient(base_url={self.base_url!r})"

    # --- calls -------------------------------------------------------------------------

    def url(self, path: str, *, store: str | None = None, prefix: str = "") -> str:
        """``{base}/rest[/{store}]{prefix}/V1/{path}``; ``prefix`` is ``/async/bulk`` etc."""
        scope = f"/{quote(store)}" if store else ""
        return f"{self.base_url}/rest{scope}{prefix}/V1/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, body: Any = None,
                params: Sequence[tuple[str, str]] | None = None, store: str | None = None,
                prefix: str = "") -> Any:
        """One REST call; the decoded JSON answer (Magento answers ids as bare strings)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = dumps(body).encode() if body is not None else None
        self.calls += 1
        try:
            response = self._session.request(
                method, self.url(path, store=store, prefix=prefix), params=params, data=data,
                headers=headers, auth=self._auth, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise Retriable(f"Magento did not answer within {self.timeout} s") from exc
        except requests.ConnectionError as exc:
            raise Retriable(f"cannot reach Magento at {self.base_url}") from exc
        if 300 <= response.status_code < 400:
            raise NeedsConfiguration(f"Magento redirected {method} {path} to "
                                     f"{response.headers.get('Location')}: check the base URL")
        _raise_for(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise Retriable("Magento answered with something that is not JSON") from exc

    def get(self, path: str, params: Sequence[tuple[str, str]] | None = None) -> Any:
        return self.request("GET", path, params=params, store=self.read_store)

    def write(self, method: str, path: str, body: Any = None, *,
              product: bool = False) -> Any:
        """A write; ``product`` writes go to ``write_store`` (``all``), others to the default
        store, as the shop's own admin does."""
        return self.request(method, path, body=body,
                            store=self.write_store if product else self.read_store)

    def search(self, path: str, filter_groups: Sequence[Sequence[Filter]] = (), *,
               sort: str, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every item of a search, page by page, sorted by ``sort`` (a unique key: sorting by
        a shared value lets rows repeat or vanish across pages). Stops when ``total_count``
        is reached, or on an empty page, whichever comes first."""
        page = 1
        while True:
            answer = self.get(path, search_params(filter_groups, sort=sort,
                                                  page_size=page_size, page=page))
            items = answer.get("items") or []
            yield from items
            if not items or page * page_size >= int(answer.get("total_count") or 0):
                return
            page += 1

    # --- async bulk ----------------------------------------------------------------------

    def bulk(self, method: str, path: str, bodies: Sequence[Any], *,
             product: bool = True) -> str:
        """Queue one request per body on the async bulk endpoint; the ``bulk_uuid``.

        ``path`` uses Magento's bulk form (``products``, ``products/bySku/media``). Raises
        :class:`Fatal` when Magento rejected items at intake (``errors: true``).
        """
        answer = self.request(method, path, body=list(bodies), prefix="/async/bulk",
                              store=self.write_store if product else self.read_store)
        rejected = [item for item in answer.get("request_items") or []
                    if item.get("status") != "accepted"]
        if answer.get("errors") or rejected:
            raise Fatal(f"Magento rejected {len(rejected)} bulk item(s)",
                        items=[i.get("id") for i in rejected])
        return str(answer["bulk_uuid"])

    def bulk_status(self, bulk_uuid: str) -> BulkStatus:
        answer = self.get(f"bulk/{quote(bulk_uuid)}/status")
        operations = answer.get("operations_list") or []
        return BulkStatus(uuid=bulk_uuid,
                          statuses={int(o["id"]): int(o["status"]) for o in operations},
                          messages={int(o["id"]): str(o.get("result_message") or "")
                                    for o in operations})

    def wait_for_bulk(self, bulk_uuid: str, *, timeout: float = 300.0,
                      interval: float | None = None,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> BulkStatus:
        """Poll the bulk until no operation is open; :class:`Retriable` if it stays open
        (the shop's ``async.operations.all`` consumer is not running). ``interval`` defaults
        to the client's ``bulk_interval``."""
        interval = self.bulk_interval if interval is None else interval
        deadline = clock() + timeout
        while True:
            status = self.bulk_status(bulk_uuid)
            if status.done:
                return status
            if clock() >= deadline:
                raise Retriable(f"bulk {bulk_uuid} still open after {timeout:.0f} s: is the "
                                "shop's async.operations.all consumer running?",
                                bulk_uuid=bulk_uuid)
            sleep(interval)

    # --- images --------------------------------------------------------------------------

    def download(self, url: str, *, max_bytes: int = 10 * 1024 * 1024) -> tuple[bytes, str]:
        """An image to upload as base64, with its content type. Sent without ``auth``: the
        shop's credentials never go to an image host (and the session keeps no cookies)."""
        try:
            response = self._session.get(url, timeout=self.timeout, stream=True,
                                         allow_redirects=True)
        except requests.RequestException as exc:
            raise Retriable(f"cannot download image {url}") from exc
        with response:
            if response.status_code >= 400:
                raise error_for_status(response.status_code,
                                       message=f"image {url}: HTTP {response.status_code}")
            mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not mime.startswith("image/"):
                raise Fatal(f"{url} is not an image ({mime or 'no content type'})")
            content = response.raw.read(max_bytes + 1, decode_content=True)
        if len(content) > max_bytes:
            raise Fatal(f"image {url} is larger than {max_bytes} bytes")
        return content, mime


def _auth(credentials: Mapping[str, str]) -> requests.auth.AuthBase:
    if credentials.get("bearer_token"):
        return _Bearer(credentials["bearer_token"])
    try:
        return OAuth1(credentials["consumer_key"], credentials["consumer_secret"],
                      credentials["access_token"], credentials["access_token_secret"],
                      signature_method=SIGNATURE_HMAC_SHA256)
    except KeyError as exc:
        raise NeedsConfiguration(f"the Magento connection lacks {exc.args[0]}") from None


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


# --- the integration's token exchange (install) ----------------------------------------------

@dataclass(frozen=True)
class Token:
    token: str
    secret: str

    def __repr__(self) -> str:
        return "Token(…)"


def _token_call(url: str, auth: OAuth1, timeout: float,
                session: requests.Session | None) -> Token:
    try:
        response = (session or _session()).post(url, auth=auth, timeout=timeout,
                                                allow_redirects=False)
    except requests.Timeout as exc:
        raise Retriable(f"Magento did not answer within {timeout} s") from exc
    except requests.ConnectionError as exc:
        raise Retriable(f"cannot reach Magento at {url}") from exc
    _raise_for(response)
    values = dict(parse_qsl(response.text))
    if not values.get("oauth_token") or not values.get("oauth_token_secret"):
        raise Fatal("Magento's token answer has no oauth_token")
    return Token(values["oauth_token"], values["oauth_token_secret"])


def request_token(base_url: str, consumer_key: str, consumer_secret: str, *,
                  timeout: float = DEFAULT_TIMEOUT,
                  session: requests.Session | None = None) -> Token:
    """``POST /oauth/token/request`` signed with the consumer credentials alone."""
    auth = OAuth1(consumer_key, consumer_secret, signature_method=SIGNATURE_HMAC_SHA256)
    return _token_call(f"{base_url.rstrip('/')}/oauth/token/request", auth, timeout, session)


def access_token(base_url: str, consumer_key: str, consumer_secret: str, request: Token,
                 verifier: str, *, timeout: float = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> Token:
    """``POST /oauth/token/access`` with the request token and the activation's verifier;
    the access token never expires until the merchant reauthorizes the integration."""
    auth = OAuth1(consumer_key, consumer_secret, request.token, request.secret,
                  verifier=verifier, signature_method=SIGNATURE_HMAC_SHA256)
    return _token_call(f"{base_url.rstrip('/')}/oauth/token/access", auth, timeout, session)


__all__ = ["BulkStatus", "ConnectorError", "MagentoClient", "NotFound", "Token", "access_token",
           "dumps", "error_message", "request_token", "search_params"]
