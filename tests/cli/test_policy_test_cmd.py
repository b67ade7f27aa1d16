"""`proctor policy test`: a readable report, exit 0 when every fixture passes, 1 on any
mismatch, 2 on invalid input; the sample packs' own fixtures all pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from policies import pack_path

POLICY = """\
policy: fund-call
version: 1
knowledge_base: fund-facts
guardrails:
  - id: no-guarantees
    severity: critical
    match: {phrases: [guarantee*]}
  - id: capital-at-risk
    kind: required_disclosure
    match: {phrases: [capital is at risk]}
  - id: no-identifiers
    kind: pii
    entities: [EMAIL]
rubric:
  pass_mark: 0.7
  criteria:
    - {id: all, weight: 1, from_guardrails: [no-guarantees, capital-at-risk, no-identifiers]}
  blockers: [no-guarantees]
"""
CLEAN = """\
name: A careful call
transcript:
  - persona: Could I lose money?
  - learner: Yes, your capital is at risk, and I can't guarantee a return.
expect:
  passed: true
"""
GUARANTEE = """\
name: A guarantee fails the call
transcript:
  - learner: Your capital is at risk, but I guarantee you'll be fine.
expect:
  passed: false
  findings:
    - {rule: no-guarantees, turn: 1, quote: guarantee}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_policy(folder: Path, **fixtures: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "policy.yaml").write_text(POLICY)
    (folder / "tests").mkdir(exist_ok=True)
    for name, text in fixtures.items():
        (folder / "tests" / f"{name}.yaml").write_text(text)
    return folder / "policy.yaml"


def test_all_fixtures_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "fund", clean=CLEAN, guarantee=GUARANTEE)
    code, out, err = run(["policy", "test", str(policy)], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"fund-call v1: 2 fixtures from {tmp_path / 'fund' / 'tests'}"
    assert "✓ A careful call  (clean.yaml)" in lines
    assert "✓ A guarantee fails the call  (guarantee.yaml)" in lines
    assert "coverage: never exercised (no fixture expects them to fire):" in lines
    assert lines[-3:] == [
        "  rule capital-at-risk",
        "  rule no-identifiers",
        "2 fixtures: 2 passed, 0 failed",
    ]


def test_a_mismatch_is_detailed_under_its_fixture_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = GUARANTEE.replace("passed: false", "passed: true").replace(
        "turn: 1, quote: guarantee", "turn: 1, quote: promise"
    )
    policy = write_policy(tmp_path / "fund", clean=CLEAN, wrong=wrong)
    code, out, _ = run(["policy", "test", str(tmp_path / "fund")], capsys)
    assert code == 1
    lines = out.splitlines()
    failed = lines.index("✗ A guarantee fails the call  (wrong.yaml)")
    assert lines[failed + 1 : failed + 3] == [
        '    no-guarantees fired quoting "guarantee", not "promise" (phrase "guarantee*")',
        "    expected the session to pass; it failed (score 0.6667 is below the pass mark 0.7; "
        "blocker breached: no-guarantees)",
    ]
    assert lines[-1] == "2 fixtures: 1 passed, 1 failed"
    assert policy.is_file()


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "fund", guarantee=GUARANTEE)
    code, out, _ = run(["policy", "test", str(policy), "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["passed"] is True
    assert report["coverage"]["unexercised_rules"] == ["capital-at-risk", "no-identifiers"]
    (result,) = report["fixtures"]
    assert [(f["rule"], f["turn"], f["quote"]) for f in result["findings"]] == [
        ("no-guarantees", 1, "guarantee")
    ]


def test_fixture_errors_are_located_file_by_file_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = GUARANTEE.replace("- learner:", "- lerner:")
    late = CLEAN.replace(
        "passed: true", "passed: true\n  findings: [{rule: no-guarantees, turn: 3}]"
    )
    policy = write_policy(tmp_path / "fund", a_late=late, b_typo=typo)
    code, out, err = run(["policy", "test", str(policy)], capsys)
    assert code == 2 and out == ""
    folder = tmp_path / "fund" / "tests"
    assert err.splitlines() == [
        f"error: {folder / 'a_late.yaml'}:7:42: expect.findings[0].turn: turn 3 is beyond the "
        "transcript, which has 1 learner turn",
        f"error: {folder / 'b_typo.yaml'}:3:5: transcript[0].lerner: unknown field `lerner`",
    ]


def test_a_fixture_naming_an_unknown_rule_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = GUARANTEE.replace("rule: no-guarantees", "rule: no-guarantee")
    write_policy(tmp_path / "fund", unknown=unknown)
    code, _, err = run(["policy", "test", str(tmp_path / "fund")], capsys)
    assert code == 2
    assert (
        "unknown.yaml:7:14: expect.findings[0].rule: the policy has no rule 'no-guarantee'" in err
    )


def test_an_invalid_policy_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "fund", clean=CLEAN)
    policy.write_text(POLICY.replace("severity: critical", "severity: severe"))
    code, out, err = run(["policy", "test", str(policy)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {policy}:6:15: guardrails[0].severity:")


def test_no_fixtures_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "fund")
    code, _, err = run(["policy", "test", str(policy)], capsys)
    assert code == 2
    assert f"{tmp_path / 'fund' / 'tests'}: no fixture files" in err


def test_one_fixture_file_can_be_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path / "fund", clean=CLEAN, guarantee=GUARANTEE)
    single = tmp_path / "fund" / "tests" / "clean.yaml"
    code, out, _ = run(["policy", "test", str(policy), "--fixtures", str(single)], capsys)
    assert code == 0
    assert out.splitlines()[-1] == "1 fixture: 1 passed, 0 failed"


def test_grounding_without_a_knowledge_base_fails_the_fixture_and_says_why(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pharma = pack_path("pharma")
    fixture = pharma / "tests" / "wrong-trial-figures.yaml"
    code, out, _ = run(["policy", "test", str(pharma), "--fixtures", str(fixture)], capsys)
    assert code == 1
    (skipped,) = [line for line in out.splitlines() if line.startswith("not evaluated: ")]
    assert {"label-consistency", "persona-grounding"} <= set(skipped[15:].split(", "))
    assert (
        '    expected label-consistency at turn 2 quoting "20 mmHg", but label-consistency '
        "was not evaluated: knowledge base 'velmora-label' is empty or missing (pass --kb-docs "
        "PATH, or run `proctor kb ingest DIR --name velmora-label`)"
    ) in out.splitlines()


def test_unreadable_kb_docs_exit_2(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pharma = pack_path("pharma")
    missing = tmp_path / "label.md"
    code, out, err = run(["policy", "test", str(pharma), "--kb-docs", str(missing)], capsys)
    assert code == 2 and out == ""
    assert err.strip() == f"error: --kb-docs: {missing}: no such file or directory"


@pytest.mark.parametrize(
    ("pack", "documents"),
    [
        ("pharma", ["velmora-label.md"]),
        ("investment", []),
        ("service", ["complaints-procedure.md"]),
    ],
)
def test_every_sample_pack_passes_its_own_fixtures(
    pack: str, documents: list[str], proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = pack_path(pack)
    kb_docs = [arg for name in documents for arg in ("--kb-docs", str(folder / name))]
    code, out, err = run(["policy", "test", str(folder / "policy.yaml"), *kb_docs], capsys)
    assert code == 0, out + err
    assert "coverage: every rule and objective is expected to fire in some fixture" in out
    assert "not evaluated" not in out and FAIL not in out


FAIL = "✗"
