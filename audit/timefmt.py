"""RFC 3339 UTC timestamps with a fixed shape: ``2026-11-22T04:50:09.123456Z``.

Records carry time as a string, not a number, so that an auditor can read it and so that
its canonical bytes never depend on float formatting. One fixed shape (always UTC, always
'Z', always six fractional digits) means one timestamp has exactly one spelling.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# ASCII digits only: `\d` would also accept other scripts' digits.
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
_TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with microseconds and a 'Z' suffix.

    Naive datetimes are refused: guessing their zone would put a wrong time into evidence.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment!r} has no timezone; audit times must be aware")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_timestamp(text: str) -> datetime:
    """Parse a timestamp of exactly the shape `format_timestamp` produces.

    Raises `ValueError` naming the text if the shape is wrong or the date does not exist
    (month 13, February 30, ...).
    """
    if not _TIMESTAMP_RE.fullmatch(text):
        raise ValueError(
            f"timestamp {text!r} is not RFC 3339 UTC of the form 2026-11-22T04:50:09.123456Z"
        )
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"timestamp {text!r} is not a real date and time: {exc}") from exc
