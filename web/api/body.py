"""Reading request bodies and query values the same way in every API module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel

from core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def json_body() -> Any:
    """The request's JSON, whatever its Content-Type says (clients differ); malformed JSON is
    400, an empty body is ``None``."""
    if not request.get_data(cache=True):
        return None
    data = request.get_json(force=True)
    # The strict JSON parser refuses raw control characters, so a NUL can only arrive as the
    # escape \u0000: walking the parsed document is needed only when the bytes contain one
    # (walking every 2,000-item PUT /inventory cost more than parsing it).
    if b"\\u0000" in request.get_data(cache=True) and _has_nul(data):
        # PostgreSQL text and JSONB cannot hold NUL; refuse here rather than fail in a query
        raise ValidationFailed("NUL characters are not allowed",
                               [{"message": "NUL character (\\u0000) in the body"}])
    return data


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def model_body(model: type[M]) -> M:
    """The body parsed into ``model``; a mismatch is 422 with every problem (pydantic's
    ValidationError, mapped in web.api)."""
    data = json_body()
    return model.model_validate({} if data is None else data)


def list_body(what: str) -> list[Any]:
    data = json_body()
    if not isinstance(data, list):
        raise ValidationFailed(f"the body must be a JSON array of {what}",
                               [{"field": "", "message": "expected an array"}])
    return data


def csv_arg(name: str) -> list[str] | None:
    """A comma-separated query value (``a,b,c``), also accepted as repeated parameters."""
    values = request.args.getlist(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def time_arg(name: str) -> datetime | None:
    """An ISO 8601 time with an offset (``Z`` or ``+hh:mm``); a naive or malformed one is 422."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        # a "+" in a query string arrives as a space when the client did not encode it
        value = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(f"{name} must be an ISO 8601 time with an offset",
                               [{"field": name, "message": "e.g. 2024-01-31T12:00:00Z"}])
    return value
