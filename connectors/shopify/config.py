"""The Shopify app's configuration, read from the environment at call time.

One definition for every part of the connector: the install flow (OAuth), the connector's
webhook check and the compliance handlers all sign or verify with the same client secret.
Kept apart from :mod:`connectors.shopify.install` so that the worker can read it without
importing the install views (Flask blueprint, UI login).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.settings import get_settings


@dataclass(frozen=True)
class AppConfig:
    """The Shopify app's credentials and where Glue and the shops are reached.

    ``admin_url`` is a template for a shop's own base URL (``https://{shop}``); the sandbox
    sets ``GLUE_SHOPIFY_ADMIN_URL=http://127.0.0.1:<port>/shops/{shop}``.
    """

    api_key: str
    api_secret: str
    public_url: str
    admin_url: str = "https://{shop}"

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_secret)

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/connect/shopify/callback"

    @property
    def webhook_uri(self) -> str:
        return f"{self.public_url}/webhooks/shopify"

    def shop_url(self, shop: str) -> str:
        return self.admin_url.format(shop=shop).rstrip("/")

    def __repr__(self) -> str:  # the secret stays out of logs
        return f"AppConfig(api_key={self.api_key!r}, public_url={self.public_url!r})"


def app_config() -> AppConfig:
    """Read ``GLUE_SHOPIFY_API_KEY``, ``GLUE_SHOPIFY_API_SECRET``, ``GLUE_PUBLIC_URL`` (else
    the settings' public URL) and ``GLUE_SHOPIFY_ADMIN_URL`` at call time."""
    return AppConfig(api_key=os.environ.get("GLUE_SHOPIFY_API_KEY", ""),
                     api_secret=os.environ.get("GLUE_SHOPIFY_API_SECRET", ""),
                     public_url=(os.environ.get("GLUE_PUBLIC_URL")
                                 or get_settings().public_url).rstrip("/"),
                     admin_url=os.environ.get("GLUE_SHOPIFY_ADMIN_URL") or "https://{shop}")


__all__ = ["AppConfig", "app_config"]
