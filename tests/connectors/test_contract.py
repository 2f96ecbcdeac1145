"""The connector contract: documented per method, implemented by every registered platform,
found through the ``glue.connectors`` entry-point group; and the connection settings."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest
from pydantic import ValidationError

from connectors.base import ConnectionContext, ConnectionSettings, Connector
from connectors.registry import UnknownPlatform, connector_class, connectors

SECTIONS = ("When:", "Assumes:", "Never:")


@pytest.mark.parametrize("name", Connector.CONTRACT)
def test_every_contract_method_says_when_what_it_assumes_and_what_it_must_never_do(
        name: str) -> None:
    doc = inspect.getdoc(getattr(Connector, name)) or ""
    missing = [section for section in SECTIONS if section not in doc]
    assert not missing, f"Connector.{name} lacks {missing} in its docstring"


def test_the_contract_lists_every_abstract_method() -> None:
    # a new abstract method must also be listed (and so documented) in CONTRACT
    assert set(Connector.__abstractmethods__) == set(Connector.CONTRACT)


def test_shopify_is_registered_through_the_entry_point_group() -> None:
    assert connector_class("shopify").platform == "shopify"
    assert "shopify" in connectors()


def test_an_unknown_platform_is_reported() -> None:
    with pytest.raises(UnknownPlatform):
        connector_class("no-such-shop")


@pytest.mark.parametrize("platform", sorted(connectors()))
def test_registered_connectors_implement_the_contract_with_its_signatures(
        platform: str) -> None:
    cls = connector_class(platform)
    assert not inspect.isabstract(cls), f"{platform} leaves {cls.__abstractmethods__} open"
    for name in Connector.CONTRACT:
        base = list(inspect.signature(getattr(Connector, name)).parameters)
        own = list(inspect.signature(getattr(cls, name)).parameters)
        assert own[:len(base)] == base, f"{platform}.{name} changes the contract's parameters"
    assert set(cls.batch_sizes) == {"create", "update", "stock", "end"}
    assert all(size >= 1 for size in cls.batch_sizes.values())


def test_settings_defaults_and_round_trip() -> None:
    # given settings stored as JSON, with a markup pricing rule
    stored = {"catalogs": ["CAT-1"], "pricing": {"basis": "markup", "markup": "1.8",
                                                 "fixed": "0.50", "ending": "0.95"},
              "stock_buffer": 2, "end_of_sale": "unpublish",
              "order_forwarding": {"trigger": "created", "hold_minutes": 15}, "language": "en"}
    settings = ConnectionSettings.from_json(stored)
    # then they parse to exact decimals and store back the same way
    assert settings.pricing.markup == Decimal("1.8")
    assert settings.order_forwarding.hold_minutes == 15
    assert ConnectionSettings.from_json(settings.to_json()) == settings
    # and nothing stored means the defaults
    defaults = ConnectionSettings.from_json(None)
    assert defaults.end_of_sale == "zero_stock" and defaults.auto_publish_new


@pytest.mark.parametrize("bad", [{"end_of_sale": "burn"}, {"stock_buffer": -1},
                                 {"order_forwarding": {"trigger": "shipped"}},
                                 {"language": "de"}, {"unknown": 1}])
def test_settings_refuse_invalid_values(bad: dict) -> None:
    with pytest.raises(ValidationError):
        ConnectionSettings.from_json(bad)


def test_connection_context_decrypts_credentials_and_never_prints_them() -> None:
    import json

    from core.crypto import encrypt
    from core.models import ShopConnection

    connection = ShopConnection(id=7, key="k1", platform="shopify", shop="a.myshopify.com",
                                retailer_id=3, settings={"stock_buffer": 1},
                                credentials=encrypt(json.dumps({"access_token": "shpat_x"})))
    context = ConnectionContext.from_model(connection)
    assert context.credentials["access_token"] == "shpat_x"
    assert context.settings.stock_buffer == 1
    assert "shpat_x" not in repr(context)


class _EveryVariant(dict):
    """A variant mapping that maps every shop variant (or SKU) to a Glue product."""

    def get(self, key, default=None):  # noqa: ANN001, ANN201
        return 1


def _payload(path: str) -> dict:
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent.parent / path).read_text())
    if "body" in data:  # a recorded delivery: headers and the body as sent
        data = json.loads(data["body"])
    return data.get("data", data)


@pytest.mark.parametrize(("platform", "path"), [
    ("shopify", "connectors/shopify/payloads/orders_create.json"),
    ("woocommerce", "connectors/woocommerce/payloads/docs_order_727.json"),
    ("magento", "recordings/magento/webhooks/sales_order_created.json"),
])
def test_order_identity_names_the_order_as_the_draft_does(platform: str, path: str) -> None:
    context = ConnectionContext(id=1, key="k", platform=platform, shop="shop.example",
                                retailer_id=1, credentials={},
                                settings=ConnectionSettings.from_json(
                                    {"order_forwarding": {"trigger": "created"}}))
    connector = connector_class(platform)(context)
    payload = _payload(path)
    draft = connector.order_draft(payload, _EveryVariant())
    assert draft is not None
    assert connector.order_identity(payload) == (draft.shop_order_id, draft.cancelled)
