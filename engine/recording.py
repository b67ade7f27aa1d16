"""The session loop's recorder: session events become signed, chained audit records."""

from __future__ import annotations

from collections.abc import Sequence

from audit import AuditLog, PolicyRef
from engine.events import PolicyVersion, SessionEvent, event_to_json


class AuditRecorder:
    """Appends each batch of durable events to the audit log in one transaction."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        reference = PolicyRef(id=policy.id, version=policy.version, digest=policy.digest)
        self._log.append(session_id, reference, [event_to_json(event) for event in events])
