"""The sessions in the audit log, derived from the log itself rather than a separate table.

Each session's ``session.started`` record names the learner, the scenario and the pinned
policy version, and its ``session.ended`` record the end; the first record's time is the
session's start. Listing from the log means that what an auditor lists is exactly what an
export of the same filter (`audit.session_filter`) contains, whether it is the service
answering over HTTP or ``proctor audit export`` working on a copy of the store offline.

Only this metadata is read: learner *text* may be sealed (`audit.content`), but the
learner's pseudonymous id in ``session.started`` never is. The index is built once and then
extended with the records appended since, so a long-running service does not re-read the
whole log on every listing.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from audit.stored_payload import stored_payload

if TYPE_CHECKING:
    from audit.session_filter import SessionFilter
    from audit.store import RecordStore


@dataclass(slots=True)
class IndexedSession:
    """What the log says about one session so far."""

    session_id: str
    learner: str | None  # the pseudonymous id; None if session.started has not been seen
    policy_id: str
    policy_version: int
    policy_digest: str
    scenario: str | None
    started_at: str  # RFC 3339 UTC time of the session's first record
    ended_at: str | None  # time of session.ended; None while running
    end_reason: str | None
    records: int  # audit records of the session so far


@dataclass
class SessionIndex:
    """Sessions seen in the audit log up to `head`, extended on demand.

    Safe to share between threads: a refresh holds the lock, and callers get copies, so a
    session they hold does not change under them as records arrive.
    """

    head: int = 0
    sessions: dict[str, IndexedSession] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, store: RecordStore) -> tuple[int, list[IndexedSession]]:
        """Read the records appended since the last call; the head and (copies of) every
        session, in the order first seen."""
        with self.lock:
            for record in store.records(self.head + 1):
                self._add(record.session_id, record.line, record.recorded_at)
                self.head = record.seq
            return self.head, [dataclasses.replace(s) for s in self.sessions.values()]

    def matching(
        self, store: RecordStore, chosen: SessionFilter
    ) -> tuple[int, list[IndexedSession]]:
        """The head and the sessions `chosen` matches, in the order they started (ties by
        id, so the order never depends on the store)."""
        head, sessions = self.refresh(store)
        found = [session for session in sessions if chosen.matches(session)]
        return head, sorted(found, key=lambda session: (session.started_at, session.session_id))

    def _add(self, session_id: str, line: bytes, recorded_at: str) -> None:
        payload = stored_payload(line)
        event: dict[str, Any] = payload.get("event") or {}
        known = self.sessions.get(session_id)
        if known is None:
            policy = payload.get("policy") or {}
            known = IndexedSession(
                session_id=session_id,
                learner=None,
                policy_id=str(policy.get("id", "")),
                policy_version=int(policy.get("version", 0)),
                policy_digest=str(policy.get("digest", "")),
                scenario=None,
                started_at=recorded_at,
                ended_at=None,
                end_reason=None,
                records=0,
            )
            self.sessions[session_id] = known
        known.records += 1
        kind = event.get("type")
        if kind == "session.started":
            learner, scenario = event.get("learner"), event.get("scenario")
            known.learner = learner if isinstance(learner, str) else None
            known.scenario = scenario if isinstance(scenario, str) else None
        elif kind == "session.ended":
            reason = event.get("reason")
            known.ended_at = recorded_at
            known.end_reason = reason if isinstance(reason, str) else None
