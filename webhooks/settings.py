"""Settings of the event spine, read from the environment with the prefix ``GLUE_``.

They live here rather than in ``core.settings`` because only the spine reads them.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class SpineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GLUE_", extra="ignore")

    shopify_api_secret: str = Field(default="", description="The Shopify app's client secret; "
                                    "signs every Shopify webhook delivery.")
    webhook_max_bytes: int = Field(default=5 * MIB, description="Largest webhook body accepted; "
                                   "larger deliveries are answered 413.")
    sweep_grace_seconds: int = Field(default=60, description="A row not done this long after it "
                                     "became due is enqueued again by the sweep.")
    inbox_max_attempts: int = Field(default=8, description="Attempts before a delivery is "
                                    "dead-lettered.")
    outbox_max_attempts: int = Field(default=12, description="Attempts before an outgoing "
                                     "webhook is dead-lettered.")
    retry_base_seconds: float = Field(default=30.0, description="First retry delay; doubles "
                                      "with every attempt.")
    retry_max_seconds: float = Field(default=6 * 3600.0, description="Longest retry delay.")
    subscriber_disable_after_seconds: int = Field(
        default=3 * 24 * 3600, description="A subscriber failing without a success for this "
        "long is disabled with a reason.")
    outgoing_timeout_seconds: float = Field(default=10.0, description="Total time allowed for "
                                            "one outgoing webhook request.")
    webhook_allow_private_targets: bool = Field(
        default=False, description="Allow outgoing webhooks to loopback and private addresses "
        "(development and tests only).")


@lru_cache
def get_spine_settings() -> SpineSettings:
    return SpineSettings()
