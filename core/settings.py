"""Settings, read from the environment with the prefix ``GLUE_``."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

INSTANCE_DIR = Path.cwd() / "instance"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GLUE_", extra="ignore")

    instance_dir: Path = Field(default=INSTANCE_DIR, description="Where the embedded database, "
                               "the generated secret key and the worker's queue live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in "
                              "instance/glue.db. PostgreSQL: postgresql+psycopg://user@host/db")
    secret_key: str = Field(default="", description="Signs sessions and tokens; generated and "
                            "kept in instance/secret_key when unset.")
    encryption_keys: str = Field(default="", description="Comma-separated Fernet keys for secrets "
                                 "at rest, newest first; old keys still decrypt (rotation). "
                                 "Derived from the secret key when unset.")
    redis_url: str = Field(default="", description="Huey uses Redis when set, SQLite otherwise.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL Glue is "
                            "reached at, used in links and install callbacks.")
    token_ttl_seconds: int = Field(default=3600, description="Lifetime of API bearer tokens.")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.instance_dir / 'glue.db'}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        path = self.instance_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
