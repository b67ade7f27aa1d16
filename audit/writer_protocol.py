"""The messages between `AuditWriterProcess` and its child, `audit.writer_main`.

They travel as pickles over a pair of pipes (`multiprocessing.connection.Connection`), so
the two ends must run the same code: the child is started from the parent's interpreter.
After the settings and the child's answer to them, the parent sends lists of
``(ticket, request)`` pairs (one per append, written as it is submitted: `audit.request_pipe`)
and the child answers each batch it wrote together with ``[(ticket, outcome), ...]``; the
parent closing its end (or sending ``None``) asks the child to finish what it has and exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.log import AppendedRecord, AppendRequest

#: What the child answers for one request: its records, or why they were not written.
Outcome = list[AppendedRecord] | Exception
Ticket = int


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """How the child opens its log: the store, the key file, and the log's settings."""

    location: str | Path
    key_path: Path
    origin: str
    checkpoint_every: int


@dataclass(frozen=True, slots=True)
class WriterReady:
    """The child opened its log and signs with the key whose raw public bytes these are."""

    public_key: bytes


@dataclass(frozen=True, slots=True)
class WriterFailed:
    """The child could not open its log; `reason` says why, for a person."""

    reason: str


TicketedRequest = tuple[Ticket, AppendRequest]
TicketedOutcome = tuple[Ticket, Outcome]
