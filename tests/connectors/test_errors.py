"""The error taxonomy and the one function mapping HTTP statuses onto it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import (
    Fatal,
    NeedsConfiguration,
    Retriable,
    error_for_status,
    parse_retry_after,
)


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504, 520])
def test_transient_statuses_are_retriable(status: int) -> None:
    assert isinstance(error_for_status(status), Retriable)


@pytest.mark.parametrize("status", [401, 402, 403, 423])
def test_credential_and_shop_state_statuses_need_configuration(status: int) -> None:
    assert isinstance(error_for_status(status), NeedsConfiguration)


@pytest.mark.parametrize("status", [400, 404, 406, 413, 415, 422])
def test_other_client_errors_are_fatal(status: int) -> None:
    error = error_for_status(status, message="bad input")
    assert isinstance(error, Fatal) and not isinstance(error, Retriable)
    assert error.status == status and error.message == "bad input"


def test_retry_after_in_seconds_is_carried() -> None:
    # given a 429 with Retry-After: 2.0 (Shopify REST sends seconds)
    error = error_for_status(429, retry_after="2.0")
    # then the wait is known
    assert isinstance(error, Retriable) and error.retry_after == 2.0


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 26, 20, 0, 0, tzinfo=UTC)
    error = error_for_status(503, retry_after="Thu, 26 Nov 2026 20:00:30 GMT", now=now)
    assert error.retry_after == 30.0


@pytest.mark.parametrize("header", [None, "", "soon", "-5"])
def test_missing_or_odd_retry_after(header: str | None) -> None:
    value = parse_retry_after(header)
    assert value is None or value == 0.0


def test_a_success_status_is_not_an_error() -> None:
    with pytest.raises(ValueError):
        error_for_status(200)
