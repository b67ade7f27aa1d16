from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from engine import (
    CoachingHint,
    EscalationTriggered,
    FinalUtterance,
    FlagRaised,
    FlagRetracted,
    InvalidUtteranceError,
    PartialUtterance,
    PolicyVersion,
    RecordingFailedError,
    ScoreComputed,
    Session,
    SessionEnded,
    SessionEvent,
    SessionNotActiveError,
    SessionStarted,
    SessionState,
    SteppingClock,
    UtteranceFinal,
    UtterancePartial,
    event_from_json,
    event_to_json,
)
from engine.replay import spoken_partials
from evaluators import PolicyPlan, compile_policy
from policies import Severity, Speaker, parse_policy


class ListRecorder:
    def __init__(self) -> None:
        self.batches: list[list[SessionEvent]] = []

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        self.batches.append(list(events))


class BrokenRecorder:
    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        raise OSError("disk full")


class ListNotifier:
    def __init__(self) -> None:
        self.sent: list[EscalationTriggered] = []

    def notify(self, escalation: EscalationTriggered) -> None:
        self.sent.append(escalation)


def clock() -> SteppingClock:
    return SteppingClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def session(plan: PolicyPlan, **kwargs: object) -> Session:
    s = Session(plan, learner="L-1", session_id="s-1", clock=clock(), **kwargs)  # type: ignore[arg-type]
    s.start()
    return s


def test_partial_flags_fire_mid_sentence_and_are_recorded_without_partials(
    pharma_plan: PolicyPlan,
) -> None:
    recorder = ListRecorder()
    s = session(pharma_plan, recorder=recorder)
    fired_at = []
    text = "Honestly there are no side effects worth mentioning"
    for partial in spoken_partials("u1", text):
        events = s.ingest(partial)
        assert isinstance(events[0], UtterancePartial)
        if any(isinstance(event, FlagRaised) for event in events):
            fired_at.append(partial.text)
    assert fired_at == ["Honestly there are no side effects worth"]
    final_events = s.ingest(FinalUtterance(utterance_id="u1", text=text))
    assert not any(isinstance(event, FlagRaised) for event in final_events)
    recorded = [event for batch in recorder.batches for event in batch]
    assert not any(isinstance(event, UtterancePartial) for event in recorded)
    flags = [event for event in recorded if isinstance(event, FlagRaised)]
    assert [(f.finding.rule_id, f.provisional, f.finding.revision) for f in flags] == [
        ("no-safety-minimisation", True, 6)
    ]


def test_rule_actions_coach_and_escalate_and_notify(pharma_plan: PolicyPlan) -> None:
    notifier = ListNotifier()
    s = session(pharma_plan, notifier=notifier)
    events = s.ingest(FinalUtterance(utterance_id="u1", text="It works for migraine too."))
    kinds = [type(event).__name__ for event in events]
    assert kinds == [
        "UtteranceFinal",
        "FlagRaised",
        "CoachingHint",
        "EscalationTriggered",
        "EscalationTriggered",
    ]
    hint = next(e for e in events if isinstance(e, CoachingHint))
    assert "hypertension in adults" in hint.text
    triggers = [e.trigger for e in events if isinstance(e, EscalationTriggered)]
    assert triggers == ["rule:no-off-label", "escalation[0]"]
    assert [e.channels for e in notifier.sent] == [("compliance",), ("compliance-team",)]


def test_count_escalation_ends_session_with_score(pharma_plan: PolicyPlan) -> None:
    """The pack ends a session at the fifth finding of violation severity or above."""
    s = session(pharma_plan)
    lines = ["A miracle.", "It is 100% effective.", "Best on the market.", "Works for everyone."]
    events: list[object] = []
    for number, text in enumerate(lines, start=1):
        events = s.ingest(FinalUtterance(utterance_id=f"u{number}", text=text))
        if s.state is not SessionState.active:
            break
    serious = [f for f in s.findings if f.severity.rank >= Severity.violation.rank]
    assert len(serious) == 5
    assert isinstance(events[-2], ScoreComputed)
    assert isinstance(events[-1], SessionEnded) and events[-1].reason == "ended_by_policy"
    assert s.state is SessionState.ended
    with pytest.raises(SessionNotActiveError):
        s.ingest(FinalUtterance(utterance_id="u9", text="hello"))


def test_redaction_applies_to_the_recorded_final(pharma_plan: PolicyPlan) -> None:
    recorder = ListRecorder()
    s = session(pharma_plan, recorder=recorder)
    s.ingest(FinalUtterance(utterance_id="u1", text="Her SSN is 536-22-1234, by the way."))
    final = next(e for b in recorder.batches for e in b if isinstance(e, UtteranceFinal))
    assert "536-22-1234" not in final.text
    assert "1234" not in str(event_to_json(final))
    assert [(span.start, span.end) for span in final.redacted] == [(11, 22)]


def test_retraction_is_an_event(pharma_plan: PolicyPlan) -> None:
    s = session(pharma_plan)
    s.ingest(PartialUtterance(utterance_id="u1", revision=0, text="useful for migraine and"))
    events = s.ingest(FinalUtterance(utterance_id="u1", text="useful for hypertension and"))
    (retracted,) = [e for e in events if isinstance(e, FlagRetracted)]
    assert retracted.rule_id == "no-off-label"
    assert s.findings == []


def test_partial_after_final_is_rejected_and_session_survives(pharma_plan: PolicyPlan) -> None:
    s = session(pharma_plan)
    s.ingest(FinalUtterance(utterance_id="u1", text="hello"))
    with pytest.raises(InvalidUtteranceError, match="already final"):
        s.ingest(PartialUtterance(utterance_id="u1", revision=3, text="hello again"))
    assert s.state is SessionState.active


def test_recording_failure_fails_closed(pharma_plan: PolicyPlan) -> None:
    s = Session(pharma_plan, learner="L", recorder=BrokenRecorder(), clock=clock())
    with pytest.raises(RecordingFailedError, match="disk full"):
        s.start()
    assert s.state is SessionState.failed
    with pytest.raises(SessionNotActiveError):
        s.ingest(FinalUtterance(utterance_id="u1", text="hello"))


def test_end_reports_missing_disclosures_and_scores(pharma_plan: PolicyPlan) -> None:
    s = session(pharma_plan)
    s.ingest(FinalUtterance(utterance_id="p1", text="What's new?", speaker=Speaker.persona))
    s.ingest(FinalUtterance(utterance_id="u1", text="Velmora lowers blood pressure."))
    events = s.end()
    flagged = [e.finding.rule_id for e in events if isinstance(e, FlagRaised)]
    assert flagged == ["fair-balance-disclosure", "fair-balance"]
    assert s.scorecard is not None and s.scorecard.learner_turns == 1
    assert isinstance(events[-1], SessionEnded) and events[-1].reason == "completed"


def test_events_round_trip_through_json(pharma_plan: PolicyPlan) -> None:
    s = Session(pharma_plan, learner="L", clock=clock())
    events = s.start() + s.ingest(FinalUtterance(utterance_id="u1", text="I guarantee it."))
    events += s.end()
    for event in events:
        assert event_from_json(event_to_json(event)) == event
    assert isinstance(events[0], SessionStarted)
    assert events[0].policy.digest == pharma_plan.digest
    assert event_to_json(events[0])["at"] == "2026-01-02T03:04:05Z"


def test_policy_without_escalation_section() -> None:
    plan = compile_policy(
        parse_policy("policy: p\nversion: 1\nguardrails:\n  - id: g\n    match: {phrases: [x]}\n")
    )
    s = Session(plan, learner="L", clock=clock())
    s.start()
    events = s.ingest(FinalUtterance(utterance_id="u", text="x"))
    assert [type(e).__name__ for e in events] == ["UtteranceFinal", "FlagRaised", "CoachingHint"]


END_ON_BREACH = """\
policy: p
version: 1
guardrails:
  - id: stop
    severity: critical
    match: {phrases: [guarantee]}
    on_violation: [end_session]
  - id: minor
    severity: warning
    match: {phrases: [basically]}
  - id: warn
    kind: required_disclosure
    match: {phrases: [capital at risk]}
escalation:
  - when: {severity: warning, count: 2}
    do: [end_session]
"""


def test_end_session_from_a_partial_waits_for_the_final() -> None:
    s = session(compile_policy(parse_policy(END_ON_BREACH)))
    events = s.ingest(PartialUtterance(utterance_id="u1", revision=0, text="I guarantee it"))
    assert any(isinstance(e, FlagRaised) for e in events)
    assert s.state is SessionState.active
    events = s.ingest(FinalUtterance(utterance_id="u1", text="I guarantee it"))
    assert isinstance(events[-1], SessionEnded) and events[-1].reason == "ended_by_policy"
    missing = [e.finding.rule_id for e in events if isinstance(e, FlagRaised)]
    assert missing == ["warn"], "an early end still checks the required disclosures"


def test_withdrawn_flag_neither_ends_the_session_nor_counts() -> None:
    s = session(compile_policy(parse_policy(END_ON_BREACH)))
    s.ingest(PartialUtterance(utterance_id="u1", revision=0, text="I guarantee it"))
    s.ingest(FinalUtterance(utterance_id="u1", text="I can't say"))
    assert s.state is SessionState.active
    s.ingest(PartialUtterance(utterance_id="u2", revision=0, text="it is basically fine"))
    s.ingest(FinalUtterance(utterance_id="u2", text="it is fine"))
    s.ingest(FinalUtterance(utterance_id="u3", text="it is basically fine"))
    assert s.state is SessionState.active, "the withdrawn warning must not count towards 2"
    events = s.ingest(FinalUtterance(utterance_id="u4", text="basically, yes"))
    assert isinstance(events[-1], SessionEnded)
