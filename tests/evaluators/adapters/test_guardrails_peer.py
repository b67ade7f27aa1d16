"""The latency bench's guardrails-ai peer expresses the same lexical and PII rules."""

from __future__ import annotations

import re

import pytest

from policies import load_policy, pack_path, parse_policy

pytest.importorskip("guardrails")

from guardrails import Guard

from bench.guardrails_peer import build_guard, pharma_lines, phrase_regex, time_guard

POLICY = """\
policy: peer-test
version: 1
guardrails:
  - id: no-safety-minimisation
    match:
      phrases: [risk-free, no side effects]
      regex: ['\\bnever (causes?|had) (any )?(problems|side effects)']
  - id: no-off-label
    match: {phrases: [weight loss]}
  - {id: fair-balance, kind: required_disclosure, match: {phrases: [side effects]}}
  - id: no-overclaiming
    match: {phrases: ["guarantee*"]}
  - {id: figures, kind: grounding}
  - {id: no-patient-data, kind: pii, entities: [US_SSN, EMAIL, PHONE]}
"""


@pytest.fixture(scope="module")
def peer() -> Guard:
    return build_guard(parse_policy(POLICY))


def flagged(guard: Guard, text: str) -> list[tuple[str, str]]:
    outcome = guard.validate(text)
    return sorted(
        (span.reason, text[span.start : span.end])
        for summary in outcome.validation_summaries or []
        for span in summary.error_spans or []
    )


def test_one_validator_per_lexical_and_pii_rule(peer: Guard) -> None:
    names = [validator.label for validator in peer.get_validators("output")]
    assert names == ["no-safety-minimisation", "no-off-label", "no-overclaiming", "no-patient-data"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I guaranteed it, it's risk-free.",
            [("no-overclaiming", "guaranteed"), ("no-safety-minimisation", "risk-free")],
        ),
        ("It never causes any problems", [("no-safety-minimisation", "never causes any problems")]),
        ("Great for weight   loss", [("no-off-label", "weight   loss")]),
        ("Her SSN is 123-45-6789.", [("no-patient-data", "123-45-6789")]),
        ("Mail jo@example.org today", [("no-patient-data", "jo@example.org")]),
        ("It secures a 11 mmHg reduction.", []),
    ],
)
def test_the_peer_flags_what_the_rules_name(
    peer: Guard, text: str, expected: list[tuple[str, str]]
) -> None:
    assert flagged(peer, text) == expected


@pytest.mark.parametrize(
    ("phrase", "text", "matched"),
    [
        ("guarantee*", "We GUARANTEE results", "GUARANTEE"),
        ("no risk*", "there are no  risks", "no  risks"),
        ("100% effective", "it is 100% effective!", "100% effective"),
        ("cures", "it secures funding", None),
    ],
)
def test_phrases_match_whole_words_in_any_case(phrase: str, text: str, matched: str | None) -> None:
    found = re.search(phrase_regex(phrase), text, re.IGNORECASE)
    assert (found.group() if found else None) == matched


def test_a_policy_without_lexical_or_pii_rules_has_no_peer() -> None:
    policy = parse_policy(
        "format: 1\npolicy: only-grounding\nversion: 1\nguardrails:\n"
        "  - {id: figures, kind: grounding}\n"
    )
    with pytest.raises(ValueError, match="no lexical or PII rule"):
        build_guard(policy)


def test_time_guard_gives_one_duration_per_text(peer: Guard) -> None:
    lines = pharma_lines()
    timings = time_guard(peer, lines)
    assert len(timings) == len(lines)
    assert all(seconds > 0 for seconds in timings)


def test_the_pharma_pack_has_a_peer() -> None:
    guard = build_guard(load_policy(pack_path("pharma") / "policy.yaml"))
    assert "no-patient-data" in [validator.label for validator in guard.get_validators("output")]
