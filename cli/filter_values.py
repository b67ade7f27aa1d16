"""Parsing the values of `proctor audit export`'s filters, for argparse.

Each function is an argparse ``type``: a bad value raises `argparse.ArgumentTypeError`, so
argparse reports it as one line naming the flag (``argument --from: ...``) and exits 2,
never with a traceback.

A date alone stands for a whole UTC day, so ``--from 2026-03-01 --to 2026-03-31`` is all of
March: ``--from`` starts at the day's first instant and ``--to`` ends after its last, which
in the API's terms is ``until`` = the next day's midnight (``until`` is exclusive). A full
RFC 3339 time is taken as the instant it names, a time without a zone as UTC, as the API
takes it.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The date, a 'T' (or a space, as RFC 3339 allows) and at least hours and minutes.
_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*")


def day_start(text: str) -> datetime:
    """The instant `text` names; for a date, the first instant of that UTC day."""
    return _moment(text, end_of_day=False)


def day_end(text: str) -> datetime:
    """The exclusive end `text` names; for a date, the first instant of the next UTC day,
    so that the day itself is included."""
    return _moment(text, end_of_day=True)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _moment(text: str, *, end_of_day: bool) -> datetime:
    try:
        if _DAY.fullmatch(text):
            start = datetime.combine(date.fromisoformat(text), time(), UTC)
            return start + timedelta(days=1) if end_of_day else start
        if _TIME.fullmatch(text):
            moment = datetime.fromisoformat(text.upper())
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except OverflowError:  # the day after 9999-12-31: no upper bound left to set
        return datetime.max.replace(tzinfo=UTC)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a real date or time ({error})") from None
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-03-04T09:30:00Z)"
    )
