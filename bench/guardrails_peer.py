"""The peer for the latency bench: a policy's lexical and PII rules as one guardrails-ai Guard.

This is what a team using guardrails-ai would write for the same rules without Proctor: one
validator per lexical rule, matching its phrases and regexes with Python `re`, and one
personal-data validator made of plain regular expressions (no checksum, region or context
checks, which is what Proctor's own detector adds). Every validator runs with
`on_fail="noop"` so that one `guard.validate` call reports every breach, as Proctor does.

Run: `python -m bench.guardrails_peer` prints per-call latency over the pharma pack's
transcript lines; bench/latency.py imports `build_guard` and `time_guard` for its ratio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from evaluators.adapters.guardrails_ai import configure_guardrails_offline

configure_guardrails_offline()  # before any Guard or validator exists

from guardrails import Guard, Validator, register_validator  # noqa: E402
from guardrails_ai.types import ErrorSpan, FailResult, PassResult  # noqa: E402

from bench.machine import machine, percentile  # noqa: E402
from engine.transcripts import load_transcript  # noqa: E402
from policies import LexicalRule, PiiEntity, PiiRule, Policy, load_policy, pack_path  # noqa: E402

ROUNDS = 200

PII_PATTERNS: dict[PiiEntity, str] = {
    PiiEntity.US_SSN: r"\b\d{3}-\d{2}-\d{4}\b",
    PiiEntity.CREDIT_CARD: r"\b(?:\d[ -]?){12,18}\d\b",
    PiiEntity.EMAIL: r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b",
    PiiEntity.PHONE: r"(?<!\d)(?:\+?1[-. ]?)?(?:\(\d{3}\)|\d{3})[-. ]?\d{3}[-. ]?\d{4}(?!\d)",
    PiiEntity.IBAN: r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
    PiiEntity.DATE_OF_BIRTH: (
        r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"
        r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b"
    ),
}


def phrase_regex(phrase: str) -> str:
    """Whole words, any white space between them, a trailing `*` for any word ending."""
    open_ended = phrase.endswith("*")
    words = phrase.rstrip("*").split()
    body = r"\s+".join(re.escape(word) for word in words)
    return rf"(?<!\w){body}" + (r"\w*" if open_ended else r"(?!\w)")


def _spans(pattern: re.Pattern[str], value: str, label: str) -> Any:
    spans = [
        ErrorSpan(start=found.start(), end=found.end(), reason=label)
        for found in pattern.finditer(value)
    ]
    if not spans:
        return PassResult()
    return FailResult(error_message=f"{label}: {len(spans)} match(es)", error_spans=spans)


@register_validator(name="proctor-peer/regex", data_type="string")
class RegexRule(Validator):
    """Fails text matching any of the patterns; one error span per match."""

    def __init__(
        self, label: str, patterns: list[str], case_sensitive: bool = False, on_fail: Any = None
    ) -> None:
        super().__init__(
            on_fail=on_fail, label=label, patterns=patterns, case_sensitive=case_sensitive
        )
        self.label = label
        flags = 0 if case_sensitive else re.IGNORECASE
        self._pattern = re.compile("|".join(f"(?:{p})" for p in patterns), flags)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return _spans(self._pattern, value, self.label)


@register_validator(name="proctor-peer/pii", data_type="string")
class RegexPii(Validator):
    """Fails text containing anything shaped like the listed kinds of personal data."""

    def __init__(self, label: str, entities: list[str], on_fail: Any = None) -> None:
        super().__init__(on_fail=on_fail, label=label, entities=entities)
        self.label = label
        patterns = [PII_PATTERNS[PiiEntity(entity)] for entity in entities]
        self._pattern = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> Any:
        return _spans(self._pattern, value, self.label)


def build_guard(policy: Policy) -> Guard:
    """One Guard with a validator per lexical rule (phrases and regexes) and per PII rule;
    rules of other kinds have no peer here and are left out."""
    validators: list[Validator] = []
    for rule in policy.guardrails:
        if isinstance(rule, LexicalRule) and (rule.match.phrases or rule.match.regex):
            patterns = [phrase_regex(p) for p in rule.match.phrases] + list(rule.match.regex)
            validators.append(
                RegexRule(rule.id, patterns, rule.match.case_sensitive, on_fail="noop")
            )
        elif isinstance(rule, PiiRule):
            entities = [entity.value for entity in rule.entities]
            validators.append(RegexPii(rule.id, entities, on_fail="noop"))
    if not validators:
        raise ValueError(f"policy {policy.policy!r} has no lexical or PII rule to express")
    return Guard().use(*validators)


def time_guard(guard: Guard, texts: Iterable[str]) -> list[float]:
    """Seconds taken by each `guard.validate(text)`, in the order of `texts`."""
    timings = []
    for text in texts:
        started = time.perf_counter()
        guard.validate(text)
        timings.append(time.perf_counter() - started)
    return timings


def pharma_lines() -> list[str]:
    folder = pack_path("pharma") / "transcripts"
    return [line.text for path in sorted(folder.glob("*.txt")) for line in load_transcript(path)]


def summary_ms(timings: Sequence[float]) -> dict[str, float]:
    milliseconds = [t * 1000 for t in timings]
    return {
        "p50_ms": round(percentile(milliseconds, 0.5), 3),
        "p99_ms": round(percentile(milliseconds, 0.99), 3),
        "max_ms": round(max(milliseconds), 3),
    }


def main() -> None:
    guard = build_guard(load_policy(pack_path("pharma") / "policy.yaml"))
    lines = pharma_lines()
    time_guard(guard, lines)  # warm-up
    timings = [t for _ in range(ROUNDS) for t in time_guard(guard, lines)]
    print(machine())
    print(f"guardrails-ai peer, {len(lines)} lines x {ROUNDS} rounds:", summary_ms(timings))


if __name__ == "__main__":
    main()
