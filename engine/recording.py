"""The session loop's recorder: session events become signed, chained audit records.

Escalations that name channels are also queued for webhook delivery, one outbox message per
channel, in the same append: the escalation is recorded and queued together or not at all,
so a dispatcher can deliver it later even if the receiver is down now.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit import AuditLog, OutboxRequest, PolicyRef
from engine.events import EscalationTriggered, PolicyVersion, SessionEvent, event_to_json


class AuditRecorder:
    """Appends each batch of durable events to the audit log in one transaction."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        reference = PolicyRef(id=policy.id, version=policy.version, digest=policy.digest)
        self._log.append(
            session_id,
            reference,
            [event_to_json(event) for event in events],
            outbox=escalation_messages(events),
        )


def escalation_messages(events: Sequence[SessionEvent]) -> list[OutboxRequest]:
    """One outbox message per channel of each escalation in `events` (a channel named twice
    by one escalation is notified once)."""
    return [
        OutboxRequest(event_index=index, channel=channel)
        for index, event in enumerate(events)
        if isinstance(event, EscalationTriggered)
        for channel in dict.fromkeys(event.channels)
    ]
