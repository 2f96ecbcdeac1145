"""The Spring-style paged envelope every list of the API answers with.

``{"content": [...], "page": {"size": N, "totalElements": N, "totalPages": N, "number": N}}``;
``page`` is 0-based, ``size`` the page length (default 20, at most 2,000 -- the Products API's
documented per-request maximum).

The big lists (a catalog's products, balances, order search, shipments) are keyset-paged
(:mod:`core.keyset`): page N is read with a seek on the list's unique key, never with an OFFSET
over whole rows, so the last page costs what the first does. Clients that follow page numbers
keep working unchanged; as a Glue extension those lists also put ``page.next`` in the envelope
-- an opaque cursor, null on the last page -- which the client may send back as ``after=`` to
walk the list without any boundary lookup and without skipping or repeating rows when the list
changes between requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request
from pydantic import BaseModel, Field

from core import keyset
from core.errors import ValidationFailed

DEFAULT_SIZE = 20
MAX_SIZE = 2000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int
    after: str | None = None  # the cursor of a keyset-paged list (page.next), wins over number

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
    """The ``page``, ``size`` and ``after`` query parameters of the current request. With a
    cursor (``after``) the page number is the one the cursor was made for."""
    size = _int_arg("size", default_size, 1, MAX_SIZE)
    after = request.args.get("after") or None
    if after is not None:
        return PageRequest(number=keyset.position(after) // size, size=size, after=after)
    return PageRequest(number=_int_arg("page", 0, 0, 10_000_000), size=size)


def envelope(content: Sequence[Any], total: int, page: PageRequest) -> dict[str, Any]:
    return {"content": list(content),
            "page": {"size": page.size, "totalElements": total,
                     "totalPages": math.ceil(total / page.size) if total else 0,
                     "number": page.number}}


def keyset_envelope(content: Sequence[Any], total: int, page: PageRequest,
                    last_key: tuple[Any, ...] | None, read: int | None = None,
                    ) -> dict[str, Any]:
    """The envelope of a keyset-paged list: ``page.next`` is the cursor after ``last_key``
    (the key of the page's last row), null when this is the last page. ``read`` is the number
    of rows the page read when ``content`` was filtered further (default: its length)."""
    body = envelope(content, total, page)
    read = len(content) if read is None else read
    before = keyset.position(page.after) if page.after is not None else page.offset
    seen = before + read
    more = last_key is not None and read == page.size and seen < total
    body["page"]["next"] = keyset.encode(last_key, seen) if more else None
    return body


class PageInfo(BaseModel):
    size: int
    totalElements: int
    totalPages: int
    number: int = Field(description="0-based page number.")
    next: str | None = Field(None, description=(
        "Glue extension, on keyset-paged lists: an opaque cursor for the next page (send it "
        "as `after`), null on the last page. Page numbers work as well and are as fast."))


class Paged(BaseModel, Generic[T]):
    """The paged envelope (Spring Data style)."""

    content: list[T]
    page: PageInfo
