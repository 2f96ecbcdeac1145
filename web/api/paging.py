"""The Spring-style paged envelope every list of the API answers with.

``{"content": [...], "page": {"size": N, "totalElements": N, "totalPages": N, "number": N}}``;
``page`` is 0-based, ``size`` the page length (default 20, at most 2,000 -- the Products API's
documented per-request maximum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request
from pydantic import BaseModel, Field

from core.errors import ValidationFailed

DEFAULT_SIZE = 20
MAX_SIZE = 2000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return self.number * self.size


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be an integer from {low} to {high}",
                               [{"field": name, "message": f"must be {low}..{high}"}])
    return value


def page_request(default_size: int = DEFAULT_SIZE) -> PageRequest:
    """The ``page`` and ``size`` query parameters of the current request."""
    return PageRequest(number=_int_arg("page", 0, 0, 10_000_000),
                       size=_int_arg("size", default_size, 1, MAX_SIZE))


def envelope(content: Sequence[Any], total: int, page: PageRequest) -> dict[str, Any]:
    return {"content": list(content),
            "page": {"size": page.size, "totalElements": total,
                     "totalPages": math.ceil(total / page.size) if total else 0,
                     "number": page.number}}


class PageInfo(BaseModel):
    size: int
    totalElements: int
    totalPages: int
    number: int = Field(description="0-based page number.")


class Paged(BaseModel, Generic[T]):
    """The paged envelope (Spring Data style)."""

    content: list[T]
    page: PageInfo
