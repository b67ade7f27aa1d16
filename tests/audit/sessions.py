"""Real recorded sessions for the report and bundle-view tests.

A session here is an `engine.Session` on a small policy, recording through `AuditRecorder`
into an `AuditLog`: the records are exactly what the service would write, so the views are
tested on real events, not on hand-made dicts that could drift from the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from audit import AuditLog, RecordStore, SigningKey, decode_record
from audit.content_read import rehydrated, store_texts
from audit.report_model import ReportRecord
from engine import FinalUtterance, Session, SteppingClock
from engine.events import EndReason
from engine.recording import AuditRecorder
from evaluators import compile_policy
from policies import parse_policy
from policies.models import Speaker

POLICY = """\
policy: report-rules
version: 2
guardrails:
  - id: no-guarantees
    severity: critical
    cite: "FCA COBS 4.2.1R"
    match: {phrases: [guaranteed returns, risk-free]}
    on_violation: [coach, escalate]
    coach: Say that capital is at risk; never promise returns.
  - id: no-absolutes
    severity: warning
    cite: "Firm style guide 2.3"
    match: {phrases: [guaranteed]}
objectives:
  - id: ask-goals
    match: {phrases: [what are you hoping]}
rubric:
  pass_mark: 0.7
  criteria:
    - {id: goals, weight: 0.4, from_objective: ask-goals}
    - {id: claims, weight: 0.6, from_guardrails: [no-guarantees, no-absolutes]}
  blockers: [no-guarantees]
escalation:
  - when: {severity: critical}
    do: [{notify: compliance-team}]
"""
LEARNER = "L-7f3a"
START = datetime(2026, 3, 4, 9, 0, 0, tzinfo=UTC)
GOOD = "Hello <b>Dr</b> & co, what are you hoping to get from this meeting?"
BREACH = "This fund has guaranteed returns, it is risk-free."
REPLY = "I'd want to see the <evidence> for that."


def record_session(
    store: RecordStore,
    key: SigningKey,
    utterances: Sequence[tuple[Speaker, str]],
    *,
    session_id: str,
    learner: str = LEARNER,
    end: EndReason | None = "completed",
    policy: str = POLICY,
    log_clock: Callable[[], datetime] | None = None,
) -> None:
    """Run one session through the engine into the log at `store`, signed with `key`;
    `log_clock` sets the records' times (default: now)."""
    session = Session(
        compile_policy(parse_policy(policy)),
        learner=learner,
        session_id=session_id,
        recorder=AuditRecorder(AuditLog(store, key, clock=log_clock)),
        clock=SteppingClock(START, timedelta(seconds=1)),
    )
    session.start()
    for n, (speaker, text) in enumerate(utterances):
        session.ingest(FinalUtterance(utterance_id=f"u{n}", text=text, speaker=speaker))
    if end is not None:
        session.end(end)


def report_records(store: RecordStore, key: SigningKey, session_id: str) -> list[ReportRecord]:
    """The session's records decoded (and so verified) with `key`, as the report takes them:
    with the learner text sealed in them put back from the store, as an export does."""
    trusted = {key.public_key.keyid: key.public_key}
    texts = store_texts(store, [session_id])
    records = []
    for row in store.records():
        if row.session_id == session_id:
            payload = decode_record(row.line, trusted)
            payload = payload.model_copy(update={"event": rehydrated(payload.event, texts)})
            records.append(ReportRecord(payload, row.digest, (key.public_key.keyid,)))
    return records
