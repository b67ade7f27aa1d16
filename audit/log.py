"""The audit log: turn session events into signed, chained, durable records.

`AuditLog.append` is the only write path. All records of one call are numbered, chained,
signed and written inside one store transaction, so either the whole batch is durable when
the call returns or none of it is written and `AuditWriteError` is raised. The session loop
must treat that exception as "stop the session": evidence that cannot be written must not
be replaced by practice that goes unrecorded.

The same transaction queues the outbox messages a caller asks for (`audit.outbox`): a
message about a record is committed exactly when the record is, so an escalation is never
announced without its evidence and never recorded without being queued for delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.errors import AuditWriteError
from audit.keys import SigningKey
from audit.outbox import OutboxRequest, build_messages
from audit.records import PolicyRef, RecordPayload, encode_record, record_digest
from audit.store import RecordStore, StoredRecord
from audit.timefmt import format_timestamp, utc_now


@dataclass(frozen=True, slots=True)
class AppendedRecord:
    """Where an appended event landed: its global seq, its place in the session, its digest."""

    seq: int
    session_seq: int
    digest: str


class AuditLog:
    """Signs events as records and appends them durably to a `RecordStore`.

    Several `AuditLog` instances (threads or processes) may share one store: the heads are
    read inside the store's write transaction, which the store serialises.
    """

    def __init__(
        self,
        store: RecordStore,
        key: SigningKey,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock if clock is not None else utc_now

    @property
    def key(self) -> SigningKey:
        """The key records are signed with."""
        return self._key

    def append(
        self,
        session_id: str,
        policy: PolicyRef,
        events: Sequence[Mapping[str, Any]],
        outbox: Sequence[OutboxRequest] = (),
    ) -> list[AppendedRecord]:
        """Append `events` (in order) to `session_id`'s chain; durable when this returns.

        `outbox` asks for messages announcing some of these records on channels; they are
        queued in the same transaction (see `audit.outbox.build_message` for their body).

        Raises `AuditWriteError`, with the cause in its message and as ``__cause__``, if any
        part fails (invalid event, bad outbox request, unwritable or locked database, closed
        store); nothing of the batch is written then, neither records nor messages.
        """
        if not events:
            if outbox:
                raise AuditWriteError("outbox messages need records to announce; none given")
            return []
        try:
            return self._append(session_id, policy, events, outbox)
        except Exception as exc:
            raise AuditWriteError(
                f"audit records for session {session_id!r} were not written "
                f"({len(events)} event(s)): {type(exc).__name__}: {exc}"
            ) from exc

    def _append(
        self,
        session_id: str,
        policy: PolicyRef,
        events: Sequence[Mapping[str, Any]],
        outbox: Sequence[OutboxRequest],
    ) -> list[AppendedRecord]:
        rows: list[StoredRecord] = []
        with self._store.transaction() as tx:
            seq = tx.head()
            head = tx.session_head(session_id)
            session_seq, prev = (0, None) if head is None else (head.session_seq + 1, head.digest)
            for event in events:
                seq += 1
                timestamp = format_timestamp(self._clock())
                payload = RecordPayload(
                    seq=seq,
                    session_id=session_id,
                    session_seq=session_seq,
                    prev=prev,
                    policy=policy,
                    timestamp=timestamp,
                    event=dict(event),
                )
                line = encode_record(payload, self._key)
                digest = record_digest(line)
                rows.append(
                    StoredRecord(
                        seq=seq,
                        session_id=session_id,
                        session_seq=session_seq,
                        digest=digest,
                        line=line,
                        recorded_at=timestamp,
                    )
                )
                session_seq += 1
                prev = digest
            tx.append(rows)
            if outbox:
                tx.enqueue(build_messages(rows, policy, events, outbox))
        return [AppendedRecord(r.seq, r.session_seq, r.digest) for r in rows]
