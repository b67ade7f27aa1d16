"""Helpers shared by the audit tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit import AuditLog, PolicyRef, PostgresRecordStore, SQLiteRecordStore

# The repository's sibling folder shared/ holds public test vectors (see its README).
VECTORS = Path(__file__).resolve().parents[2] / ".." / "shared" / "testvectors"

# What the store fixtures hand out: either backend, with the outbox methods too.
AnyStore = SQLiteRecordStore | PostgresRecordStore

POLICY = PolicyRef(id="pharma-detailing-us", version=3, digest="ab" * 32)


def event(n: int, kind: str = "UtteranceFinal") -> dict[str, object]:
    """A realistic session event; `n` makes each one distinct."""
    return {"type": kind, "turn": n, "speaker": "learner", "text": f"utterance number {n} ✓"}


class StepClock:
    """A deterministic clock: each call is one millisecond after the previous one."""

    def __init__(self) -> None:
        self._now = datetime(2026, 11, 22, 4, 50, 9, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now


def fill(log: AuditLog, sessions: int = 3, batches: int = 4, batch: int = 2) -> int:
    """Interleave appends of several sessions; return the number of records written."""
    written = 0
    for round_ in range(batches):
        for s in range(sessions):
            log.append(f"session-{s}", POLICY, [event(round_ * 10 + i) for i in range(batch)])
            written += batch
    return written
