"""Paired disclosure (fair balance), sequence and count rules over a whole conversation."""

from __future__ import annotations

from evaluators import SessionEvaluator, compile_policy
from policies import Speaker, parse_policy

POLICY = """\
policy: conversation-test
version: 1
guardrails:
  - id: fair-balance
    kind: paired_disclosure
    trigger: {phrases: [lowers blood pressure, reduces blood pressure]}
    require: {phrases: [side effects, dizziness]}
    within_turns: 1
  - id: balance-by-end
    kind: paired_disclosure
    trigger: {phrases: [strong returns]}
    require: {phrases: [capital at risk]}
  - id: identity-first
    kind: sequence
    first: {phrases: [date of birth, security question]}
    then: {phrases: [account balance]}
  - id: few-superlatives
    kind: count
    match: {phrases: [amazing]}
    max: 1
  - id: ask-questions
    kind: count
    match: {regex: ['\\?']}
    min: 2
"""


def _evaluator() -> SessionEvaluator:
    return SessionEvaluator(compile_policy(parse_policy(POLICY)))


def _said(evaluator: SessionEvaluator, *lines: str) -> list[tuple[str, int]]:
    found = []
    for index, line in enumerate(lines, start=1):
        outcome = evaluator.final(f"u{index}", line)
        found += [(f.rule_id, f.turn) for f in outcome.new_findings]
    return found


def test_claim_balanced_in_the_next_turn_is_fine() -> None:
    evaluator = _evaluator()
    found = _said(
        evaluator,
        "It lowers blood pressure within weeks. Any questions? Shall we go on?",
        "The most common side effects are dizziness and fatigue.",
        "Nothing else.",
    )
    assert [rule for rule, _ in found if rule == "fair-balance"] == []


def test_claim_not_balanced_within_the_window_is_flagged_when_the_window_closes() -> None:
    evaluator = _evaluator()
    found = _said(evaluator, "It lowers blood pressure within weeks.", "It is once daily.")
    assert ("fair-balance", 2) in found
    (finding,) = [f for f in evaluator.findings if f.rule_id == "fair-balance"]
    assert finding.utterance_id == "u1" and finding.quote == "lowers blood pressure"
    assert "not balanced within 1 turn" in finding.detail


def test_negated_risk_mention_does_not_balance_a_claim() -> None:
    evaluator = _evaluator()
    found = _said(
        evaluator, "It lowers blood pressure.", "There are no side effects worth mentioning."
    )
    assert ("fair-balance", 2) in found


def test_balance_before_the_claim_counts_within_the_window() -> None:
    evaluator = _evaluator()
    found = _said(evaluator, "Dizziness can occur early on.", "It lowers blood pressure.", "Ok.")
    assert "fair-balance" not in {rule for rule, _ in found}


def test_unbalanced_claim_without_window_is_flagged_at_the_end_only() -> None:
    evaluator = _evaluator()
    found = _said(evaluator, "You can expect strong returns.", "Really strong.")
    assert "balance-by-end" not in {rule for rule, _ in found}
    assert "balance-by-end" in {f.rule_id for f in evaluator.end()}


def test_step_taken_before_its_prerequisite_is_flagged_where_it_happened() -> None:
    evaluator = _evaluator()
    found = _said(evaluator, "Your account balance is 300 pounds.", "What is your date of birth?")
    assert ("identity-first", 1) in found


def test_prerequisite_earlier_in_the_same_utterance_or_before_is_fine() -> None:
    same = _evaluator()
    assert "identity-first" not in {
        rule for rule, _ in _said(same, "Can I take your date of birth? Then your account balance.")
    }
    reversed_order = _evaluator()
    assert "identity-first" in {
        rule for rule, _ in _said(reversed_order, "Your account balance, then your date of birth.")
    }


def test_count_beyond_max_is_flagged_per_extra_occurrence() -> None:
    evaluator = _evaluator()
    found = _said(evaluator, "It's amazing.", "Truly amazing, amazing results.")
    assert [rule for rule, _ in found if rule == "few-superlatives"] == [
        "few-superlatives",
        "few-superlatives",
    ]


def test_count_below_min_is_flagged_at_the_end() -> None:
    evaluator = _evaluator()
    _said(evaluator, "How are you?", "Fine.")
    (short,) = [f for f in evaluator.end() if f.rule_id == "ask-questions"]
    assert short.utterance_id is None and "fewer than the 2 required" in short.detail
    enough = _evaluator()
    _said(enough, "How are you?", "What brings you here?")
    assert "ask-questions" not in {f.rule_id for f in enough.end()}


def test_persona_lines_do_not_feed_learner_rules() -> None:
    evaluator = _evaluator()
    evaluator.final("p1", "It lowers blood pressure, amazing, amazing.", Speaker.persona)
    assert evaluator.findings == []
