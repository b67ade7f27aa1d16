"""Objectives: counted behaviours with evidence, met or missed, and scored by the rubric."""

from __future__ import annotations

from evaluators import SessionEvaluator, compile_policy
from policies import Speaker, parse_policy

POLICY = """\
policy: objectives-test
version: 1
guardrails:
  - id: no-guarantee
    match: {phrases: [guarantee*]}
objectives:
  - id: discovery-first
    detector: open_question
    min_count: 2
    before: {phrases: [let me tell you about]}
  - id: next-steps
    match: {phrases: [follow up, next step]}
    by_turn: 3
rubric:
  pass_mark: 0.7
  criteria:
    - {id: discovery, weight: 1, from_objective: discovery-first}
    - {id: close, weight: 1, from_objective: next-steps}
    - {id: compliance, weight: 2, from_guardrails: [no-guarantee]}
    - id: empathy
      weight: 1
      from_judge: {question: "Did the rep acknowledge the customer's concern?"}
"""


def _evaluator() -> SessionEvaluator:
    return SessionEvaluator(compile_policy(parse_policy(POLICY)))


def test_objective_met_after_enough_open_questions_with_evidence() -> None:
    evaluator = _evaluator()
    first = evaluator.final("u1", "What matters most to you in a treatment?")
    assert [(s.objective.id, s.count, s.met_at) for s in first.objectives] == [
        ("discovery-first", 1, None)
    ]
    evaluator.final("p1", "Fewer side effects.", Speaker.persona)
    second = evaluator.final("u2", "How do your patients usually respond to ACE inhibitors?")
    (status,) = [s for s in second.objectives if s.objective.id == "discovery-first"]
    assert status.met_at == 2 and status.score == 1.0
    assert [e.quote for e in status.evidence] == [
        "What matters most to you in a treatment?",
        "How do your patients usually respond to ACE inhibitors?",
    ]


def test_pitch_before_enough_questions_misses_the_objective_for_good() -> None:
    evaluator = _evaluator()
    evaluator.final("u1", "What matters most to you?")
    outcome = evaluator.final("u2", "Let me tell you about Velmora. How does that sound?")
    (status,) = [s for s in outcome.objectives if s.objective.id == "discovery-first"]
    assert status.missed is not None and status.count == 1 and status.score == 0.5
    later = evaluator.final("u3", "What else would you like to know? Why do you ask?")
    assert "discovery-first" not in {s.objective.id for s in later.objectives}


def test_objective_with_a_deadline_is_missed_when_it_passes() -> None:
    evaluator = _evaluator()
    for index in range(1, 4):
        evaluator.final(f"u{index}", "Thanks.")
    status = evaluator.objectives.statuses["next-steps"]
    assert status.missed == "not met by learner turn 3"


def test_rubric_scores_objectives_and_leaves_unjudged_criteria_out() -> None:
    evaluator = _evaluator()
    evaluator.final("u1", "What matters most to you? How do you decide?")
    evaluator.final("u2", "As a next step I'll send you the study.")
    evaluator.end()
    card = evaluator.scorecard()
    by_id = {criterion.id: criterion for criterion in card.criteria}
    assert by_id["discovery"].score == 1.0
    assert [e.outcome for e in by_id["discovery"].evidence] == ["satisfied", "satisfied"]
    assert by_id["close"].score == 1.0 and by_id["close"].evidence[0].quote == "next step"
    assert by_id["empathy"].evaluated is False
    assert by_id["empathy"].evidence[0].outcome == "not_evaluated"
    assert card.score == 1.0 and card.passed


def test_missed_objective_lowers_the_score_with_the_reason_as_evidence() -> None:
    evaluator = _evaluator()
    evaluator.final("u1", "Let me tell you about our product.")
    evaluator.end()
    card = evaluator.scorecard()
    discovery = next(c for c in card.criteria if c.id == "discovery")
    assert discovery.score == 0.0
    assert discovery.evidence[-1].outcome == "missed"
    assert "0 of 2" in discovery.evidence[-1].note
    assert card.score == round((0 * 1 + 0 * 1 + 1 * 2) / 4, 4)
    assert not card.passed


def test_objectives_still_open_at_the_end_are_reported_missed_as_events() -> None:
    from engine import ObjectiveProgress, Session
    from engine.inputs import FinalUtterance

    session = Session(compile_policy(parse_policy(POLICY)), learner="t")
    session.start()
    session.ingest(FinalUtterance(utterance_id="u1", text="Good morning."))
    events = session.end()
    missed = {e.objective_id: e for e in events if isinstance(e, ObjectiveProgress)}
    assert set(missed) == {"discovery-first", "next-steps"}
    assert all(e.missed and not e.satisfied for e in missed.values())
    assert missed["discovery-first"].count == 0 and missed["discovery-first"].required == 2
