"""The Flask app factory: the composition root of the web side, kept small on purpose.

Each surface is a blueprint in its own module; this file only wires them together.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Flask, current_app

from core.db import Database
from core.settings import Settings, get_settings

# (module, attribute) of every blueprint; a missing module is a bug, so imports are not guarded.
BLUEPRINTS: list[tuple[str, str]] = [
    ("web.health", "bp"),
    ("web.ui", "bp"),  # the browser UI (web/ui/__init__.py)
    ("web.demo_images", "bp"),
    ("web.api", "bp"),  # /auth/token, /ecommerce/v3, /api/docs
    ("web.webhooks_api", "bp"),  # /webhooks receiver, webhook subscriptions, /metrics
    ("web.documents_api", "bp"),  # labels, packing slips, manifest, logo, tracking
    ("connectors.woocommerce.install", "bp"),  # /connect/woocommerce: wc-auth, manual keys
    ("connectors.magento.install", "bp"),  # /connect/magento: integration activation
    ("connectors.shopify.install", "bp"),  # /connect/shopify: Shopify OAuth, link, settings
]


def create_app(database: Database | None = None, settings: Settings | None = None,
               **config: Any) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.resolved_secret_key(), GLUE_SETTINGS=settings,
                      MAX_CONTENT_LENGTH=64 * 1024 * 1024, JSON_SORT_KEYS=False)
    app.config.update(config)
    app.extensions["glue.db"] = database or Database(settings.resolved_database_url())
    for module, attr in BLUEPRINTS:
        app.register_blueprint(getattr(import_module(module), attr))
    return app


def get_db() -> Database:
    """The app's database (one engine per process)."""
    return current_app.extensions["glue.db"]
