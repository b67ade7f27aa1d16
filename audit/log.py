"""The audit log: turn session events into signed, chained, durable records.

`AuditLog.append` is the only write path. All records of one call are numbered, chained,
signed and written inside one store transaction, so either the whole batch is durable when
the call returns or none of it is written and `AuditWriteError` is raised. The session loop
must treat that exception as "stop the session": evidence that cannot be written must not
be replaced by practice that goes unrecorded.

The same transaction queues the outbox messages a caller asks for (`audit.outbox`): a
message about a record is committed exactly when the record is, so an escalation is never
announced without its evidence and never recorded without being queued for delivery.

It also stores the log's signed checkpoints (`audit.issuer`): one after every batch that
closes a session (holds a ``session.ended`` event) and one whenever `checkpoint_every`
records have been written since the last, covering everything up to the batch's last
record and committed with it. That costs a leaf hash per record and O(log n) hashes and one
signature per checkpoint. A checkpoint that would contradict a stored one is refused, and
so is the batch: the log fails closed rather than publish two histories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.content_log import ContentChange, plan_content, write_content
from audit.errors import AuditWriteError
from audit.issuer import DEFAULT_CHECKPOINT_EVERY, DEFAULT_ORIGIN, CheckpointIssuer
from audit.keys import SigningKey
from audit.outbox import OutboxRequest, build_messages
from audit.records import PolicyRef, RecordPayload, encode_record, record_digest
from audit.store import RecordStore, SessionHead, StoredRecord, StoreTransaction
from audit.timefmt import format_timestamp, utc_now
from batching import Batcher


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

    `origin` names the log in its checkpoints (and is the key name they are signed under);
    exports must use the same origin to carry the log's checkpoints. Raises
    `audit.checkpoint.CheckpointError` for an origin that cannot be a key name.
    """

    def __init__(
        self,
        store: RecordStore,
        key: SigningKey,
        clock: Callable[[], datetime] | None = None,
        *,
        origin: str = DEFAULT_ORIGIN,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self._store = store
        self._key = key
        self._clock = clock if clock is not None else utc_now
        self._checkpoints = CheckpointIssuer.for_key(key, origin, self._clock)
        self._checkpoint_every = checkpoint_every
        self._commits = Batcher(self._write)

    @property
    def origin(self) -> str:
        """The log's name in its checkpoints."""
        return self._checkpoints.origin

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
        content: ContentChange | None = None,
    ) -> list[AppendedRecord]:
        """Append `events` (in order) to `session_id`'s chain; durable when this returns.

        `outbox` asks for messages announcing some of these records on channels; they are
        queued in the same transaction (see `audit.outbox.build_message` for their body).
        `content` is the text sealed in the events and what their ``content.erased`` events
        erase (`audit.content_log`); it is stored in the same transaction, and must match
        the events' references exactly.
        Appends made at the same moment from several threads share one transaction
        (`batching.Batcher`: group commit); each still succeeds or fails on its own.

        Raises `AuditWriteError`, with the cause in its message and as ``__cause__``, if any
        part fails (invalid event, bad outbox request, unwritable or locked database, closed
        store); nothing of the batch is written then, neither records nor messages.
        """
        if nothing_to_append(events, outbox):
            return []
        return self._commits.submit(AppendRequest(session_id, policy, events, outbox, content))

    def write_together(
        self, requests: Sequence[AppendRequest]
    ) -> list[list[AppendedRecord] | Exception]:
        """Write `requests` in one transaction, for a caller that batches appends itself (the
        writer process, `audit.writer_process`): one outcome per request, in order. A request
        that cannot be encoded fails alone; a transaction that fails fails them all."""
        return self._write(requests)

    def _write(self, requests: Sequence[AppendRequest]) -> list[list[AppendedRecord] | Exception]:
        """Write `requests` in one transaction: a request that cannot be encoded fails alone;
        a transaction that fails fails them all."""
        outcomes: list[list[AppendedRecord] | Exception] = []
        try:
            self._checkpoints.warm(self._store)  # a no-op once warm; see CheckpointIssuer
            with self._store.transaction() as tx:
                chains = _Chains(tx)
                first_seq = chains.seq + 1
                lines: list[bytes] = []
                closes_session = False
                for request in requests:
                    try:
                        rows = self._encode(request, chains)
                        messages = build_messages(
                            rows, request.policy, request.events, request.outbox
                        )
                        content = plan_content(
                            request.session_id,
                            request.events,
                            [row.seq for row in rows],
                            request.content,
                        )
                    except Exception as exc:
                        outcomes.append(_write_error(request, exc))
                        continue
                    tx.append(rows)
                    if messages:
                        tx.enqueue(messages)
                    if content is not None:
                        write_content(tx, content)
                    chains.extend(request.session_id, rows)
                    lines.extend(r.line for r in rows)
                    closes_session = closes_session or any(
                        event.get("type") == "session.ended" for event in request.events
                    )
                    outcomes.append([AppendedRecord(r.seq, r.session_seq, r.digest) for r in rows])
                if lines:
                    self._checkpoint(tx, first_seq, lines, chains.seq, closes_session)
        except Exception as exc:
            self._checkpoints.forget()
            return [_write_error(request, exc) for request in requests]
        return outcomes

    def _checkpoint(
        self,
        tx: StoreTransaction,
        first_seq: int,
        lines: Sequence[bytes],
        head: int,
        closes_session: bool,
    ) -> None:
        """Extend the Merkle state by this batch; sign a checkpoint if one is due."""
        self._checkpoints.observe(tx, first_seq, lines)
        if closes_session or self._checkpoints.due(tx, head, self._checkpoint_every):
            self._checkpoints.issue(tx, head)

    def _encode(self, request: AppendRequest, chains: _Chains) -> list[StoredRecord]:
        """Sign `request`'s events as the records that continue the log and its session."""
        seq = chains.seq
        session_seq, prev = chains.session_position(request.session_id)
        rows: list[StoredRecord] = []
        for event in request.events:
            seq += 1
            timestamp = format_timestamp(self._clock())
            payload = RecordPayload(
                seq=seq,
                session_id=request.session_id,
                session_seq=session_seq,
                prev=prev,
                policy=request.policy,
                timestamp=timestamp,
                event=dict(event),
            )
            line = encode_record(payload, self._key)
            digest = record_digest(line)
            rows.append(
                StoredRecord(
                    seq=seq,
                    session_id=request.session_id,
                    session_seq=session_seq,
                    digest=digest,
                    line=line,
                    recorded_at=timestamp,
                )
            )
            session_seq += 1
            prev = digest
        return rows


def nothing_to_append(events: Sequence[object], outbox: Sequence[OutboxRequest]) -> bool:
    """True for an append without events, which writes nothing; raises `AuditWriteError`
    if it still asks for outbox messages, which would announce no record."""
    if events:
        return False
    if outbox:
        raise AuditWriteError("outbox messages need records to announce; none given")
    return True


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """The arguments of one `AuditLog.append` call."""

    session_id: str
    policy: PolicyRef
    events: Sequence[Mapping[str, Any]]
    outbox: Sequence[OutboxRequest]
    content: ContentChange | None


class _Chains:
    """The log's head and the heads of the sessions a transaction has touched so far."""

    def __init__(self, tx: StoreTransaction) -> None:
        self._tx = tx
        self.seq = tx.head()
        self._sessions: dict[str, SessionHead | None] = {}

    def session_position(self, session_id: str) -> tuple[int, str | None]:
        """The next session_seq of `session_id` and the digest its next record chains to."""
        if session_id not in self._sessions:
            self._sessions[session_id] = self._tx.session_head(session_id)
        head = self._sessions[session_id]
        return (0, None) if head is None else (head.session_seq + 1, head.digest)

    def extend(self, session_id: str, rows: Sequence[StoredRecord]) -> None:
        self.seq = rows[-1].seq
        self._sessions[session_id] = SessionHead(rows[-1].session_seq, rows[-1].digest)


def _write_error(request: AppendRequest, cause: Exception) -> AuditWriteError:
    error = AuditWriteError(
        f"audit records for session {request.session_id!r} were not written "
        f"({len(request.events)} event(s)): {type(cause).__name__}: {cause}"
    )
    error.__cause__ = cause
    return error
