from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from core.wire import number, timestamp


def test_money_is_a_json_number_that_keeps_its_digits():
    assert number(Decimal("10.00")) == 10 and isinstance(number(Decimal("10.00")), int)
    assert number(Decimal("1.2345")) == 1.2345
    assert repr(number(Decimal("9999999999.9999"))) == "9999999999.9999"
    assert number(None) is None


def test_times_are_utc_with_milliseconds_and_offset():
    helsinki = timezone(timedelta(hours=2))
    moment = datetime(2026, 5, 1, 14, 0, 0, 123456, tzinfo=helsinki)
    assert timestamp(moment) == "2026-05-01T12:00:00.123+00:00"
    assert timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000+00:00"
    assert timestamp(None) is None
