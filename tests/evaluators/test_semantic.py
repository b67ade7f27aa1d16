"""Semantic matching: one exemplar matrix, clause by clause, with negation and attribution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluators import SessionEvaluator, compile_policy
from evaluators.semantic import clauses
from policies import parse_policy

GUARANTEE_POLICY = """\
policy: semantic-test
version: 1
guardrails:
  - id: no-guarantee
    severity: violation
    match:
      semantic:
        examples:
          - "this investment is guaranteed to make you money"
          - "you cannot lose money with this fund"
          - "it is completely risk-free"
        unlike:
          - "your capital is at risk and you may lose money"
        threshold: 0.6
"""


@given(st.text(alphabet=st.sampled_from("ab cd.,;!?\n-"), max_size=80))
def test_clauses_are_exact_spans_of_the_text(text: str) -> None:
    for clause in clauses(text):
        assert 0 <= clause.start < clause.end <= len(text)
        assert text[clause.start : clause.end] == clause.text
        assert clause.text == clause.text.strip()


def test_clauses_split_at_sentences_and_contrast() -> None:
    text = "Some reps say it's risk-free, but it isn't. Returns can go down as well as up!"
    assert [c.text for c in clauses(text)] == [
        "Some reps say it's risk-free",
        "Returns can go down as well as up!",
    ]


def test_a_one_sentence_utterance_is_one_clause_word_for_word() -> None:
    text = "It lowered systolic pressure by 11 mmHg."
    assert [c.text for c in clauses(text)] == [text]


@pytest.fixture(scope="module")
def guarantee_evaluator_factory(minilm):  # type: ignore[no-untyped-def]
    plan = compile_policy(parse_policy(GUARANTEE_POLICY), embedder=minilm)
    return lambda: SessionEvaluator(plan)


@pytest.mark.parametrize(
    "text",
    [
        "Honestly, with this fund you simply can't lose your money.",
        "I promise this investment will make you money, it's guaranteed.",
    ],
)
def test_paraphrased_guarantee_is_flagged_with_nearest_example(
    guarantee_evaluator_factory, text: str
) -> None:  # type: ignore[no-untyped-def]
    outcome = guarantee_evaluator_factory().final("u1", text)
    assert [f.rule_id for f in outcome.new_findings] == ["no-guarantee"]
    finding = outcome.new_findings[0]
    assert "close in meaning to" in finding.detail and "similarity" in finding.detail
    assert finding.span is not None and finding.quote == text[finding.span.start : finding.span.end]


@pytest.mark.parametrize(
    "text",
    [
        "Some reps say it's risk-free, but it isn't.",
        "It is not risk-free.",
        "Your capital is at risk and you could lose some of your money.",
        "The fund invests in global equities and bonds.",
    ],
)
def test_denied_attributed_and_unrelated_statements_are_not_flagged(
    guarantee_evaluator_factory, text: str
) -> None:  # type: ignore[no-untyped-def]
    assert guarantee_evaluator_factory().final("u1", text).new_findings == []


def test_semantic_rules_without_an_embedder_are_not_evaluated_not_clean() -> None:
    plan = compile_policy(parse_policy(GUARANTEE_POLICY))
    assert "no-guarantee" in plan.unavailable
    evaluator = SessionEvaluator(plan)
    assert evaluator.final("u1", "You can't lose money with this fund.").new_findings == []
    card = evaluator.scorecard()
    assert card.not_evaluated == ("no-guarantee",)
    assert "embedder" in card.not_evaluated_reasons["no-guarantee"]


@dataclass(frozen=True)
class LabelPassage:
    chunk_id: str
    document: str
    section: str
    text: str
    score: float


OFF_LABEL_POLICY = """\
policy: off-label-test
version: 1
knowledge_base: label
guardrails:
  - id: no-off-label
    severity: critical
    match:
      phrases: [migraine]
      semantic:
        examples: ["a lot of doctors use it for migraine", "it also helps with weight loss"]
        threshold: 0.55
    unless: {grounded_in: knowledge_base, min_similarity: 0.3}
"""

INDICATION = LabelPassage(
    "label.md#1",
    "label.md",
    "Indications and usage",
    "Velmora is indicated for the treatment of hypertension in adults, to lower blood "
    "pressure. Lowering blood pressure reduces the risk of cardiovascular events.",
    0.62,
)


def test_unsupported_use_is_flagged_quoting_the_closest_passage(minilm) -> None:  # type: ignore[no-untyped-def]
    plan = compile_policy(parse_policy(OFF_LABEL_POLICY), embedder=minilm)
    evaluator = SessionEvaluator(plan)
    searches: list[int] = []

    def search() -> list[LabelPassage]:
        searches.append(1)
        return [INDICATION]

    outcome = evaluator.final("u1", "Lots of my doctors use it for migraine.", passages=search)
    (finding,) = outcome.new_findings
    assert finding.rule_id == "no-off-label"
    assert finding.passage is not None and finding.passage.section == "Indications and usage"
    assert "Velmora is indicated for the treatment of hypertension" in finding.passage.quote
    assert "not supported by the knowledge base" in finding.detail
    assert searches == [1]


def test_supported_use_is_not_flagged_and_unmatched_lines_skip_the_search(minilm) -> None:  # type: ignore[no-untyped-def]
    plan = compile_policy(parse_policy(OFF_LABEL_POLICY), embedder=minilm)
    evaluator = SessionEvaluator(plan)
    searches: list[int] = []

    def search() -> list[LabelPassage]:
        searches.append(1)
        return [INDICATION]

    text = "Velmora is indicated for hypertension in adults to lower blood pressure."
    assert evaluator.final("u1", text, passages=search).new_findings == []
    assert evaluator.final("u2", "Good morning, doctor.", passages=search).new_findings == []
    assert len(searches) <= 1


def test_passage_that_denies_the_use_does_not_ground_it(minilm) -> None:  # type: ignore[no-untyped-def]
    plan = compile_policy(parse_policy(OFF_LABEL_POLICY), embedder=minilm)
    denial = LabelPassage(
        "label.md#2",
        "label.md",
        "Indications and usage",
        "Safety and effectiveness in migraine prophylaxis have not been established.",
        0.7,
    )
    outcome = SessionEvaluator(plan).final(
        "u1", "It works well in migraine prophylaxis.", passages=[denial]
    )
    (finding,) = outcome.new_findings
    assert "says the opposite" in finding.detail
    assert finding.passage is not None and "not been established" in finding.passage.quote
