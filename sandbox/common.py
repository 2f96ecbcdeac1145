"""Pieces every sandbox shop shares: a loopback server in a thread, fault injection and
signed webhook deliveries with their log (DESIGN.md 11).

The sandboxes are test doubles: state lives in memory, one process. What they share is how
they misbehave on purpose, so that the reliability tests can ask any of them for "20 % of API
calls fail, 10 % of webhooks are dropped, 10 % duplicated" with a seed and get the same run
every time.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

API_FAULTS = ("429", "500", "503", "timeout")


@dataclass
class Faults:
    """Seeded misbehaviour. ``api_error_rate`` is the share of API calls that fail, spread
    evenly over :data:`API_FAULTS` (``timeout``: the call runs, then the answer is held for
    ``hang_seconds``, the case where a client cannot know whether a mutation happened).
    ``drop_rate`` and ``duplicate_rate`` apply to webhook deliveries: a dropped delivery is
    never sent, a duplicated one is sent twice with the same ids.

    ``counts`` tallies what was injected, so tests and benches can compare it with what the
    client saw. Thread-safe: the RNG is drawn under a lock.
    """

    api_error_rate: float = 0.0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    seed: int = 0
    retry_after: float = 1.0
    hang_seconds: float = 2.0
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for name in ("api_error_rate", "drop_rate", "duplicate_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if self.drop_rate + self.duplicate_rate > 1.0:
            raise ValueError("drop_rate + duplicate_rate must not exceed 1")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def api_fault(self) -> str | None:
        """The fault for the next API call (one of :data:`API_FAULTS`), or None."""
        with self._lock:
            self.counts["api_calls"] += 1
            if self._rng.random() >= self.api_error_rate:
                return None
            kind = self._rng.choice(API_FAULTS)
            self.counts[f"api_{kind}"] += 1
            return kind

    def copies(self) -> int:
        """How many times to send the next webhook delivery: 0 (dropped), 1 or 2."""
        with self._lock:
            self.counts["deliveries"] += 1
            roll = self._rng.random()
            if roll < self.drop_rate:
                self.counts["dropped"] += 1
                return 0
            if roll < self.drop_rate + self.duplicate_rate:
                self.counts["duplicated"] += 1
                return 2
            return 1


@dataclass
class Delivery:
    """One webhook delivery as the sandbox attempted it; ``status`` is None when the receiver
    could not be reached, ``attempts`` how many requests were sent for it."""

    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    attempts: int = 0
    dropped: bool = False


class Deliverer:
    """Sends signed webhook deliveries and keeps every one in ``log``.

    ``send`` posts synchronously (the checkout that triggered it answers after the delivery,
    which keeps tests deterministic); ``retry_failed`` sends again what was not answered 2xx,
    like the platform's own retry schedule compressed into one call.
    """

    def __init__(self, faults: Faults, *, timeout: float = 5.0) -> None:
        self.faults = faults
        self.timeout = timeout
        self.log: list[Delivery] = []
        self._lock = threading.Lock()

    def send(self, topic: str, url: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
        delivery = Delivery(topic=topic, url=url, body=body, headers=dict(headers))
        with self._lock:
            self.log.append(delivery)
        copies = self.faults.copies()
        delivery.dropped = copies == 0
        for _ in range(copies):
            self._post(delivery)
        return delivery

    def retry_failed(self) -> int:
        """Send again every delivery that was sent but not answered 2xx; returns how many."""
        with self._lock:
            failed = [d for d in self.log if not d.dropped and not _ok(d.status)]
        for delivery in failed:
            self._post(delivery)
        return len(failed)

    def _post(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            answer = requests.post(delivery.url, data=delivery.body, headers=delivery.headers,
                                   timeout=self.timeout, allow_redirects=False)
            delivery.status = answer.status_code
        except requests.RequestException:
            delivery.status = None


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300  # a 3xx counts as a failure


def new_id() -> str:
    return str(uuid.uuid4())


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per call is noise
        pass


class LoopbackServer:
    """A WSGI app served on 127.0.0.1 in a daemon thread (threaded: one thread per request).

    Use as a context manager, or ``start()`` / ``stop()``; ``url`` is the base URL once
    started. ``port=0`` picks a free port.
    """

    def __init__(self, app: Callable[..., Any], *, port: int = 0) -> None:
        self.app = app
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> LoopbackServer:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["API_FAULTS", "Deliverer", "Delivery", "Faults", "LoopbackServer", "new_id"]
