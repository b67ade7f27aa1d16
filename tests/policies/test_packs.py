"""The sample packs behave as their transcripts claim: the non-compliant ones breach the
rules they were written to breach, the compliant ones pass without a finding and meet every
objective of their policy."""

from __future__ import annotations

import pytest

from engine import ObjectiveProgress, Session, SessionEvent
from engine.planning import plan_policy
from engine.replay import replay_inputs
from engine.transcripts import load_transcript
from policies import load_policy, pack_path


def evaluate(pack: str, transcript: str) -> tuple[Session, list[SessionEvent]]:
    folder = pack_path(pack)
    session = Session(plan_policy(load_policy(folder / "policy.yaml")), learner="t")
    events = session.start()
    for _, utterance in replay_inputs(load_transcript(folder / "transcripts" / transcript)):
        if session.state.value == "active":
            events += session.ingest(utterance)
    if session.state.value == "active":
        events += session.end()
    return session, events


@pytest.mark.parametrize(
    ("pack", "expected"),
    [
        (
            "pharma",
            {
                "no-safety-minimisation",
                "no-patient-data",
                "no-off-label",
                "fair-balance-disclosure",
                "fair-balance",
            },
        ),
        (
            "investment",
            {
                "no-performance-projection",
                "fair-balance",
                "no-guarantees",
                "capital-at-risk",
                "past-performance-warning",
                "no-client-identifiers",
            },
        ),
        ("service", {"no-blaming-customer", "no-false-promises", "complaint-rights"}),
    ],
)
def test_non_compliant_samples_breach_what_they_should(pack: str, expected: set[str]) -> None:
    session, _ = evaluate(pack, "non_compliant.txt")
    assert {finding.rule_id for finding in session.findings} == expected
    assert session.scorecard is not None and not session.scorecard.passed


@pytest.mark.parametrize("pack", ["pharma", "investment", "service"])
def test_compliant_samples_pass_cleanly(pack: str) -> None:
    session, events = evaluate(pack, "compliant.txt")
    assert session.findings == []
    assert session.scorecard is not None and session.scorecard.passed
    assert session.scorecard.score == 1.0
    objectives = {
        objective.id for objective in load_policy(pack_path(pack) / "policy.yaml").objectives
    }
    met = {
        event.objective_id
        for event in events
        if isinstance(event, ObjectiveProgress) and event.satisfied
    }
    assert objectives <= met
