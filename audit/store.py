"""The record store interface: an append-only table of record lines.

The audit log only needs a few operations from a store, listed here as Protocols so that
SQLite (the embedded default, `audit.sqlite_store`) and PostgreSQL (for several replicas)
can sit behind the same `AuditLog`. A store holds record lines as opaque bytes next to the
few fields it needs to index them; it never interprets or re-serialises a line.

Contract every implementation keeps:

- appends happen only inside `transaction()`; heads read inside a transaction are stable
  until it ends (writers are serialised), and a transaction commits durably or not at all;
- `seq` is contiguous from 1 and `session_seq` contiguous from 0 per session, refused
  otherwise by the store itself;
- rows are never updated or deleted, refused by the store itself, not only by this code;
- sealed learner text (`audit.content_store`) lives beside the records in the same
  transactions; it alone may be deleted, and only by an erasure the log records;
- outbox messages (`audit.outbox`) queued with `enqueue` commit or roll back together with
  the records of the same transaction;
- signed checkpoints (`audit.issuer`) are append-only too, cover at most the records
  stored, and never shrink: the store refuses a checkpoint smaller than one it holds (of
  any origin) or not larger than the last one of its own origin;
- every failure surfaces as `audit.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from audit.outbox import OutboxMessage


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One row: a record line plus the fields the store indexes it by."""

    seq: int
    session_id: str
    session_seq: int
    digest: str  # record_digest(line)
    line: bytes
    recorded_at: str  # the record's RFC 3339 timestamp

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StoredRecord:
        """A row selected as (seq, session_id, session_seq, digest, line, recorded_at)."""
        return cls(
            seq=int(row[0]),
            session_id=row[1],
            session_seq=int(row[2]),
            digest=row[3],
            line=bytes(row[4]),
            recorded_at=row[5],
        )


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One signed checkpoint (C2SP signed note) and the Merkle state it was computed from.

    `frontier` is the compact range of the tree at `size` (`audit.compact_range`), kept so
    that the next checkpoint extends this one without re-reading the log.
    """

    origin: str
    size: int
    root: bytes
    frontier: bytes
    note: str
    issued_at: str


@dataclass(frozen=True, slots=True)
class SessionHead:
    """The last record of a session: where its chain continues from."""

    session_seq: int
    digest: str


class StoreTransaction(Protocol):
    """Reads and appends inside one serialised write transaction."""

    def head(self) -> int:
        """The last seq in the log, 0 if the log is empty."""
        ...

    def session_head(self, session_id: str) -> SessionHead | None:
        """The last record of `session_id`, or None if the session has no record yet."""
        ...

    def append(self, records: Sequence[StoredRecord]) -> None:
        """Insert `records` (in order); they become visible and durable at commit."""
        ...

    def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue outbox `messages` about records of the log; durable at commit, with them."""
        ...

    def record_lines(self, first_seq: int, last_seq: int) -> Iterator[bytes]:
        """The lines of records first_seq..last_seq, by seq, as this transaction sees them."""
        ...

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        """The largest checkpoint of `origin` (None: of any origin), or None if there is none."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Store a signed checkpoint; durable at commit."""
        ...


class RecordStore(Protocol):
    """Append-only storage of record lines."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """A write transaction: commits when the block ends, rolls back if it raises."""
        ...

    def head(self) -> int:
        """The last committed seq, 0 if the log is empty."""
        ...

    def session_head(self, session_id: str) -> SessionHead | None:
        """The last committed record of `session_id`."""
        ...

    def records(self, first_seq: int = 1, last_seq: int | None = None) -> Iterator[StoredRecord]:
        """Committed records with first_seq <= seq <= last_seq (default: to the head), by seq."""
        ...

    def session_records(self, session_id: str, last_seq: int) -> list[StoredRecord]:
        """The committed records of `session_id` with seq <= last_seq, by seq: one session's
        chain read by the session index, not by scanning the log."""
        ...

    def session_ids(self) -> list[str]:
        """Every session id with at least one record, sorted."""
        ...

    def checkpoints(self, origin: str) -> list[StoredCheckpoint]:
        """Every committed checkpoint of `origin`, by size."""
        ...

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        """The largest committed checkpoint of `origin` (None: of any origin), if any."""
        ...

    def close(self) -> None:
        """Release the store; later calls raise `StoreError`."""
        ...
