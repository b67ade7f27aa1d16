"""A guardrails-ai validator named in a policy runs as the check of a `guardrails_ai` rule."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from policies import parse_policy
from policies.models import GuardrailsValidatorRule

pytest.importorskip("guardrails")

from evaluators.adapters.guardrails_ai import (
    ValidatorBreach,
    ValidatorCheck,
    ValidatorFailedError,
    ValidatorUnavailableError,
)
from tests.evaluators.adapters import validators

HERE = "tests.evaluators.adapters.validators"

POLICY = f"""\
format: 1
policy: guardrails-interop
version: 1
guardrails:
  - id: no-competitor-names
    kind: guardrails_ai
    validator: "{HERE}:BannedWords"
    arguments: {{words: ["Cardiozen", "Pressurex"]}}
    timeout_ms: 2000
    on_error: block
  - id: short-answers
    kind: guardrails_ai
    validator: "{HERE}:MaxWords"
    arguments: {{limit: 5}}
"""


def rule_from_yaml(
    validator: str, arguments: str = "{}", timeout_ms: int = 2000
) -> GuardrailsValidatorRule:
    text = f"""\
format: 1
policy: one-rule
version: 1
guardrails:
  - id: the-rule
    kind: guardrails_ai
    validator: "{validator}"
    arguments: {arguments}
    timeout_ms: {timeout_ms}
"""
    rule = parse_policy(text).guardrails[0]
    assert isinstance(rule, GuardrailsValidatorRule)
    return rule


@pytest.fixture
def competitor_check() -> ValidatorCheck:
    rule = parse_policy(POLICY).rule("no-competitor-names")
    assert isinstance(rule, GuardrailsValidatorRule)
    return ValidatorCheck(rule)


def test_each_error_span_of_a_validator_loaded_from_a_policy_is_a_breach(
    competitor_check: ValidatorCheck,
) -> None:
    text = "Velmora works better than Cardiozen, and PRESSUREX is old news."
    breaches = competitor_check.check(text)
    assert breaches == [
        ValidatorBreach(26, 35, "banned word 'Cardiozen'"),
        ValidatorBreach(41, 50, "banned word 'PRESSUREX'"),
    ]
    assert [text[b.start : b.end] for b in breaches] == ["Cardiozen", "PRESSUREX"]


def test_text_the_validator_passes_has_no_breach(competitor_check: ValidatorCheck) -> None:
    assert competitor_check.check("Velmora lowered systolic pressure by 11 mmHg.") == []


def test_a_failure_without_error_spans_is_one_breach_over_the_whole_text() -> None:
    rule = parse_policy(POLICY).rule("short-answers")
    assert isinstance(rule, GuardrailsValidatorRule)
    check = ValidatorCheck(rule)
    text = "one two three four five six seven"
    assert check.check(text) == [ValidatorBreach(0, len(text), "7 words, more than 5")]
    assert check.check("one two three") == []


@pytest.mark.parametrize(
    ("validator", "reason"),
    [
        ("Broken", "the validator raised RuntimeError: model file is corrupt"),
        ("NoVerdict", "the validator returned str, not a PassResult or FailResult"),
        ("WildSpan", "error span [0, 10) is not inside the 5-character text"),
    ],
)
def test_a_validator_that_gives_no_usable_verdict_fails_the_check(
    validator: str, reason: str
) -> None:
    check = ValidatorCheck(rule_from_yaml(f"{HERE}:{validator}"))
    with pytest.raises(ValidatorFailedError) as caught:
        check.check("hello")
    assert caught.value.rule_id == "the-rule"
    assert caught.value.reason == reason
    assert "'the-rule'" in str(caught.value)


def test_a_timeout_raised_by_the_validator_is_not_taken_for_running_out_of_time() -> None:
    check = ValidatorCheck(rule_from_yaml(f"{HERE}:Broken", "{error: timeout}", timeout_ms=5000))
    with pytest.raises(ValidatorFailedError, match="raised TimeoutError: upstream model"):
        check.check("hello")


@pytest.fixture
def release_stalled() -> Iterator[None]:
    validators.RELEASE_STALLING.clear()
    yield
    validators.RELEASE_STALLING.set()


@pytest.mark.usefixtures("release_stalled")
def test_a_validator_that_overruns_timeout_ms_fails_the_check() -> None:
    check = ValidatorCheck(rule_from_yaml(f"{HERE}:Stalling", timeout_ms=50))
    with pytest.raises(ValidatorFailedError) as caught:
        check.check("hello")
    assert caught.value.reason == "no verdict within timeout_ms=50"
    validators.RELEASE_STALLING.set()
    check_in_time = ValidatorCheck(rule_from_yaml(f"{HERE}:Stalling", timeout_ms=5000))
    assert check_in_time.check("hello") == []


@pytest.mark.parametrize(
    ("validator", "arguments", "reason"),
    [
        (
            "tests.evaluators.adapters.nowhere:BannedWords",
            "{}",
            "cannot import module 'tests.evaluators.adapters.nowhere': ModuleNotFoundError",
        ),
        (f"{HERE}:Missing", "{}", f"module {HERE!r} has no attribute 'Missing'"),
        (f"{HERE}:NotAValidator", "{}", "is not a guardrails-ai Validator subclass"),
        (f"{HERE}:RELEASE_STALLING", "{}", "is not a guardrails-ai Validator subclass"),
        (f"{HERE}:Unregistered", "{}", "is not registered; decorate it with @register_validator"),
        (f"{HERE}:NeedsMetadata", "{}", "needs metadata ['sources']"),
        (f"{HERE}:BannedWords", "{}", "rejected its arguments: TypeError"),
        (f"{HERE}:BannedWords", "{words: []}", "rejected its arguments: ValueError: words must"),
        (f"{HERE}:BannedWords", "{words: [a], colour: red}", "rejected its arguments: TypeError"),
        (f"{HERE}:BannedWords", "{words: [a], use_local: false}", "'use_local' is not allowed"),
        (f"{HERE}:BannedWords", "{words: [a], on_fail: fix}", "'on_fail' is not allowed"),
        (
            f"{HERE}:BannedWords",
            "{words: [a], validation_endpoint: 'http://127.0.0.1:9/'}",
            "'validation_endpoint' is not allowed: validators run locally only",
        ),
    ],
)
def test_a_validator_that_cannot_be_set_up_is_refused_when_the_check_is_built(
    validator: str, arguments: str, reason: str
) -> None:
    with pytest.raises(ValidatorUnavailableError) as caught:
        ValidatorCheck(rule_from_yaml(validator, arguments))
    assert caught.value.rule_id == "the-rule"
    assert reason in caught.value.reason
    assert str(caught.value).startswith("rule 'the-rule': guardrails-ai validator unavailable: ")


def test_without_guardrails_ai_the_check_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "guardrails", None)
    with pytest.raises(ValidatorUnavailableError) as caught:
        ValidatorCheck(rule_from_yaml(f"{HERE}:BannedWords", "{words: [a]}"))
    assert caught.value.rule_id == "the-rule"
    assert "guardrails-ai is not installed" in caught.value.reason
    assert "pip install 'proctor[guardrails]'" in caught.value.reason


def test_validators_run_locally_even_when_the_rc_file_asks_for_remote_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".guardrailsrc").write_text("enable_metrics=true\nuse_remote_inferencing=true\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    from guardrails import Guard

    Guard()  # every Guard re-reads the rc file
    check = ValidatorCheck(rule_from_yaml(f"{HERE}:InferenceProbe"))
    assert check.check("hello") == [ValidatorBreach(0, 5, "ran locally")]
