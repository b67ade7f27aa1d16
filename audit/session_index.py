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
    score: float | None = None  # the scorecard's score, once computed
    passed: bool | None = None


@dataclass(slots=True)
class IndexedFinding:
    """A flag raised in a session: which rule, how severe, when, and whether it was
    withdrawn (a flag raised on a partial transcript that the final text did not bear out).
    `quote` is as recorded: the matched words, or a sealed reference to them
    (`audit.content`) that a reader with the content store can turn back into words."""

    session_id: str
    finding_id: str
    rule_id: str
    severity: str
    raised_at: str  # RFC 3339 UTC time of the first flag.raised record
    seq: int  # that record's log seq
    quote: object = None
    detail: str | None = None
    retracted: bool = False


@dataclass
class SessionIndex:
    """Sessions seen in the audit log up to `head`, extended on demand.

    Safe to share between threads: a refresh holds the lock, and callers get copies, so a
    session they hold does not change under them as records arrive.
    """

    head: int = 0
    sessions: dict[str, IndexedSession] = field(default_factory=dict)
    findings: dict[tuple[str, str], IndexedFinding] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, store: RecordStore) -> tuple[int, list[IndexedSession]]:
        """Read the records appended since the last call; the head and (copies of) every
        session, in the order first seen."""
        with self.lock:
            self._read_new(store)
            return self.head, [dataclasses.replace(s) for s in self.sessions.values()]

    def session(self, store: RecordStore, session_id: str) -> IndexedSession | None:
        """(A copy of) one session as the log says it is now; None if it has no record."""
        with self.lock:
            self._read_new(store)
            found = self.sessions.get(session_id)
            return None if found is None else dataclasses.replace(found)

    def flag(self, store: RecordStore, session_id: str, finding_id: str) -> IndexedFinding | None:
        """(A copy of) one flag of a session; None if the log has no such flag."""
        with self.lock:
            self._read_new(store)
            found = self.findings.get((session_id, finding_id))
            return None if found is None else dataclasses.replace(found)

    def flags(self, store: RecordStore) -> tuple[list[IndexedSession], list[IndexedFinding]]:
        """(Copies of) every session and every flag raised in them, in log order: what rule
        analytics and trends are computed from."""
        with self.lock:
            self._read_new(store)
            return (
                [dataclasses.replace(s) for s in self.sessions.values()],
                [dataclasses.replace(f) for f in self.findings.values()],
            )

    def _read_new(self, store: RecordStore) -> None:
        for record in store.records(self.head + 1):
            self._add(record.session_id, record.line, record.recorded_at, record.seq)
            self.head = record.seq

    def matching(
        self, store: RecordStore, chosen: SessionFilter
    ) -> tuple[int, list[IndexedSession]]:
        """The head and the sessions `chosen` matches, in the order they started (ties by
        id, so the order never depends on the store)."""
        head, sessions = self.refresh(store)
        found = [session for session in sessions if chosen.matches(session)]
        return head, sorted(found, key=lambda session: (session.started_at, session.session_id))

    def _add(self, session_id: str, line: bytes, recorded_at: str, seq: int) -> None:
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
        elif kind == "score.computed":
            scorecard = event.get("scorecard") or {}
            score, passed = scorecard.get("score"), scorecard.get("passed")
            known.score = float(score) if isinstance(score, int | float) else None
            known.passed = passed if isinstance(passed, bool) else None
        elif kind == "flag.raised":
            self._add_flag(session_id, event.get("finding"), recorded_at, seq)
        elif kind == "flag.retracted":
            withdrawn = self.findings.get((session_id, str(event.get("finding_id"))))
            if withdrawn is not None:
                withdrawn.retracted = True

    def _add_flag(self, session_id: str, finding: object, recorded_at: str, seq: int) -> None:
        """Index a raised flag; raising it again (the final text bearing out a partial's
        flag) keeps the first time and clears a retraction."""
        if not isinstance(finding, dict):
            return
        finding_id, rule_id = finding.get("finding_id"), finding.get("rule_id")
        if not isinstance(finding_id, str) or not isinstance(rule_id, str):
            return
        known = self.findings.get((session_id, finding_id))
        if known is not None:
            known.retracted = False
            return
        severity, detail = finding.get("severity"), finding.get("detail")
        self.findings[(session_id, finding_id)] = IndexedFinding(
            session_id=session_id,
            finding_id=finding_id,
            rule_id=rule_id,
            severity=severity if isinstance(severity, str) else "unknown",
            raised_at=recorded_at,
            seq=seq,
            quote=finding.get("quote"),
            detail=detail if isinstance(detail, str) else None,
        )
