"""A check that cannot run is never silent: per rule it fails closed (`on_error: block`) or
is recorded and left not evaluated (`flag`). Also: guardrails-ai validators as session rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from engine import CheckFailed, FlagRaised, Session
from engine.inputs import FinalUtterance
from evaluators import SessionEvaluator, compile_policy
from policies import parse_policy

pytest.importorskip("guardrails")

VALIDATORS = "tests.evaluators.adapters.validators"


class FailingEmbedder:
    """Embeds the policy's examples, then fails: a model that breaks mid-session."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("model worker crashed")
        rows = np.ones((len(texts), 4), dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _semantic_policy(on_error: str, severity: str = "violation") -> str:
    return f"""\
policy: failing-checks
version: 1
guardrails:
  - id: no-guarantee
    severity: {severity}
    on_error: {on_error}
    match:
      phrases: [guarantee*]
      semantic: {{examples: ["you cannot lose money"]}}
"""


def test_a_failing_semantic_check_set_to_block_fails_closed() -> None:
    plan = compile_policy(parse_policy(_semantic_policy("block")), FailingEmbedder())
    evaluator = SessionEvaluator(plan)
    outcome = evaluator.final("u1", "The fund has done well this year.")
    (failure,) = outcome.check_failures
    assert failure.blocked and "model worker crashed" in failure.reason
    (finding,) = outcome.new_findings
    assert finding.rule_id == "no-guarantee" and "failing closed" in finding.detail
    assert not evaluator.scorecard().passed


def test_a_failing_semantic_check_set_to_flag_is_recorded_and_not_evaluated() -> None:
    plan = compile_policy(parse_policy(_semantic_policy("flag")), FailingEmbedder())
    evaluator = SessionEvaluator(plan)
    outcome = evaluator.final("u1", "The fund has done well this year.")
    (failure,) = outcome.check_failures
    assert not failure.blocked
    assert outcome.new_findings == []
    card = evaluator.scorecard()
    assert card.not_evaluated == ("no-guarantee",)
    assert "model worker crashed" in card.not_evaluated_reasons["no-guarantee"]


def test_critical_rules_fail_closed_by_default_and_others_flag() -> None:
    critical = parse_policy(
        _semantic_policy("block", "critical").replace("    on_error: block\n", "")
    )
    warning = parse_policy(_semantic_policy("flag", "warning").replace("    on_error: flag\n", ""))
    assert critical.guardrails[0].error_handling.value == "block"
    assert warning.guardrails[0].error_handling.value == "flag"


class BrokenKnowledge:
    name = "label"
    digest = "0" * 64

    def search(self, query: str, k: int = 3) -> list[Any]:
        raise ConnectionError("chroma server unreachable")


GROUNDED = """\
policy: grounded
version: 1
knowledge_base: label
guardrails:
  - id: figures
    kind: grounding
    severity: critical
"""


def test_a_failed_knowledge_base_search_is_an_event_and_the_session_goes_on() -> None:
    session = Session(
        compile_policy(parse_policy(GROUNDED)), learner="t", knowledge=BrokenKnowledge()
    )
    session.start()
    events = session.ingest(
        FinalUtterance(utterance_id="u1", text="It lowered pressure by 20 mmHg.")
    )
    (failed,) = [e for e in events if isinstance(e, CheckFailed)]
    assert failed.rule_id == "figures" and failed.blocked
    assert "chroma server unreachable" in failed.reason
    flags = [e.finding for e in events if isinstance(e, FlagRaised)]
    assert [f.rule_id for f in flags] == ["figures"]
    quiet = session.ingest(FinalUtterance(utterance_id="u2", text="Good morning."))
    assert not [e for e in quiet if isinstance(e, CheckFailed)], "no quantity, no search"
    assert session.state.value == "active"


VALIDATOR_POLICY = f"""\
policy: validator-rules
version: 1
guardrails:
  - id: no-competitors
    kind: guardrails_ai
    validator: "{VALIDATORS}:BannedWords"
    arguments: {{words: ["Cardiozen"]}}
  - id: crashing
    kind: guardrails_ai
    severity: critical
    validator: "{VALIDATORS}:Broken"
  - id: missing
    kind: guardrails_ai
    on_error: flag
    validator: "{VALIDATORS}:NoSuchValidator"
"""


def test_guardrails_validators_run_as_session_rules_with_their_failures_explicit() -> None:
    plan = compile_policy(parse_policy(VALIDATOR_POLICY))
    assert "missing" in plan.unavailable and "NoSuchValidator" in plan.unavailable["missing"]
    evaluator = SessionEvaluator(plan)
    outcome = evaluator.final("u1", "Cardiozen is older than our product.")
    by_rule = {finding.rule_id: finding for finding in outcome.new_findings}
    assert by_rule["no-competitors"].quote == "Cardiozen"
    assert "failing closed" in by_rule["crashing"].detail
    assert [(f.rule_id, f.blocked) for f in outcome.check_failures] == [("crashing", True)]
    card = evaluator.scorecard()
    assert card.not_evaluated == ("missing",)


def test_breaches_found_before_a_flagged_failure_still_count() -> None:
    plan = compile_policy(parse_policy(_semantic_policy("flag")), FailingEmbedder())
    evaluator = SessionEvaluator(plan)
    outcome = evaluator.final("u1", "I guarantee it.")
    assert [f.rule_id for f in outcome.new_findings] == ["no-guarantee"]
    assert [f.blocked for f in outcome.check_failures] == [False]
    card = evaluator.scorecard()
    assert card.not_evaluated == ()
    assert card.criteria[0].evidence[0].outcome == "breached"


def test_a_session_with_nothing_evaluable_does_not_pass() -> None:
    policy = parse_policy(
        "policy: only-judge\nversion: 1\nguardrails:\n  - id: a\n    match: {phrases: [x]}\n"
        "rubric:\n  pass_mark: 0.5\n  criteria:\n    - id: j\n      weight: 1\n"
        "      from_judge: {question: Was the learner polite?}\n"
    )
    evaluator = SessionEvaluator(compile_policy(policy))
    evaluator.final("u1", "Hello.")
    card = evaluator.scorecard()
    assert not card.passed and card.score == 0.0
