from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators import PatternError, SessionEvaluator, compile_policy
from evaluators.lexical import LexicalPattern, Lexicon
from evaluators.phrases import phrase_expression
from policies import parse_policy

POLICY = """\
policy: t
version: 1
guardrails:
  - id: no-guarantee
    match: {phrases: ["guarantee*", "risk-free", "can't lose"]}
  - id: no-side-effects
    match:
      phrases: [no side effects]
      regex: ['\\b100 ?% (safe|effective)']
  - id: quoted-ok
    match: {phrases: [miracle]}
    quotation: flag_quoted
  - id: negated-ok
    match: {phrases: [cure]}
    negation: flag_negated
"""


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return compile_policy(parse_policy(POLICY))


def rules_fired(plan, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    outcome = SessionEvaluator(plan).final("u", text)
    return [finding.rule_id for finding in outcome.new_findings]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I guarantee it", ["no-guarantee"]),
        ("It's GUARANTEED to work", ["no-guarantee"]),
        ("this is risk free", ["no-guarantee"]),
        ("you can\u2019t lose", ["no-guarantee"]),
        ("there are no  side-effects", ["no-side-effects"]),
        ("it is 100% effective", ["no-side-effects"]),
        ("the guarantor signed", []),
        ("it is risk-freedom", []),
    ],
)
def test_phrase_matching(plan, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I can't guarantee returns",
        "I cannot guarantee anything",
        "there is no guarantee",
        "nobody can call it risk-free",
        "I would never say it is risk-free",
        "It isn't risk-free",
        'the brochure said "guaranteed income" and that was wrong',
        "the flyer said \u201crisk-free\u201d, which it is not",
    ],
)
def test_negated_or_quoted_mentions_do_not_fire(plan, text: str) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Don't worry, it's risk-free",
        "no doubt it's guaranteed",
        "not only is it risk-free but cheap",
        'I said "fine" and I guarantee it',
    ],
)
def test_negation_in_another_clause_or_affirming_idiom_still_fires(plan, text: str) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, text) == ["no-guarantee"]


def test_rule_level_overrides_of_negation_and_quotation(plan) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, 'they call it a "miracle"') == ["quoted-ok"]
    assert rules_fired(plan, "it won't cure anything") == ["negated-ok"]


def test_phrase_split_across_partials_fires_when_it_completes(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    assert evaluator.partial("u", 0, "there are no si") == []
    assert evaluator.partial("u", 1, "there are no side eff") == []
    # the last word is complete only once the next character shows the word has ended
    assert evaluator.partial("u", 2, "there are no side effects") == []
    fired = evaluator.partial("u", 3, "there are no side effects at")
    assert [(f.rule_id, f.quote, f.revision) for f in fired] == [
        ("no-side-effects", "no side effects", 3)
    ]


def test_open_ended_phrase_fires_without_waiting(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    fired = evaluator.partial("u", 0, "I guarantee")
    assert [f.rule_id for f in fired] == ["no-guarantee"]


def test_same_finding_never_raised_twice_for_one_utterance(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    raised = []
    text = ""
    for word in ["honestly", "I", "guarantee", "guaranteed", "results"]:
        text = f"{text} {word}".strip()
        raised += evaluator.partial("u", len(raised) + len(text), text)
    outcome = evaluator.final("u", text)
    raised += outcome.new_findings
    assert [f.finding_id for f in raised] == ["no-guarantee@u#0", "no-guarantee@u#1"]
    assert outcome.retracted == []


def test_revision_that_shifts_text_does_not_duplicate(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    first = evaluator.partial("u", 0, "I guarantee it")
    revised = evaluator.partial("u", 1, "Well I really guarantee it")
    assert len(first) == 1 and revised == []
    assert evaluator.final("u", "Well I really guarantee it").new_findings == []


def test_revision_that_removes_the_phrase_retracts_the_flag(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    assert len(evaluator.partial("u", 0, "it's risk-free and")) == 1
    outcome = evaluator.final("u", "it's risky and volatile")
    assert [f.rule_id for f in outcome.retracted] == ["no-guarantee"]
    assert evaluator.findings == []


def test_stale_revision_is_ignored(plan) -> None:  # type: ignore[no-untyped-def]
    evaluator = SessionEvaluator(plan)
    evaluator.partial("u", 5, "hello there")
    assert evaluator.partial("u", 4, "I guarantee it") == []


def test_non_ascii_text_reports_character_offsets(plan) -> None:  # type: ignore[no-untyped-def]
    text = "Café owners: I guarantee it"
    (finding,) = SessionEvaluator(plan).final("u", text).new_findings
    assert finding.span is not None
    assert text[finding.span.start : finding.span.end] == "guarantee"


def test_uncompilable_regex_names_rule_and_pattern() -> None:
    policy = parse_policy(
        "policy: t\nversion: 1\nguardrails:\n  - id: bad\n    match: {regex: ['(?<=x)y', 'ok']}\n"
    )
    with pytest.raises(PatternError) as caught:
        compile_policy(policy)
    assert caught.value.pattern.rule_id == "bad"
    assert caught.value.pattern.index == 0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_streaming_finds_exactly_what_one_block_scan_finds(text: str) -> None:
    words = ["guarantee", "risk-free", "no side effects"]
    lexicon = Lexicon([LexicalPattern("r", "phrases", i, w, False) for i, w in enumerate(words)])
    sample = f"{text} guarantee {text} no side effects{text}"
    whole = lexicon.open_scanner()
    whole.feed(sample)
    whole.close()
    streamed = lexicon.open_scanner()
    for cut in range(1, len(sample) + 1, 3):
        streamed.feed(sample[:cut])
    streamed.feed(sample)
    streamed.close()
    assert sorted(whole.hits, key=repr) == sorted(streamed.hits, key=repr)


def test_phrase_expression_shapes() -> None:
    assert phrase_expression("guarantee*") == r"\bguarantee\w*"
    assert phrase_expression("risk-free") == r"\brisk[\s\-]+free\b"
    assert phrase_expression("100%") == r"\b100%"
    with pytest.raises(ValueError, match="no words"):
        phrase_expression(" - ")


@pytest.mark.parametrize(
    "text",
    [
        "Don't worry it is risk-free",
        "Without doubt it is risk-free",
        "You can't believe how risk-free",
    ],
)
def test_reassuring_idioms_are_not_negations(plan, text: str) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, text) == ["no-guarantee"]


@pytest.mark.parametrize("text", ["I refused to call it risk-free", "we avoided any guarantee"])
def test_inflected_negating_verbs(plan, text: str) -> None:  # type: ignore[no-untyped-def]
    assert rules_fired(plan, text) == []


def test_scanners_of_one_lexicon_can_run_in_many_threads_at_once() -> None:
    """The service drives sessions from a thread pool: each thread needs its own scratch."""
    from concurrent.futures import ThreadPoolExecutor

    words = ["guarantee", "risk free", "no side effects"]
    lexicon = Lexicon([LexicalPattern("r", "phrases", i, w, False) for i, w in enumerate(words)])
    text = "I guarantee it is risk free and has no side effects at all "

    def speak(_: int) -> int:
        found = 0
        for _ in range(50):
            scanner = lexicon.open_scanner()
            for end in range(1, len(text) + 1):
                scanner.feed(text[:end])
            scanner.close()
            found += len(scanner.hits)
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(speak, range(16))) == [150] * 16
