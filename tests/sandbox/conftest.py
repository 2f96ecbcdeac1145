"""A running Shopify sandbox with one app and one shop, and a loopback webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask, request

from connectors.shopify.client import ShopifyClient
from sandbox.common import Faults, LoopbackServer
from sandbox.shopify import SandboxApp, ShopifySandbox, ShopState

API_KEY, API_SECRET = "glue-app-key", "glue-app-secret"
SHOP = "glue-demo.myshopify.com"
REDIRECT = "https://glue.test/connect/shopify/callback"


@dataclass
class Received:
    """Deliveries the receiver got: (headers, raw body), in arrival order."""

    items: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[tuple[LoopbackServer, Received]]:
    received = Received()
    app = Flask("receiver")

    @app.post("/hook")
    def hook() -> tuple[str, int]:
        with received.lock:
            received.items.append((dict(request.headers), request.get_data()))
        return "", 200

    with LoopbackServer(app) as server:
        yield server, received


def make_sandbox(**kw: object) -> ShopifySandbox:
    return ShopifySandbox(SandboxApp(API_KEY, API_SECRET, (REDIRECT,)), **kw)  # type: ignore


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    with make_sandbox() as running:
        running.add_shop(SHOP)
        yield running


def grant(shop: ShopState, token: str = "shpat_test") -> str:
    """An installed app's token, without going through OAuth (that has its own tests)."""
    shop.tokens[token] = None
    shop.scopes = frozenset({"read_products", "write_products", "read_orders",
                             "write_assigned_fulfillment_orders"})
    shop.installed = True
    return token


def client_for(sandbox: ShopifySandbox, shop: str = SHOP, **kw: object) -> ShopifyClient:
    token = grant(sandbox.shops[shop])
    return ShopifyClient(shop, token, base_url=sandbox.base_url(shop), **kw)  # type: ignore


__all__ = ["Faults"]
