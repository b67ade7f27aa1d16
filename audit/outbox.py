"""The transactional outbox: messages about records, committed together with the records.

An escalation must reach the compliance team even if the webhook receiver is down, and it
must never be announced unless its evidence exists. So the message is not sent from the
session loop: `AuditLog.append` writes one outbox row per (record, channel) in the same
store transaction as the records, both or neither, and a dispatcher (server.webhooks)
delivers the rows later, retrying until the receiver accepts them.

A message's id is derived from where its record sits (session id, session seq) and its
channel, so the same escalation can never be queued under a second id; receivers
de-duplicate by that id (it is the Standard Webhooks ``webhook-id``). The body is stored as
the exact bytes that are sent, so every retry carries the same body.

Times are the audit log's fixed-shape RFC 3339 strings, which sort like the instants they
name, so "due" is a plain string comparison in the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from audit.canonical import canonical_json
from audit.records import PolicyRef
from audit.store import StoredRecord

MESSAGE_ID_PREFIX = "msg_"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class OutboxRequest:
    """Ask `AuditLog.append` to announce the record of ``events[event_index]`` on `channel`."""

    event_index: int
    channel: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One outbox row: what to send, to which channel, and how delivery is going.

    `body` is the canonical JSON sent as the request body, byte for byte on every attempt.
    `attempts` counts deliveries started; `next_attempt_at` is when the message is due (or,
    while a dispatcher holds it, when its claim lapses); `delivered_at` is set once, when a
    receiver accepted it, and never cleared.
    """

    id: str
    channel: str
    event_type: str
    body: bytes
    record_seq: int
    created_at: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    delivered_at: str | None

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None

    def payload(self) -> dict[str, Any]:
        """The body parsed back into JSON."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class OutboxStore(Protocol):
    """What a dispatcher needs from the store that holds the outbox.

    Only the delivery columns change after a message is queued; the store itself refuses
    edits to the rest, un-delivering a message and deleting one that is not delivered.
    """

    def claim_due(
        self,
        now: datetime,
        *,
        lease: timedelta,
        limit: int,
        channels: Collection[str],
    ) -> list[OutboxMessage]:
        """Take up to `limit` undelivered messages of `channels` due at `now`, oldest first.

        In one write transaction each is counted as an attempt and made due again only at
        ``now + lease``: another dispatcher on the same store does not take it meanwhile,
        and if this one dies before reporting, the message is retried when the lease lapses.
        """
        ...

    def mark_delivered(self, message_id: str, at: datetime) -> bool:
        """Record that a receiver accepted the message; False if it was already delivered."""
        ...

    def mark_failed(self, message_id: str, error: str, retry_at: datetime) -> None:
        """Record why an attempt failed and when to try again (undelivered messages only)."""
        ...

    def outbox_messages(self, *, undelivered_only: bool = False) -> list[OutboxMessage]:
        """Every message (or every undelivered one), in the order they were queued."""
        ...

    def outbox_backlog(self) -> dict[str, int]:
        """The number of undelivered messages per channel (channels with none are absent)."""
        ...


#: The outbox columns every store selects, in the order `message_from_row` reads them.
OUTBOX_COLUMNS: Final = (
    "id, channel, event_type, payload, record_seq, created_at, attempts, next_attempt_at, "
    "last_error, delivered_at"
)


def message_from_row(row: Sequence[Any], body: bytes) -> OutboxMessage:
    """A row selected with `OUTBOX_COLUMNS`; `body` is its payload as bytes, since each
    database hands that column back in its own type."""
    return OutboxMessage(
        id=row[0],
        channel=row[1],
        event_type=row[2],
        body=body,
        record_seq=int(row[4]),
        created_at=row[5],
        attempts=int(row[6]),
        next_attempt_at=row[7],
        last_error=row[8],
        delivered_at=row[9],
    )


def message_id(session_id: str, session_seq: int, channel: str) -> str:
    """The stable id of the message announcing record (`session_id`, `session_seq`) on
    `channel`: the same inputs always give the same id, different inputs a different one."""
    digest = hashlib.sha256(canonical_json([session_id, session_seq, channel])).hexdigest()
    return MESSAGE_ID_PREFIX + digest[:32]


def build_message(
    record: StoredRecord,
    policy: PolicyRef,
    event: Mapping[str, Any],
    channel: str,
) -> OutboxMessage:
    """The queued message announcing `record` (which holds `event`) on `channel`.

    The body follows the Standard Webhooks payload shape (``type``, ``timestamp``,
    ``data``) and carries the event together with where its evidence is: the session, the
    policy version and the record's seq, session seq and digest.
    """
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"event of record {record.seq} has no string 'type' to announce")
    if not channel:
        raise ValueError(f"empty channel for record {record.seq}")
    body = canonical_json(
        {
            "type": event_type,
            "timestamp": record.recorded_at,
            "data": {
                "session_id": record.session_id,
                "policy": {"id": policy.id, "version": policy.version, "digest": policy.digest},
                "record": {
                    "seq": record.seq,
                    "session_seq": record.session_seq,
                    "digest": record.digest,
                },
                "event": dict(event),
            },
        }
    )
    return OutboxMessage(
        id=message_id(record.session_id, record.session_seq, channel),
        channel=channel,
        event_type=event_type,
        body=body,
        record_seq=record.seq,
        created_at=record.recorded_at,
        attempts=0,
        next_attempt_at=record.recorded_at,
        last_error=None,
        delivered_at=None,
    )


def build_messages(
    records: Sequence[StoredRecord],
    policy: PolicyRef,
    events: Sequence[Mapping[str, Any]],
    requests: Sequence[OutboxRequest],
) -> list[OutboxMessage]:
    """One message per distinct (event, channel) requested; a repeated request is one message,
    since it would carry the same id."""
    messages: dict[str, OutboxMessage] = {}
    for request in requests:
        if not 0 <= request.event_index < len(events):
            raise ValueError(
                f"outbox request for event {request.event_index} of a batch of {len(events)}"
            )
        message = build_message(
            records[request.event_index], policy, events[request.event_index], request.channel
        )
        messages.setdefault(message.id, message)
    return list(messages.values())


def short_error(error: str) -> str:
    """An error message cut to what the outbox keeps."""
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
