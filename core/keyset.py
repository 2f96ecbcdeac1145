"""Keyset ("seek") paging for the big lists, behind the API's 0-based page-number envelope.

Why: ``OFFSET n`` makes the database build and throw away n full result rows (joins, JSON
columns, ORM objects) before the page starts, so the last page of a 100,000-product catalog
costs fifty times the first. Here every page is read with a seek on a unique ordering key --
``WHERE (k1, k2) > (:v1, :v2) ORDER BY k1, k2 LIMIT :size`` -- so reading the rows of a page
costs the same wherever it lies. Where the seek starts:

- **a cursor** (``after``, a Glue extension; the envelope's ``page.next``): the key of the last
  row of the previous page, opaque to the client. A client walking a list with it pays O(size)
  per page and never sees a row twice or skips one when rows are added meanwhile.
- **a plain page number** (what Posti-compatible clients send): the key of the row just before
  the page, found by a *boundary query* that selects only the key columns, ideally from an index
  that covers filter and order (``balances (catalog_id, product_id)`` for a catalog's products),
  so it is an index-only scan. That scan still steps over ``page * size`` index entries, but
  entries of a few bytes instead of joined rows, and it is lost in the cost of reading the page:
  bench/api.py at 100,000 products in pages of 2,000 measured the first five pages at p50 238 ms
  and the last five at 236 ms on SQLite (PostgreSQL: 371 ms and 273 ms), over HTTP.

Nothing is kept in process memory between requests (DESIGN.md 9): the cursor carries the key.
The seek condition is written ``k1 >= v1 AND (k1 > v1 OR k2 > v2)`` rather than as a row value
so that both databases can drive it from an index whose leading column is ``k1`` alone.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.errors import ValidationFailed

Key = tuple[Any, ...]


def encode(key: Key, position: int) -> str:
    """The opaque cursor for a key (ints, strings and aware datetimes) and the number of rows
    of the list that come before the next page (for its page number and ``next``)."""
    parts = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in key]
    raw = json.dumps({"k": parts, "n": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _payload(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (isinstance(payload, dict) and isinstance(payload.get("k"), list)
                and isinstance(payload.get("n"), int) and payload["n"] >= 0):
            return payload
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        pass
    raise _bad_cursor()


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("after is not a cursor this list returned", [
        {"field": "after", "message": "use the page.next value of the previous page"}])


def decode(cursor: str, length: int) -> Key:
    """The key an :func:`encode` cursor carries; ValidationFailed for anything else."""
    parts = _payload(cursor)["k"]
    try:
        key = tuple(datetime.fromisoformat(p["t"]) if isinstance(p, dict) else p for p in parts)
    except (ValueError, TypeError, KeyError):
        raise _bad_cursor() from None
    if len(key) != length or not all(
            (isinstance(v, (int, str)) and not isinstance(v, bool))
            or (isinstance(v, datetime) and v.tzinfo is not None) for v in key):
        raise _bad_cursor()
    return key


def position(cursor: str) -> int:
    """How many rows of the list come before the page the cursor starts."""
    return int(_payload(cursor)["n"])


def _past(columns: Sequence[Any], key: Key, descending: bool) -> sa.ColumnElement[bool]:
    """Rows strictly after ``key`` in the list's order."""
    column, value = columns[0], key[0]
    if len(columns) == 1:
        return column < value if descending else column > value
    rest = _past(columns[1:], key[1:], descending)
    if descending:
        return sa.and_(column <= value, sa.or_(column < value, rest))
    return sa.and_(column >= value, sa.or_(column > value, rest))


def page_query(session: Session, query: sa.Select[Any], columns: Sequence[Any], *, page: int,
               size: int, after: str | None = None, descending: bool = False,
               boundary: sa.Select[Any] | None = None) -> sa.Select[Any] | None:
    """``query`` ordered by ``columns`` (which must make the order unique, the last one being
    the primary key) and cut to one page; None when the page lies past the end.

    ``after`` (a cursor) wins over ``page``. For a page number, ``boundary`` is the narrow
    query whose rows are the list's keys (same filters, selecting exactly ``columns``'
    values); by default ``query`` with only ``columns`` selected.
    """
    start: Key | None = None
    if after is not None:
        start = decode(after, len(columns))
    elif page > 0:
        narrow = boundary if boundary is not None else query.with_only_columns(*columns)
        row = session.execute(narrow.order_by(*_order(columns, descending))
                              .offset(page * size - 1).limit(1)).first()
        if row is None:
            return None
        start = tuple(row)
    if start is not None:
        query = query.where(_past(columns, start, descending))
    return query.order_by(*_order(columns, descending)).limit(size)


def counted_page(session: Session, query: sa.Select[Any], columns: Sequence[Any], *,
                 page: int, size: int, after: str | None = None,
                 descending: bool = False) -> tuple[list[Any], int]:
    """One page of a query selecting one entity, and the total of the whole list: the shape
    every paged search returns. ``size`` is held to 1..2000 and ``page`` to 0 and up."""
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    paged = page_query(session, query, columns, page=max(page, 0), size=max(1, min(size, 2000)),
                       after=after, descending=descending)
    return (list(session.scalars(paged).all()) if paged is not None else []), total


def _order(columns: Sequence[Any], descending: bool) -> list[Any]:
    return [c.desc() for c in columns] if descending else list(columns)
