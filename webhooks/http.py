"""The one outbound HTTP client of the spine: fixed timeouts, no redirects, no hidden retries.

It never raises for HTTP or network failures: the outcome, with its duration, is data to be
recorded as a delivery attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class HttpOutcome:
    status_code: int | None
    duration_ms: int
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class HttpClient:
    def __init__(self, *, connect_timeout: float = 3.0, total_timeout: float = 10.0,
                 user_agent: str = "Glue-Webhooks/1") -> None:
        self.timeout = (connect_timeout, total_timeout)
        self.user_agent = user_agent
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or netrc credentials from the environment

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpOutcome:
        started = time.perf_counter()
        try:
            response = self._session.post(
                url, data=body, headers={"User-Agent": self.user_agent, **headers},
                timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return HttpOutcome(None, _ms_since(started), f"{type(exc).__name__}: {exc}"[:500])
        duration = _ms_since(started)
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return HttpOutcome(response.status_code, duration, error,
                           _retry_after(response.headers.get("Retry-After")))


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; the HTTP-date form is rare and ignored."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
