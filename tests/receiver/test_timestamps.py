"""The one timestamp parser: the shapes Python 3.10's fromisoformat refuses parse alike on 3.10..3.13."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smartdialog_sync.timestamps import is_storable_us, parse_timestamp, parse_timestamp_us, to_epoch_us

pytestmark = pytest.mark.compat

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T23:54:32.522Z", datetime(2026, 12, 1, 23, 54, 32, 522000, UTC)),
        ("2026-12-01T23:54:32z", datetime(2026, 12, 1, 23, 54, 32, tzinfo=UTC)),
        ("2026-12-01T23:54:32.5Z", datetime(2026, 12, 1, 23, 54, 32, 500000, UTC)),
        ("2026-12-01T23:54:32.52Z", datetime(2026, 12, 1, 23, 54, 32, 520000, UTC)),
        ("2026-12-01T23:54:32.5224Z", datetime(2026, 12, 1, 23, 54, 32, 522400, UTC)),
        ("2026-12-01T23:54:32.522412Z", datetime(2026, 12, 1, 23, 54, 32, 522412, UTC)),
        ("2026-12-01T23:54:32.5224129Z", datetime(2026, 12, 1, 23, 54, 32, 522412, UTC)),
        ("2026-12-01T23:54:32,5Z", datetime(2026, 12, 1, 23, 54, 32, 500000, UTC)),
        ("2026-12-01T23:54:32+02:00", datetime(2026, 12, 1, 21, 54, 32, tzinfo=UTC)),
        ("2026-12-01T23:54:32+0200", datetime(2026, 12, 1, 21, 54, 32, tzinfo=UTC)),
        ("2026-12-01T23:54:32+02", datetime(2026, 12, 1, 21, 54, 32, tzinfo=UTC)),
        ("2026-12-01T23:54:32-05:30", datetime(2026, 12, 2, 5, 24, 32, tzinfo=UTC)),
        ("2026-12-01T23:54:32.1-05:30", datetime(2026, 12, 2, 5, 24, 32, 100000, UTC)),
        ("2026-12-01T23:54:32", datetime(2026, 12, 1, 23, 54, 32, tzinfo=UTC)),
        ("2026-12-01 23:54", datetime(2026, 12, 1, 23, 54, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        (" 2026-12-01T23:54:32Z\n", datetime(2026, 12, 1, 23, 54, 32, tzinfo=UTC)),
    ],
)
def test_service_timestamps_parse_alike_on_every_python(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None
    assert parse_timestamp_us(text) == (expected - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "2026-12-01T25:00:00Z", "2026-12-01T23:54:32+24:00",
     "2026-12-01T23:54:32 UTC", "2026-12-01T23:54:32.Z", "１２３４-12-01", "2026-12-01T", "20261201T235432Z"],
)
def test_anything_else_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_moments_outside_years_1_to_9999_in_utc_are_not_storable() -> None:
    assert not is_storable_us(parse_timestamp_us("0001-01-01T00:00:00+14:00"))
    assert not is_storable_us(parse_timestamp_us("9999-12-31T23:59:59-01:00"))
    assert is_storable_us(parse_timestamp_us("0001-01-01T00:00:00Z"))
    assert is_storable_us(parse_timestamp_us("9999-12-31T23:59:59.999999Z"))
    assert to_epoch_us(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000
