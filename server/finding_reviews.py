"""Officers' verdicts on past flags: the labels that turn fire counts into false-positive rates.

A flag is an automated judgement; whether it was right is a person's. An officer reviewing
a past session marks each flag *confirmed* or *false positive*, and rule analytics divides
the false positives by the flags reviewed. A later verdict on the same flag replaces the
earlier one (people change their minds; the latest judgement is the one that counts), and
who gave it and when are kept with it.

Verdicts live in the service database, next to the policies they help tune, not in the audit
log: they are opinions about the evidence, made after the session, not part of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from server.service_db import Dialect, ServiceDatabase


class Verdict(StrEnum):
    confirmed = "confirmed"
    false_positive = "false_positive"


@dataclass(frozen=True)
class FindingReview:
    session_id: str
    finding_id: str
    verdict: Verdict
    reviewer: str
    note: str | None
    reviewed_at: str  # ISO 8601 UTC


_TABLE = """
CREATE TABLE IF NOT EXISTS finding_reviews (
    session_id TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    note TEXT,
    reviewed_at TEXT NOT NULL,
    PRIMARY KEY (session_id, finding_id)
)
"""
_SCHEMA: Mapping[Dialect, Sequence[str]] = {"sqlite": [_TABLE], "postgres": [_TABLE]}
_COLUMNS = "session_id, finding_id, verdict, reviewer, note, reviewed_at"


class FindingReviewStore:
    """Verdicts in the service database: a SQLite path or a PostgreSQL URL (see service_db)."""

    def __init__(self, location: str | Path) -> None:
        self._db = ServiceDatabase.open(location)
        self._db.create_schema(_SCHEMA)

    @classmethod
    def open(cls, location: str | Path) -> FindingReviewStore:
        return cls(location)

    def record(
        self,
        session_id: str,
        finding_id: str,
        verdict: Verdict,
        reviewer: str,
        note: str | None = None,
    ) -> FindingReview:
        """Store `reviewer`'s verdict on a flag, replacing any earlier one."""
        review = FindingReview(
            session_id, finding_id, verdict, reviewer, note, datetime.now(UTC).isoformat()
        )
        self._db.execute(
            f"INSERT INTO finding_reviews ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (session_id, finding_id) DO UPDATE SET verdict = excluded.verdict, "
            "reviewer = excluded.reviewer, note = excluded.note, "
            "reviewed_at = excluded.reviewed_at",
            (session_id, finding_id, verdict.value, reviewer, note, review.reviewed_at),
        )
        return review

    def verdicts(self) -> dict[tuple[str, str], FindingReview]:
        """(session id, finding id) -> the latest verdict on that flag. Verdicts are made by
        hand, one flag at a time, so all of them fit in memory."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM finding_reviews").rows
        return {
            (row[0], row[1]): FindingReview(row[0], row[1], Verdict(row[2]), *row[3:])
            for row in rows
        }

    def close(self) -> None:
        self._db.close()
