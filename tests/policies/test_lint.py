"""`proctor policy lint` finds the settings a valid policy gets wrong, located and with a level;
warnings do not fail lint unless --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from cli.policy_cmd import lint_file, scenario_limits
from policies import pack_path
from policies.documents import parse_yaml
from policies.lint import ScenarioLimit, lint_policy
from policies.loading import policy_from_document

HEAD = "policy: demo\nversion: 1\n"


def lint(text: str, scenarios: list[ScenarioLimit] | None = None) -> list[tuple[str, int, str]]:
    """(level, line, "field: message") of every issue found in a policy written inline."""
    document = parse_yaml(HEAD + text, "p.yaml")
    policy = policy_from_document(document)
    return [
        (item.level.value, item.issue.line, f"{item.issue.field}: {item.issue.message}")
        for item in lint_policy(document, policy, scenarios or [])
    ]


@pytest.mark.parametrize("pack", ["pharma", "investment", "service"])
def test_the_sample_packs_lint_clean(pack: str) -> None:
    policy, issues = lint_file(pack_path(pack) / "policy.yaml")
    assert policy is not None and issues == []


def test_redact_on_a_rule_that_finds_no_personal_data() -> None:
    found = lint(
        """\
guardrails:
  - id: no-guarantees
    match: {phrases: [guarantee*]}
    on_violation: [coach, redact]
  - id: no-ids
    kind: pii
    entities: [EMAIL]
    on_violation: [redact]
"""
    )
    assert found == [
        (
            "warning",
            6,
            "guardrails[0].on_violation: `redact` has no effect on a lexical rule: only pii "
            "rules find personal data to redact",
        )
    ]


def test_escalation_on_a_severity_the_rule_never_has_is_an_error() -> None:
    found = lint(
        """\
guardrails:
  - id: tone
    severity: warning
    match: {phrases: [calm down]}
escalation:
  - when: {rule: tone, severity: critical}
    do: [review]
"""
    )
    assert found == [
        (
            "error",
            8,
            "escalation[0].when.severity: rule 'tone' has severity warning, below critical: "
            "this escalation never fires",
        )
    ]


def test_escalation_on_a_severity_no_rule_reaches() -> None:
    found = lint(
        """\
guardrails:
  - id: tone
    match: {phrases: [calm down]}
escalation:
  - when: {severity: critical}
    do: [{notify: compliance}]
  - when: {severity: violation}
    do: [review]
"""
    )
    assert found == [
        (
            "warning",
            7,
            "escalation[0].when.severity: no rule is critical or above (the highest is "
            "violation): this escalation never fires",
        )
    ]


def test_counting_a_once_per_session_rule_past_one_is_unreachable() -> None:
    found = lint(
        """\
guardrails:
  - id: risk-warning
    kind: required_disclosure
    match: {phrases: [capital is at risk]}
escalation:
  - when: {rule: risk-warning, count: 2}
    do: [end_session]
"""
    )
    assert [(level, line) for level, line, _ in found] == [("error", 8)]
    assert "raises at most one finding per session, so a count of 2" in found[0][2]


def test_escalating_on_a_persona_rule_is_flagged() -> None:
    found = lint(
        """\
knowledge_base: label
guardrails:
  - id: persona-figures
    kind: grounding
    applies_to: persona
    on_violation: []
escalation:
  - when: {rule: persona-figures}
    do: [end_session]
"""
    )
    assert found == [
        (
            "warning",
            10,
            "escalation[0].when.rule: rule 'persona-figures' checks the persona's lines: this "
            "escalation acts on what the simulated persona says, never on the learner",
        )
    ]


def test_persona_rules_should_neither_coach_nor_score() -> None:
    found = lint(
        """\
knowledge_base: label
guardrails:
  - id: persona-figures
    kind: grounding
    applies_to: persona
rubric:
  pass_mark: 0.5
  criteria:
    - {id: accuracy, weight: 1, from_guardrails: [persona-figures]}
"""
    )
    assert [(level, line, text.split(":")[0]) for level, line, text in found] == [
        ("warning", 5, "guardrails[0]"),  # no on_violation written: the default [coach]
        ("warning", 11, "rubric.criteria[0].from_guardrails[0]"),
    ]
    assert "coach the learner for what the persona said" in found[0][2]


def test_a_critical_rule_that_nobody_hears_about() -> None:
    silent = """\
guardrails:
  - id: no-ids
    kind: pii
    severity: critical
    entities: [EMAIL]
    on_violation: []
"""
    (found,) = lint(silent)
    assert found[:2] == ("warning", 8)
    assert "nobody is coached or told" in found[2]
    assert lint(silent + "escalation:\n  - when: {severity: critical}\n    do: [review]\n") == []


def test_rubric_contradictions() -> None:
    found = lint(
        """\
guardrails:
  - id: a
    match: {phrases: [alpha]}
  - id: b
    match: {phrases: [beta]}
  - id: c
    severity: critical
    match: {phrases: [gamma]}
  - id: d
    severity: info
    match: {phrases: [delta]}
rubric:
  pass_mark: 0.8
  criteria:
    - {id: claims, weight: 0.3, from_guardrails: [a, a]}
    - {id: claims, weight: 0.3, from_guardrails: [b]}
  blockers: [c, c]
"""
    )
    assert found == [
        ("error", 18, "rubric.criteria[1].id: duplicate criterion id 'claims'"),
        (
            "warning",
            15,
            "rubric.pass_mark: the weights add up to 0.6, less than the pass mark 0.8: added "
            "up, no session could pass. Proctor divides by the total weight (a clean session "
            "scores 1), so this works, but weights adding up to 1 say what you mean",
        ),
        (
            "warning",
            17,
            "rubric.criteria[0].from_guardrails[1]: rule 'a' is listed twice in this "
            "criterion, so it counts double",
        ),
        (
            "warning",
            19,
            "rubric.blockers[0]: blocker 'c' is in no criterion: a breach fails the session, "
            "yet no criterion's score or evidence shows it",
        ),
        ("warning", 19, "rubric.blockers[1]: 'c' is listed twice"),
    ]


def test_a_scored_policy_flags_serious_rules_it_never_counts() -> None:
    found = lint(
        """\
guardrails:
  - id: a
    match: {phrases: [alpha]}
  - id: b
    match: {phrases: [beta]}
  - id: hint
    severity: info
    match: {phrases: [um]}
rubric:
  pass_mark: 0
  criteria:
    - {id: claims, weight: 1, from_guardrails: [a]}
"""
    )
    assert found == [
        (
            "warning",
            6,
            "guardrails[1].id: violation rule 'b' is in no criterion and is not a blocker: its "
            "breaches never change the score or the verdict",
        ),
        ("warning", 12, "rubric.pass_mark: a pass mark of 0 with no blockers passes every session"),
    ]


def test_deadlines_beyond_the_scenarios_played_under_the_policy() -> None:
    text = """\
guardrails:
  - id: risk-warning
    kind: required_disclosure
    match: {phrases: [capital is at risk]}
    by_turn: 6
"""
    assert lint(text) == []
    assert lint(text, [ScenarioLimit("short", 4), ScenarioLimit("long", 10)]) == [
        (
            "warning",
            7,
            "guardrails[0].by_turn: turn 6 is beyond scenario 'short', which ends after 4 "
            "learner turns: there the deadline is the end of the session",
        )
    ]


def test_other_settings_that_cannot_take_effect() -> None:
    found = lint(
        """\
guardrails:
  - id: figures
    kind: grounding
    on_violation: []
  - id: risk-warning
    kind: required_disclosure
    match: {phrases: [capital at risk, Capital at risk]}
    on_violation: [end_session]
"""
    )
    assert [(line, text.split(":")[0]) for _, line, text in found] == [
        (5, "guardrails[0].kind"),
        (9, "guardrails[1].match.phrases[1]"),
        (10, "guardrails[1].on_violation"),
    ]
    assert "names no `knowledge_base`" in found[0][2]
    assert "'Capital at risk' is listed twice" in found[1][2]
    assert "without `by_turn`" in found[2][2]


def test_scenarios_beside_the_pharma_policy_are_found() -> None:
    assert scenario_limits(pack_path("pharma") / "policy.yaml") == [ScenarioLimit("gp-visit", 10)]


# --- the command ------------------------------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_duplicate_rule_ids_are_errors_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        HEAD + "guardrails:\n"
        "  - id: a\n    match: {phrases: [x]}\n"
        "  - id: a\n    match: {phrases: [y]}\n"
    )
    code, _, err = run(["policy", "lint", str(path)], capsys)
    assert code == 2
    assert err.splitlines() == [f"error: {path}:6:9: guardrails[1].id: duplicate rule id 'a'"]


def test_count_rule_with_max_zero_and_a_minimum_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        HEAD + "guardrails:\n"
        "  - id: mentions\n    kind: count\n    match: {phrases: [x]}\n    max: 0\n    min: 1\n"
    )
    code, _, err = run(["policy", "lint", str(path)], capsys)
    assert code == 2
    assert f"error: {path}:4:5: guardrails[0]: `min` (1) is above `max` (0)" in err


def test_warnings_print_but_fail_only_with_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + "guardrails:\n  - id: a\n    match: {phrases: [x, x]}\n")
    code, out, err = run(["policy", "lint", str(path)], capsys)
    assert code == 0
    assert f"warning: {path}:5:26: guardrails[0].match.phrases[1]: 'x' is listed twice" in err
    assert "ok — demo v1, 1 rules" in out and out.rstrip().endswith(", 1 warning")
    code, out, err = run(["policy", "lint", "--strict", str(path)], capsys)
    assert code == 2 and out == "" and "warning:" in err


def test_errors_fail_lint_and_come_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        HEAD + "guardrails:\n  - id: a\n    severity: info\n    match: {phrases: [x, x]}\n"
        "escalation:\n  - when: {rule: a, severity: warning}\n    do: [review]\n"
    )
    code, out, err = run(["policy", "lint", str(path)], capsys)
    assert code == 2 and out == ""
    assert [line.split(":")[0] for line in err.splitlines()] == ["error", "warning"]
