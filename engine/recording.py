"""The session loop's recorder: session events become signed, chained audit records.

Escalations that name channels are also queued for webhook delivery, one outbox message per
channel, in the same append: the escalation is recorded and queued together or not at all,
so a dispatcher can deliver it later even if the receiver is down now.

What the learner said is sealed before it is signed (`audit.content`): the record keeps a
salted commitment in place of each learner text field named in `LEARNER_TEXT`, and the text
itself is stored beside the log in the same transaction, so that it can later be erased
(`audit.erasure`) without touching a signed byte. Personal data the policy redacts is
masked before this point, so it reaches neither the record nor the content store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Final

from audit import OutboxRequest, PolicyRef
from audit.appender import AuditAppender, AuditSubmitter
from audit.content import ANY_ITEM, FieldPath, SealedText, seal_fields
from audit.content_log import ContentChange
from audit.log import AppendedRecord, AppendRequest
from engine.events import EscalationTriggered, PolicyVersion, SessionEvent, event_to_json

#: Where each event type carries words the learner spoke: the utterance itself, and the
#: quotes of it that findings, objectives and the scorecard cite as evidence.
LEARNER_TEXT: Final[Mapping[str, tuple[FieldPath, ...]]] = {
    "utterance.final": (("text",),),
    "flag.raised": (("finding", "quote"),),
    "objective.progress": (("evidence", "quote"),),
    "score.computed": (
        ("scorecard", "blockers_breached", ANY_ITEM, "quote"),
        ("scorecard", "criteria", ANY_ITEM, "evidence", ANY_ITEM, "quote"),
    ),
}


def judged_notes(event: Mapping[str, Any]) -> list[FieldPath]:
    """The notes of a scorecard's LLM-judged evidence: the judge's reason often restates
    what the learner said, so it is sealed like a quote."""
    scorecard = event.get("scorecard")
    criteria = scorecard.get("criteria") if isinstance(scorecard, Mapping) else None
    if not isinstance(criteria, list):
        return []
    return [
        ("scorecard", "criteria", c, "evidence", e, "note")
        for c, criterion in enumerate(criteria)
        if isinstance(criterion, Mapping) and isinstance(criterion.get("evidence"), list)
        for e, item in enumerate(criterion["evidence"])
        if isinstance(item, Mapping) and item.get("outcome") == "judged"
    ]


class AuditRecorder:
    """Appends each batch of durable events to the audit log in one transaction.

    `seal_learner_text=False` records learner text in the signed events themselves, where
    it can never be erased; only for logs that hold no personal data.
    """

    def __init__(self, log: AuditAppender, *, seal_learner_text: bool = True) -> None:
        self._log = log
        self._seal = seal_learner_text

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        request = self._request(session_id, policy, events)
        self._log.append(
            request.session_id, request.policy, request.events, request.outbox, request.content
        )

    def submit(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> Future[list[AppendedRecord]] | None:
        """`record` without waiting, if the log takes appends so (`AuditSubmitter`); the
        future settles once the records are durable or could not be written. None: the
        log cannot now, and `record` must be called (from a thread, where it may block)."""
        if not isinstance(self._log, AuditSubmitter) or not self._log.running:
            return None
        return self._log.submit(self._request(session_id, policy, events))

    def _request(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> AppendRequest:
        reference = PolicyRef(id=policy.id, version=policy.version, digest=policy.digest)
        recorded = [event_to_json(event) for event in events]
        sealed: list[SealedText] = []
        if self._seal:
            for index, event in enumerate(recorded):
                paths = list(LEARNER_TEXT.get(str(event.get("type")), ()))
                if event.get("type") == "score.computed":
                    paths += judged_notes(event)
                if paths:
                    recorded[index], found = seal_fields(event, paths)
                    sealed += found
        return AppendRequest(
            session_id,
            reference,
            recorded,
            escalation_messages(events),
            ContentChange(sealed=tuple(sealed)) if sealed else None,
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
