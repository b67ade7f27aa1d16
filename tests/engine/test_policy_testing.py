"""Policy tests: fixtures are parsed with located errors, replayed through a real session, and
every difference from the expectation is reported; coverage names what no fixture exercises."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.policy_test_matching import compare_findings
from engine.policy_test_report import MismatchKind, ObservedFinding, PolicyTestReport
from engine.policy_testing import GroundingKnowledge, run_policy_tests
from evaluators import compile_policy
from evaluators.plan import PolicyPlan
from policies import DocumentError, Policy, Severity, Speaker, parse_policy
from policies.fixtures import ExpectedFinding, LoadedFixture, parse_fixture

POLICY = parse_policy(
    """\
policy: fund-call
version: 1
knowledge_base: fund-facts
guardrails:
  - id: no-guarantees
    severity: critical
    match: {phrases: [guarantee*, risk-free]}
  - id: no-projection
    match: {phrases: [will double]}
  - id: capital-at-risk
    kind: required_disclosure
    match: {phrases: [capital is at risk]}
    by_turn: 2
  - id: no-identifiers
    kind: pii
    entities: [EMAIL]
  - id: figures-match
    kind: grounding
objectives:
  - id: ask-goals
    match: {phrases: [what are you hoping]}
rubric:
  pass_mark: 0.7
  criteria:
    - {id: claims, weight: 0.5, from_guardrails: [no-guarantees, no-projection, figures-match]}
    - {id: risk, weight: 0.3, from_guardrails: [capital-at-risk]}
    - {id: privacy, weight: 0.2, from_guardrails: [no-identifiers]}
  blockers: [no-guarantees]
escalation:
  - when: {rule: no-projection, count: 2}
    do: [end_session]
""",
    "policy.yaml",
)
CLEAN_OPENING = "learner: What are you hoping this money will do? Your capital is at risk."


@pytest.fixture(scope="module")
def plan() -> PolicyPlan:
    return compile_policy(POLICY)


def fixture(body: str, name: str = "case.yaml", policy: Policy = POLICY) -> LoadedFixture:
    return parse_fixture(body, policy, name)


def case(*lines: str, expect: str) -> LoadedFixture:
    transcript = "\n".join(f"  - {line}" for line in lines)
    return fixture(f"name: a case\ntranscript:\n{transcript}\nexpect:\n{expect}")


def run(plan: PolicyPlan, *fixtures: LoadedFixture, **kwargs: object) -> PolicyTestReport:
    return run_policy_tests(plan, list(fixtures), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FakePassage:
    chunk_id: str
    document: str
    section: str
    text: str
    score: float


class FakeKnowledge:
    """Always answers with the factsheet's performance passage."""

    name = "fund-facts"
    digest = "0" * 64

    def search(self, query: str, k: int = 3) -> Sequence[FakePassage]:
        text = "The fund returned 14.2% in 2021 and fell 11.8% in 2022."
        return [FakePassage("facts#1", "factsheet.md", "Past performance", text, 0.9)]


# --- outcomes ---------------------------------------------------------------------------


def test_a_fixture_whose_expectation_holds_passes(plan: PolicyPlan) -> None:
    loaded = case(
        CLEAN_OPENING,
        "persona: I'd like it to grow.",
        "learner: I can't guarantee returns, and it will not double overnight.",
        expect="  passed: true\n  objectives_met: [ask-goals]",
    )
    report = run(plan, loaded)
    (result,) = report.fixtures
    assert report.passed and result.passed, result.mismatches
    assert result.findings == () and result.objectives_met == ("ask-goals",)
    assert result.lines_played == result.lines == 3


def test_expected_findings_match_by_rule_turn_and_quote(plan: PolicyPlan) -> None:
    loaded = case(
        CLEAN_OPENING,
        "learner: It's risk-free, and it will double. Write to me at ann@example.com.",
        expect="""\
  passed: false
  findings:
    - {rule: no-identifiers, turn: 2}
    - {rule: no-guarantees, turn: 2, quote: RISK-FREE}
    - {rule: no-projection}""",
    )
    (result,) = run(plan, loaded).fixtures
    assert result.passed, result.mismatches
    quotes = {finding.rule: finding.quote for finding in result.findings}
    assert quotes["no-guarantees"] == "risk-free"
    assert quotes["no-identifiers"] is not None and "@" in quotes["no-identifiers"]
    assert "ann" not in quotes["no-identifiers"]  # personal data stays masked in the report


def test_missing_and_unexpected_findings_are_both_reported(plan: PolicyPlan) -> None:
    loaded = case(
        CLEAN_OPENING,
        "learner: I guarantee you will be pleased.",
        expect="  passed: false\n  findings:\n    - {rule: no-projection, turn: 2}",
    )
    (result,) = run(plan, loaded).fixtures
    assert not result.passed
    kinds = [mismatch.kind for mismatch in result.mismatches]
    assert kinds == [MismatchKind.missing_finding, MismatchKind.unexpected_finding]
    missing, unexpected = result.mismatches
    assert missing.expected == "no-projection at turn 2"
    assert unexpected.actual is not None and '"guarantee"' in unexpected.actual
    assert "no-guarantees at turn 2" in unexpected.message


def test_a_finding_at_another_turn_or_quote_is_reported_as_misplaced(plan: PolicyPlan) -> None:
    loaded = case(
        CLEAN_OPENING,
        "learner: This one will double.",
        expect="""\
  passed: true
  findings:
    - {rule: no-projection, turn: 1, quote: will triple}""",
    )
    (result,) = run(plan, loaded).fixtures
    (mismatch,) = result.mismatches
    assert mismatch.kind is MismatchKind.misplaced_finding
    assert "at turn 2, not turn 1" in mismatch.message
    assert 'quoting "will double", not "will triple"' in mismatch.message


def test_a_wrong_verdict_says_why_the_session_failed(plan: PolicyPlan) -> None:
    loaded = case(
        CLEAN_OPENING,
        "learner: It's guaranteed.",
        expect="  passed: true\n  findings: [{rule: no-guarantees, turn: 2}]",
    )
    (result,) = run(plan, loaded).fixtures
    (mismatch,) = result.mismatches
    assert mismatch.kind is MismatchKind.verdict
    assert (mismatch.expected, mismatch.actual) == ("passed", "failed")
    assert "blocker breached: no-guarantees" in mismatch.message


def test_a_missed_deadline_is_a_session_level_finding(plan: PolicyPlan) -> None:
    loaded = case(
        "learner: Hello.",
        "learner: Let me tell you about the fund.",
        expect="  passed: true\n  findings: [{rule: capital-at-risk, turn: 2}]",
    )
    (result,) = run(plan, loaded).fixtures
    assert result.passed, result.mismatches
    (finding,) = result.findings
    assert finding.speaker is None and finding.quote is None


def test_the_policy_ending_the_session_must_be_expected(plan: PolicyPlan) -> None:
    lines = (
        CLEAN_OPENING,
        "learner: It will double.",
        "learner: Honestly, it will double again.",
        "learner: This line is never played.",
    )
    findings = (
        "  findings:\n    - {rule: no-projection, turn: 2}\n    - {rule: no-projection, turn: 3}"
    )
    unexpected_end = case(*lines, expect=f"  passed: true\n{findings}")
    expected_end = case(*lines, expect=f"  passed: true\n  ended_by_policy: true\n{findings}")
    first, second = run(plan, unexpected_end, expected_end).fixtures
    (mismatch,) = first.mismatches
    assert mismatch.kind is MismatchKind.ended_by_policy
    assert "line 5" in mismatch.message and "1 later entries were not played" in mismatch.message
    assert second.passed and second.ended_by_policy
    assert (second.lines_played, second.lines) == (3, 4)


def test_an_ending_that_does_not_happen_is_reported(plan: PolicyPlan) -> None:
    loaded = case(CLEAN_OPENING, expect="  passed: true\n  ended_by_policy: true")
    (result,) = run(plan, loaded).fixtures
    (mismatch,) = result.mismatches
    assert mismatch.kind is MismatchKind.ended_by_policy
    assert "ran to the end" in mismatch.message


def test_objectives_met_are_compared_exactly(plan: PolicyPlan) -> None:
    not_met = case(
        "learner: Your capital is at risk.",
        expect="  passed: true\n  objectives_met: [ask-goals]",
    )
    unlisted = case(CLEAN_OPENING, expect="  passed: true\n  objectives_met: []")
    unchecked = case(CLEAN_OPENING, expect="  passed: true")
    first, second, third = run(plan, not_met, unlisted, unchecked).fixtures
    assert [m.message for m in first.mismatches] == [
        "objective ask-goals was expected to be met but was not"
    ]
    assert [m.actual for m in second.mismatches] == ["ask-goals"]
    assert third.passed


# --- knowledge --------------------------------------------------------------------------


GROUNDING_CASE = (
    CLEAN_OPENING,
    "learner: It returned 20% in 2021.",
)
GROUNDING_EXPECT = "  passed: true\n  findings: [{rule: figures-match, turn: 2, quote: 20%}]"


def test_a_rule_without_knowledge_is_not_evaluated_and_says_why(plan: PolicyPlan) -> None:
    loaded = case(*GROUNDING_CASE, expect=GROUNDING_EXPECT)
    grounding = GroundingKnowledge(None, "knowledge base 'fund-facts' is empty or missing")
    (result,) = run(plan, loaded, grounding=grounding).fixtures
    (mismatch,) = result.mismatches
    assert mismatch.kind is MismatchKind.not_evaluated
    assert "figures-match was not evaluated: knowledge base 'fund-facts'" in mismatch.message
    assert result.not_evaluated == ("figures-match",)


def test_grounding_rules_are_judged_against_the_knowledge_given(plan: PolicyPlan) -> None:
    loaded = case(*GROUNDING_CASE, expect=GROUNDING_EXPECT)
    grounding = GroundingKnowledge(FakeKnowledge(), "fake factsheet")
    report = run(plan, loaded, grounding=grounding)
    (result,) = report.fixtures
    assert result.passed, result.mismatches
    assert report.knowledge == "fake factsheet" and result.not_evaluated == ()
    (finding,) = result.findings
    assert "14.2%" in finding.detail


# --- coverage and report ----------------------------------------------------------------


def test_coverage_names_rules_and_objectives_no_fixture_expects(plan: PolicyPlan) -> None:
    guarantees = case(
        CLEAN_OPENING,
        "learner: Guaranteed.",
        expect="  passed: false\n  findings: [{rule: no-guarantees, turn: 2}]",
    )
    report = run(plan, guarantees)
    assert report.coverage.unexercised_rules == (
        "no-projection",
        "capital-at-risk",
        "no-identifiers",
        "figures-match",
    )
    assert report.coverage.unexercised_objectives == ("ask-goals",)
    assert not report.coverage.complete


def test_the_report_is_json_for_ci(plan: PolicyPlan) -> None:
    loaded = case(CLEAN_OPENING, "learner: Guaranteed!", expect="  passed: true")
    report = run(plan, loaded)
    data = json.loads(report.model_dump_json())
    assert data["passed"] is False and data["policy"] == "fund-call"
    assert data["fixtures"][0]["mismatches"][0]["kind"] == "unexpected_finding"
    assert data["fixtures"][0]["findings"][0]["quote"] == "Guaranteed"


# --- the fixture file -------------------------------------------------------------------


def issues_of(body: str) -> list[str]:
    with pytest.raises(DocumentError) as caught:
        fixture(body)
    return [str(issue) for issue in caught.value.issues]


def test_fixture_errors_name_file_line_column_and_field() -> None:
    body = """\
name: broken
transcript:
  - learner: Hello.
  - lerner: Typo in the speaker.
  - {learner: one, persona: two}
  - persona:
expect:
  passed: maybe
"""
    assert issues_of(body) == [
        "case.yaml:4:5: transcript[1].lerner: unknown field `lerner`",
        "case.yaml:5:5: transcript[2]: a line has exactly one speaker: "
        "`learner: …` or `persona: …`",
        "case.yaml:6:5: transcript[3]: `persona` has no text; write what was said",
        "case.yaml:8:11: expect.passed: Input should be a valid boolean",
    ]


def test_fixture_is_checked_against_the_policy() -> None:
    body = """\
name: wrong references
transcript:
  - persona: Hello.
  - learner: Hi.
expect:
  passed: true
  findings:
    - {rule: no-guarantee, turn: 1}
    - {rule: no-projection, turn: 2}
  objectives_met: [ask-goal]
"""
    assert issues_of(body) == [
        "case.yaml:8:14: expect.findings[0].rule: the policy has no rule 'no-guarantee' "
        "(did you mean 'no-guarantees'?)",
        "case.yaml:9:35: expect.findings[1].turn: turn 2 is beyond the transcript, which "
        "has 1 learner turn",
        "case.yaml:10:20: expect.objectives_met[0]: the policy has no objective 'ask-goal' "
        "(did you mean 'ask-goals'?)",
    ]


def test_a_fixture_needs_a_learner_line_and_an_expectation() -> None:
    assert issues_of("name: x\ntranscript:\n  - persona: Hello.\nexpect: {passed: true}\n") == [
        "case.yaml:3:3: transcript: the transcript has no `learner` line: there is nothing to test"
    ]
    assert issues_of("name: x\ntranscript:\n  - learner: Hi.\n") == [
        "case.yaml:1:1: required field `expect` is missing"
    ]


SPEAKERS = st.sampled_from([Speaker.learner, Speaker.persona])
TEXT = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40
).filter(str.strip)


@given(st.lists(st.tuples(SPEAKERS, TEXT), min_size=1, max_size=8))
def test_any_transcript_round_trips_with_its_line_numbers(
    lines: list[tuple[Speaker, str]],
) -> None:
    lines = [(Speaker.learner, "Hello."), *lines]
    transcript = "\n".join(
        f"  - {speaker.value}: {json.dumps(text, ensure_ascii=False)}" for speaker, text in lines
    )
    loaded = fixture(f"name: generated\ntranscript:\n{transcript}\nexpect: {{passed: true}}\n")
    parsed = [(line.speaker, line.text) for line in loaded.fixture.transcript]
    assert parsed == lines
    assert loaded.line_numbers == tuple(range(3, 3 + len(lines)))


@given(
    st.integers(min_value=0, max_value=6),
    st.sampled_from(["Learner", "doctor", "client", "speaker", "text"]),
)
def test_an_unknown_speaker_is_located_on_its_line(position: int, name: str) -> None:
    lines = ["  - learner: Hello."] * 7
    lines[position] = f"  - {name}: Something said."
    body = "name: x\ntranscript:\n" + "\n".join(lines) + "\nexpect: {passed: true}\n"
    with pytest.raises(DocumentError) as caught:
        fixture(body)
    first = caught.value.issues[0]
    assert (first.line, first.column) == (position + 3, 5)
    assert first.field == f"transcript[{position}].{name}"
    assert first.message == f"unknown field `{name}`"


# --- matching ---------------------------------------------------------------------------


OBSERVED = st.builds(
    ObservedFinding,
    rule=st.sampled_from(["a", "b", "c"]),
    turn=st.integers(min_value=0, max_value=4),
    speaker=st.just(Speaker.learner),
    severity=st.just(Severity.violation),
    quote=st.sampled_from(["x", "y", None]),
    detail=st.just("phrase"),
)


def expectation_of(finding: ObservedFinding, precise: bool) -> ExpectedFinding:
    if not precise:
        return ExpectedFinding(rule=finding.rule)
    return ExpectedFinding(rule=finding.rule, turn=finding.turn, quote=finding.quote)


@given(st.lists(st.tuples(OBSERVED, st.booleans()), max_size=8), st.randoms())
def test_expecting_exactly_what_was_raised_never_mismatches(
    pairs: list[tuple[ObservedFinding, bool]], random: Random
) -> None:
    observed = [finding for finding, _ in pairs]
    expected = [expectation_of(finding, precise) for finding, precise in pairs]
    random.shuffle(expected)
    assert compare_findings(expected, observed, {}) == []


@given(st.lists(OBSERVED, min_size=1, max_size=8), st.data())
def test_leaving_out_one_expectation_is_exactly_one_unexpected_finding(
    observed: list[ObservedFinding], data: st.DataObject
) -> None:
    dropped = observed[data.draw(st.integers(min_value=0, max_value=len(observed) - 1))]
    expected = [expectation_of(finding, True) for finding in observed]
    expected.remove(expectation_of(dropped, True))
    (mismatch,) = compare_findings(expected, observed, {})
    assert mismatch.kind is MismatchKind.unexpected_finding
    assert mismatch.actual is not None
    assert mismatch.actual.startswith(f"{dropped.rule} at turn {dropped.turn}")


def test_a_fixture_line_longer_than_an_utterance_may_be_is_a_located_error() -> None:
    from policies import DocumentError, parse_policy
    from policies.fixtures import MAX_LINE_CHARS, parse_fixture

    policy = parse_policy(
        "policy: p\nversion: 1\nguardrails:\n  - id: a\n    match: {phrases: [x]}\n"
    )
    text = (
        "name: too long\ntranscript:\n  - learner: "
        + "a" * (MAX_LINE_CHARS + 1)
        + "\nexpect:\n  passed: true\n"
    )
    with pytest.raises(DocumentError) as raised:
        parse_fixture(text, policy, "long.yaml")
    assert "long.yaml:3" in str(raised.value) and "10000" in str(raised.value)
