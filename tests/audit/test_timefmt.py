"""RFC 3339 timestamps: one spelling per instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import format_timestamp, parse_timestamp


def test_format_is_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 22, 4, 50, 9, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-11-22T04:50:09.123456Z"
    assert format_timestamp(moment.replace(microsecond=0)) == "2026-11-22T04:50:09.000000Z"


def test_other_zones_are_converted_to_utc() -> None:
    moment = datetime(2026, 11, 22, 6, 50, 9, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-11-22T04:50:09.000005Z"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        format_timestamp(datetime(2026, 11, 22, 4, 50, 9))


@settings(max_examples=60)
@given(st.datetimes(timezones=st.just(UTC)))
def test_parse_inverts_format(moment: datetime) -> None:
    assert parse_timestamp(format_timestamp(moment)) == moment


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-22T04:50:09Z",  # no fraction
        "2026-11-22T04:50:09.123Z",  # milliseconds only
        "2026-11-22T04:50:09.123456+00:00",  # offset instead of Z
        "2026-11-22 04:50:09.123456Z",  # space separator
        "2026-13-22T04:50:09.123456Z",  # month 13
        "2026-02-30T04:50:09.123456Z",  # no such day
        "2026-11-22T04:50:09.123456Z\n",  # trailing newline
        "٢٠٢٦-11-22T04:50:09.123456Z",  # non-ASCII digits
    ],
)
def test_other_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_timestamp(text)
