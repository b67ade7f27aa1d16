from __future__ import annotations

import pytest

from evaluators import SessionEvaluator, compile_policy
from evaluators.rubric import effective_rubric
from policies import Speaker, parse_policy

POLICY = """\
policy: t
version: 1
guardrails:
  - id: no-guarantee
    severity: critical
    match: {phrases: [guarantee*]}
  - id: capital-at-risk
    kind: required_disclosure
    match: {phrases: [capital at risk]}
    by_turn: 2
  - id: past-performance
    kind: required_disclosure
    match: {phrases: [past performance is not a reliable indicator]}
  - id: persona-rail
    applies_to: persona
    match: {phrases: [confidential]}
rubric:
  pass_mark: 0.6
  criteria:
    - {id: claims, weight: 2, from_guardrails: [no-guarantee]}
    - {id: warnings, weight: 1, from_guardrails: [capital-at-risk, past-performance]}
  blockers: [no-guarantee]
"""


@pytest.fixture
def evaluator() -> SessionEvaluator:
    return SessionEvaluator(compile_policy(parse_policy(POLICY)))


def test_disclosure_made_in_time_is_evidence_not_a_breach(evaluator: SessionEvaluator) -> None:
    outcome = evaluator.final("u1", "Your capital at risk, remember.")
    assert [o.rule_id for o in outcome.observations] == ["capital-at-risk"]
    assert outcome.observations[0].quote == "capital at risk"
    assert evaluator.final("u2", "Anything else?").new_findings == []


def test_missing_disclosure_fires_at_its_turn_once(evaluator: SessionEvaluator) -> None:
    assert evaluator.final("u1", "Hello").new_findings == []
    (missing,) = evaluator.final("u2", "Let's talk funds").new_findings
    assert (missing.rule_id, missing.turn, missing.utterance_id) == ("capital-at-risk", 2, None)
    assert "learner turn 2" in missing.detail
    assert evaluator.final("u3", "capital at risk").new_findings == []


def test_negated_disclosure_does_not_count(evaluator: SessionEvaluator) -> None:
    outcome = evaluator.final("u1", "Relax, your capital is not at risk; no capital at risk here")
    assert outcome.observations == []


def test_disclosure_without_deadline_is_checked_at_session_end(evaluator: SessionEvaluator) -> None:
    evaluator.final("u1", "capital at risk")
    (missing,) = evaluator.end()
    assert missing.rule_id == "past-performance"
    assert "end of the session" in missing.detail


def test_persona_lines_are_not_held_to_learner_rules(evaluator: SessionEvaluator) -> None:
    persona = evaluator.final("p1", "I guarantee this is confidential", Speaker.persona)
    assert [f.rule_id for f in persona.new_findings] == ["persona-rail"]
    assert evaluator.learner_turns == 0


def test_scorecard_weights_blockers_and_evidence(evaluator: SessionEvaluator) -> None:
    evaluator.final("u1", "capital at risk. past performance is not a reliable indicator")
    evaluator.final("u2", "and I guarantee a return")
    evaluator.end()
    card = evaluator.scorecard()
    claims, warnings = card.criteria
    assert (claims.score, warnings.score) == (0.0, 1.0)
    assert card.score == pytest.approx(1 / 3, abs=1e-3)
    assert not card.passed
    assert [item.rule_id for item in card.blockers_breached] == ["no-guarantee"]
    (breach,) = claims.evidence
    assert (breach.outcome, breach.turn, breach.quote) == ("breached", 2, "guarantee")
    assert {item.outcome for item in warnings.evidence} == {"satisfied"}


def test_clean_session_passes_with_clean_evidence(evaluator: SessionEvaluator) -> None:
    evaluator.final("u1", "capital at risk")
    evaluator.final("u2", "past performance is not a reliable indicator")
    evaluator.end()
    card = evaluator.scorecard()
    assert card.passed and card.score == 1.0
    (clean,) = card.criteria[0].evidence
    assert clean.outcome == "clean" and clean.note == "no breach in 2 learner turns"


def test_blocker_fails_session_even_above_pass_mark() -> None:
    policy = parse_policy(POLICY.replace("weight: 2", "weight: 0.1"))
    evaluator = SessionEvaluator(compile_policy(policy))
    evaluator.final("u1", "capital at risk; past performance is not a reliable indicator")
    evaluator.final("u2", "guaranteed")
    card = evaluator.scorecard()
    assert card.score > card.pass_mark
    assert not card.passed


def test_default_rubric_covers_every_rule_and_needs_no_breach() -> None:
    policy = parse_policy(POLICY.split("rubric:")[0])
    rubric = effective_rubric(policy)
    assert rubric.pass_mark == 1.0
    assert rubric.criteria[0].from_guardrails == [rule.id for rule in policy.guardrails]


def test_rules_that_could_not_be_checked_are_shown_not_counted_clean() -> None:
    policy = parse_policy(
        POLICY.replace(
            "  - id: persona-rail",
            "  - id: figures\n    kind: grounding\n  - id: persona-rail",
        ).replace("from_guardrails: [no-guarantee]}", "from_guardrails: [no-guarantee, figures]}")
    )
    evaluator = SessionEvaluator(compile_policy(policy), unavailable=frozenset({"figures"}))
    evaluator.final("u1", "capital at risk; past performance is not a reliable indicator")
    card = evaluator.scorecard()
    claims = card.criteria[0]
    assert claims.score == 1.0
    assert [(item.rule_id, item.outcome) for item in claims.evidence] == [
        ("no-guarantee", "clean"),
        ("figures", "not_evaluated"),
    ]
    assert card.not_evaluated == ("figures",)
