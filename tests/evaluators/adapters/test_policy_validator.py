"""A Proctor policy used as a guardrails-ai validator inside a real Guard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from policies import DocumentError, pack_path, parse_policy

pytest.importorskip("guardrails")

from guardrails import Guard
from guardrails.errors import ValidationError
from guardrails_ai.types import FailResult, PassResult

from evaluators.adapters.guardrails_ai import ProctorPolicyValidator

DETAILING = """\
# Lexical and PII rules in the style of the pharma pack, owned by these tests.
policy: detailing-test
version: 1
guardrails:
  - id: no-safety-minimisation
    severity: critical
    cite: "21 CFR 202.1(e)(6)"
    match: {phrases: [no side effects, completely safe, risk-free]}
  - id: no-off-label
    cite: "21 CFR 202.1(e)(4)"
    match: {phrases: [migraine, weight loss]}
  - id: no-overclaiming
    cite: "21 CFR 202.1(e)(6)"
    match: {phrases: ["guarantee*", works for every patient]}
  - id: no-patient-data
    kind: pii
    severity: critical
    cite: "HIPAA 45 CFR 164.502"
    entities: [PHONE, EMAIL]
    on_violation: [redact, escalate]
"""


@pytest.fixture(scope="module")
def detailing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "detailing.yaml"
    path.write_text(DETAILING)
    return path


def failures(guard: Guard, text: str) -> list[tuple[str, str]]:
    """(matched text, reason) for every error span the guard reports."""
    outcome = guard.validate(text)
    assert outcome.validation_summaries is not None
    return [
        (text[span.start : span.end], span.reason)
        for summary in outcome.validation_summaries
        for span in summary.error_spans or []
    ]


@pytest.fixture(scope="module")
def detailing_guard(detailing_file: Path) -> Guard:
    return Guard().use(ProctorPolicyValidator(detailing_file, on_fail="noop"))


def test_each_finding_is_an_error_span_naming_rule_detail_and_citation(
    detailing_guard: Guard,
) -> None:
    text = "Honestly it has no side effects, and I guarantee it lowers pressure."
    found = failures(detailing_guard, text)
    assert found == [
        (
            "no side effects",
            'no-safety-minimisation: phrase "no side effects" [21 CFR 202.1(e)(6)]',
        ),
        ("guarantee", 'no-overclaiming: phrase "guarantee*" [21 CFR 202.1(e)(6)]'),
    ]
    assert detailing_guard.validate(text).validation_passed is False


def test_compliant_text_passes_unchanged(detailing_guard: Guard) -> None:
    text = "Velmora lowered systolic pressure by 11 mmHg more than placebo at week 12."
    outcome = detailing_guard.validate(text)
    assert outcome.validation_passed is True
    assert outcome.validated_output == text
    assert failures(detailing_guard, text) == []


def test_negated_claims_are_judged_as_proctor_judges_them(detailing_guard: Guard) -> None:
    assert failures(detailing_guard, "I can't guarantee it works for every patient.") == []


def test_on_fail_fix_masks_personal_data_the_policy_says_to_redact(detailing_file: Path) -> None:
    guard = Guard().use(ProctorPolicyValidator(detailing_file, on_fail="fix"))
    text = "Her number is (212) 555-0143 if you want to check."
    outcome = guard.validate(text)
    assert outcome.validated_output == "Her number is " + "\u2588" * 14 + " if you want to check."
    [(_, reason)] = failures(guard, text)
    assert reason.startswith("no-patient-data: PHONE")
    assert reason.endswith("[HIPAA 45 CFR 164.502]")


def test_no_fix_is_offered_when_masking_leaves_a_breach_in_the_text(detailing_file: Path) -> None:
    guard = Guard().use(ProctorPolicyValidator(detailing_file, on_fail="fix"))
    outcome = guard.validate("Call (212) 555-0143, it is completely safe.")
    assert outcome.validated_output is None


def test_the_default_on_fail_raises_with_every_reason(detailing_file: Path) -> None:
    guard = Guard().use(ProctorPolicyValidator(detailing_file))
    with pytest.raises(ValidationError, match=r"no-off-label: .*migraine"):
        guard.validate("Many doctors use it for migraine.")


def test_only_the_named_rules_are_checked(detailing_file: Path) -> None:
    only_off_label = ProctorPolicyValidator(
        str(detailing_file), rules=["no-off-label"], on_fail="noop"
    )
    guard = Guard().use(only_off_label)
    assert failures(guard, "I guarantee it, call (212) 555-0143.") == []
    assert [quote for quote, _ in failures(guard, "It helps with weight loss.")] == ["weight loss"]


def test_a_policy_object_parsed_from_yaml_is_accepted() -> None:
    policy = parse_policy(
        """\
format: 1
policy: plain-words
version: 1
guardrails:
  - id: no-slang
    cite: Style guide 4.2
    match: {phrases: [gonna]}
"""
    )
    guard = Guard().use(ProctorPolicyValidator(policy, on_fail="noop"))
    [(quote, reason)] = failures(guard, "We're gonna win.")
    assert quote == "gonna"
    assert reason.startswith("no-slang: ")
    assert reason.endswith(" [Style guide 4.2]")


def test_a_shipped_pack_can_be_used_by_its_path() -> None:
    guard = Guard().use(ProctorPolicyValidator(pack_path("pharma") / "policy.yaml", on_fail="noop"))
    found = failures(guard, "Honestly, there are no side effects worth mentioning.")
    assert [(quote, reason.split(":")[0]) for quote, reason in found] == [
        ("no side effects", "no-safety-minimisation")
    ]


MIXED = """\
policy: mixed
version: 1
guardrails:
  - id: no-guarantee
    cite: COBS 4.2.1
    match: {phrases: [guarantee*]}
  - id: no-guarantee-meaning
    match:
      semantic:
        examples: ["you cannot lose money with this fund", "it is completely risk-free"]
        unlike: ["your capital is at risk and you may lose money"]
        threshold: 0.6
  - id: no-unsupported-claims
    match: {phrases: [cures]}
    unless: {grounded_in: knowledge_base}
  - {id: figures, kind: grounding}
  - {id: persona-slang, applies_to: persona, match: {phrases: [gonna]}}
  - {id: risk-warning, kind: required_disclosure, match: {phrases: [capital at risk]}}
  - id: no-competitors
    kind: guardrails_ai
    validator: "tests.evaluators.adapters.validators:BannedWords"
    arguments: {words: [Fundco]}
  - id: gone
    kind: guardrails_ai
    validator: "tests.evaluators.adapters.nowhere:Gone"
  - {id: no-client-data, kind: pii, entities: [EMAIL], on_violation: [redact]}
"""


def test_all_rules_means_those_judgeable_on_one_text_and_the_rest_say_why() -> None:
    validator = ProctorPolicyValidator(parse_policy(MIXED))
    assert validator.rule_ids == ("no-guarantee", "no-competitors", "no-client-data")
    skipped = validator.skipped
    assert list(skipped) == [
        "no-guarantee-meaning",
        "no-unsupported-claims",
        "figures",
        "persona-slang",
        "risk-warning",
        "gone",
    ]
    assert "needs a sentence embedder" in skipped["no-guarantee-meaning"]
    assert (
        "`unless` exception, which needs knowledge-base passages"
        in skipped["no-unsupported-claims"]
    )
    assert skipped["figures"] == "(grounding) needs knowledge-base passages"
    assert "applies to the persona" in skipped["persona-slang"]
    assert skipped["risk-warning"] == "(required_disclosure) is settled over a whole session"
    assert "cannot import module 'tests.evaluators.adapters.nowhere'" in skipped["gone"]


def test_a_guardrails_ai_rule_of_the_policy_takes_part() -> None:
    guard = Guard().use(ProctorPolicyValidator(parse_policy(MIXED), on_fail="noop"))
    assert failures(guard, "Fundco can't guarantee that") == [
        ("Fundco", "no-competitors: banned word 'Fundco'"),
    ]


def test_semantic_rules_take_part_given_an_embedder(minilm: Any) -> None:
    validator = ProctorPolicyValidator(
        parse_policy(MIXED), rules=["no-guarantee-meaning"], embedder=minilm, on_fail="noop"
    )
    guard = Guard().use(validator)
    [(quote, reason)] = failures(guard, "Honestly, with this fund you simply can't lose money.")
    assert reason.startswith("no-guarantee-meaning: ")
    assert "with this fund you simply can't lose money" in quote
    assert failures(guard, "Your capital is at risk.") == []


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            ["no-such-rule"],
            "policy 'mixed' has no rule 'no-such-rule'; its rules are no-guarantee,",
        ),
        (["risk-warning"], "rule 'risk-warning' (required_disclosure) is settled over a whole"),
        (["figures"], "rule 'figures' (grounding) needs knowledge-base passages: it cannot"),
        (["no-unsupported-claims"], "has an `unless` exception"),
        (["no-guarantee-meaning"], "needs a sentence embedder (pass `embedder`)"),
        (["persona-slang"], "rule 'persona-slang' applies to the persona"),
        (["gone"], "rule 'gone' cannot be evaluated: rule 'gone': guardrails-ai validator"),
        ([], "rules is empty"),
        ("no-guarantee", "rules must be a list of rule ids"),
    ],
)
def test_a_named_rule_that_cannot_be_judged_on_one_text_is_refused(
    rules: list[str], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        ProctorPolicyValidator(parse_policy(MIXED), rules=rules)


def test_a_policy_with_nothing_to_judge_on_one_text_is_refused() -> None:
    policy = parse_policy(
        "policy: p\nversion: 1\nguardrails:\n  - {id: figures, kind: grounding}\n"
    )
    with pytest.raises(ValueError, match="no rule that can be judged on one text: figures"):
        ProctorPolicyValidator(policy)


BROKEN_CHECKS = """\
policy: broken
version: 1
guardrails:
  - id: flaky-flagged
    kind: guardrails_ai
    validator: "tests.evaluators.adapters.validators:Broken"
    on_error: flag
  - id: flaky-blocking
    kind: guardrails_ai
    validator: "tests.evaluators.adapters.validators:Broken"
    on_error: block
"""


def test_a_check_that_cannot_run_fails_the_text_or_is_reported_as_its_on_error_says() -> None:
    policy = parse_policy(BROKEN_CHECKS)
    flagged = ProctorPolicyValidator(policy, rules=["flaky-flagged"]).validate("hello", {})
    assert isinstance(flagged, PassResult)
    assert flagged.metadata is not None
    assert "model file is corrupt" in flagged.metadata["not_evaluated"]["flaky-flagged"]
    blocked = ProctorPolicyValidator(policy, rules=["flaky-blocking"]).validate("hello", {})
    assert isinstance(blocked, FailResult)
    [span] = blocked.error_spans or []
    assert (span.start, span.end) == (0, 5)
    assert span.reason.startswith("flaky-blocking: check could not run, failing closed")


def test_a_value_that_is_not_text_fails_with_a_clear_message() -> None:
    result = ProctorPolicyValidator(parse_policy(MIXED)).validate(42, {})
    assert isinstance(result, FailResult)
    assert result.error_message == "proctor/policy checks text, not int"


def test_a_policy_that_is_neither_a_policy_nor_a_path_is_refused() -> None:
    with pytest.raises(TypeError, match="policy must be a Policy or the path of a policy file"):
        ProctorPolicyValidator({"policy": "p"})  # type: ignore[arg-type]


def test_a_missing_policy_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="file not found"):
        ProctorPolicyValidator(tmp_path / "nowhere.yaml")


def test_the_validator_is_registered_under_the_proctor_name() -> None:
    from guardrails.validator_base import get_validator_class

    assert get_validator_class("proctor/policy") is ProctorPolicyValidator
