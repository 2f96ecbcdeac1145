"""Shopify order deliveries on the import's short path: an order already imported is a
duplicate before any connector is built or the order translated (Shopify sends most orders
twice, ``orders/create`` then ``orders/paid``); cancellations and refused orders still take the
full import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from connectors import sync
from connectors.models import ConnectionSync, ExternalReference
from connectors.shopify import ShopifyConnector
from connectors.shopify import sync as shopify_sync
from core.models import Order
from tests.connectors.shopify.test_privacy import Shop
from webhooks.handlers import registry
from webhooks.models import InboxDelivery


@pytest.fixture
def shop(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:  # noqa: ANN001
    # the sync runs the orders ask for are not part of this: the drain leaves them undone
    monkeypatch.setitem(registry._tasks, sync.SYNC, lambda spine, connection_id: None)
    yield Shop(db)
    sync.use_connector_factory(None)


def count_translations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Order payloads the Shopify connector translated (each needs a built connector)."""
    translated: list[str] = []
    original = ShopifyConnector.order_draft

    def counting(self: ShopifyConnector, payload: Any, variants: Any) -> Any:
        translated.append(str(payload.get("id")))
        return original(self, payload, variants)

    monkeypatch.setattr(ShopifyConnector, "order_draft", counting)
    return translated


def order(shop: Shop, number: int = 1001, **changes: Any) -> dict[str, Any]:
    return {**shop.order(number, "aino@example.com", "+358401111111", "Aino Asiakas"),
            **changes}


def test_a_second_delivery_of_an_imported_order_is_a_duplicate_without_translating(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    translated = count_translations(monkeypatch)
    shop.deliver("orders/create", order(shop))
    assert translated == ["1001"]
    shop.deliver("orders/paid", order(shop))
    shop.deliver("orders/updated", order(shop))

    assert translated == ["1001"]  # neither repeat translated the order
    assert len(shop.orders()) == 1
    with shop.db.sessions() as s:
        assert s.scalar(sa.select(ConnectionSync.orders_imported)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(ExternalReference).where(
            ExternalReference.kind == "order")) == 1
        assert set(s.scalars(sa.select(InboxDelivery.status))) == {"done"}


def test_a_cancellation_of_an_imported_order_still_takes_the_full_import(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    translated = count_translations(monkeypatch)
    shop.deliver("orders/create", order(shop))
    shop.deliver("orders/cancelled", order(shop, cancelled_at="2026-11-26T11:00:00Z"))

    assert translated == ["1001", "1001"]
    assert shop.orders()["gid://shopify/Order/1001"].status == "Cancelled"


def test_a_refused_order_delivered_again_is_imported_not_skipped(shop: Shop) -> None:
    too_many = order(shop)
    too_many["line_items"] = [{**too_many["line_items"][0], "quantity": 500}]
    shop.deliver("orders/create", too_many)  # 50 in stock: refused, kept for the retailer
    with shop.db.sessions() as s:
        assert s.scalar(sa.select(ExternalReference.state).where(
            ExternalReference.kind == "order")) == "failed"
        assert s.scalar(sa.select(sa.func.count()).select_from(Order)) == 0

    shop.deliver("orders/updated", order(shop))  # edited down to one

    [imported] = shop.orders().values()
    assert imported.shop_order_id == "gid://shopify/Order/1001"
    with shop.db.sessions() as s:
        assert s.scalar(sa.select(ExternalReference.state).where(
            ExternalReference.kind == "order")) == "active"


def test_the_identity_read_from_a_delivery_matches_the_draft() -> None:
    assert shopify_sync.order_identity({"id": 7, "admin_graphql_api_id":
                                        "gid://shopify/Order/7"}) == ("gid://shopify/Order/7",
                                                                      False)
    assert shopify_sync.order_identity({"id": 7, "cancelled_at": "2026-11-26T11:00:00Z"}) == (
        "gid://shopify/Order/7", True)
    assert shopify_sync.order_identity({"line_items": []}) is None
