from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from cli.main import main
from policies import load_policy, pack_path

PHARMA = pack_path("pharma")
PROCTOR = Path(sys.executable).with_name("proctor")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lint_accepts_the_sample_packs(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(pack_path(p) / "policy.yaml") for p in ("pharma", "investment")]
    code, out, err = run(["policy", "lint", *files], capsys)
    assert code == 0, err
    assert "pharma-detailing-us v2" in out and "digest " in out


def test_lint_reports_every_error_with_location_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "policy: demo\nversion: 1\nguardrails:\n"
        "  - id: a\n    severity: severe\n    match: {phrases: [x]}\n"
        "  - id: b\n    kind: tone\n"
    )
    code, _, err = run(["policy", "lint", str(bad)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"error: {bad}:5:15: guardrails[0].severity: Input should be")
    assert lines[1].startswith(f"error: {bad}:8:11: guardrails[1].kind: unknown rule kind 'tone'")


def test_lint_locates_a_regex_hyperscan_cannot_compile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "regex.yaml"
    bad.write_text(
        "policy: demo\nversion: 1\nguardrails:\n"
        "  - id: r\n    match:\n      regex:\n        - 'fine'\n        - '(a)\\1'\n"
    )
    code, _, err = run(["policy", "lint", str(bad)], capsys)
    assert code == 2
    assert f"{bad}:8:11: guardrails[0].match.regex[1]: cannot compile" in err


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "  - id: a\n    kind: paired_disclosure\n    trigger: {phrases: [x]}\n"
            "    require: {regex: ['(open']}\n",
            "bad.yaml:7:23: guardrails[0].require.regex[0]: cannot compile",
        ),
        (
            "  - id: a\n    match: {phrases: [x]}\nobjectives:\n  - id: o\n"
            "    match: {regex: ['[bad']}\n",
            "bad.yaml:8:21: objectives[0].match.regex[0]: cannot compile",
        ),
    ],
)
def test_lint_locates_bad_patterns_in_every_kind_of_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, expected: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: demo\nversion: 1\nguardrails:\n" + section)
    code, _, err = run(["policy", "lint", str(bad)], capsys)
    assert code == 2
    assert expected in err and "Traceback" not in err


def test_lint_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["policy", "lint", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "file not found" in err


def test_schema_validates_the_sample_policies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "schema"], capsys)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for pack in ("pharma", "investment"):
        document = load_policy(pack_path(pack) / "policy.yaml").model_dump(mode="json")
        assert list(validator.iter_errors(document)) == []
    broken = load_policy(PHARMA / "policy.yaml").model_dump(mode="json")
    broken["guardrails"][0]["severity"] = "severe"
    assert list(validator.iter_errors(broken))


def test_evaluate_writes_findings_and_score(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    code, _, err = run(
        [
            "evaluate",
            "--policy",
            str(PHARMA / "policy.yaml"),
            "--transcript",
            str(PHARMA / "transcripts" / "non_compliant.txt"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    rules = {finding["rule_id"] for finding in result["findings"]}
    assert {"no-safety-minimisation", "no-off-label", "no-patient-data"} <= rules
    assert result["score"]["passed"] is False
    assert len(result["policy"]["digest"]) == 64


def test_evaluate_compliant_transcript_passes(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "evaluate",
            "--policy",
            str(PHARMA / "policy.yaml"),
            "--transcript",
            str(PHARMA / "transcripts" / "compliant.txt"),
        ],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    assert result["findings"] == []
    assert result["score"]["passed"] is True and result["score"]["score"] == 1.0
    assert [d["rule_id"] for d in result["disclosures"]] == ["fair-balance-disclosure"]
    assert [note.split(":")[0] for note in result["not_evaluated"]] == [
        "label-consistency",
        "persona-grounding",
        "no-off-label",
    ]
    assert "matches are flagged" in result["not_evaluated"][2]


def test_evaluate_checks_figures_against_the_ingested_label(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    shutil.copy(PHARMA / "velmora-label.md", kb)
    assert run(["kb", "ingest", str(kb), "--name", "velmora-label"], capsys)[0] == 0
    transcript = tmp_path / "t.txt"
    transcript.write_text(
        "learner: In the trials Velmora lowered systolic blood pressure"
        " by 20 mmHg more than placebo.\n"
    )
    code, out, _ = run(
        ["evaluate", "--policy", str(PHARMA / "policy.yaml"), "--transcript", str(transcript)],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    assert result["not_evaluated"] == []
    (finding,) = [f for f in result["findings"] if f["rule_id"] == "label-consistency"]
    assert finding["quote"] == "20 mmHg"
    assert "11 mmHg" in finding["passage"]["quote"]
    assert finding["passage"]["document"] == "velmora-label.md"


def test_demo_without_out_writes_under_the_home(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["demo", "--pack", "service"], capsys)
    assert code == 0
    assert f"Evidence bundle: {proctor_home / 'bundles'}" in out


def test_evaluate_bad_transcript_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "t.txt"
    bad.write_text("learner: hi\nno speaker here\n")
    code, _, err = run(
        ["evaluate", "--policy", str(PHARMA / "policy.yaml"), "--transcript", str(bad)], capsys
    )
    assert code == 2
    assert f"{bad}:2: expected `speaker: text`" in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """`proctor demo` as a user runs it: a real process, a fresh home, a real bundle."""
    root = tmp_path_factory.mktemp("demo")
    home, bundle = root / "home", root / "bundle"
    env = {**os.environ, "PROCTOR_HOME": str(home)}
    demo = subprocess.run(
        [str(PROCTOR), "demo", "--out", str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    return home, bundle, demo.stdout


def copy_bundle(demo_run: tuple[Path, Path, str], tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo_run[1], tmp_path / "bundle"))


def test_demo_streams_flags_persona_and_scorecard(demo_run: tuple[Path, Path, str]) -> None:
    home, _, out = demo_run
    assert "Dr Amira Shah: I have about five minutes" in out
    assert "FLAG (live, word" in out and "no-safety-minimisation" in out
    assert "21 CFR 202.1(e)(6)" in out
    assert "Dr Amira Shah: Is that in the label?" in out
    assert "label-consistency" in out and "11 mmHg" in out
    assert "Scorecard:" in out and "FAILED" in out
    assert "verification: OK" in out
    key = home / "keys" / "audit-signing.key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_demo_bundle_verifies_and_tampering_fails(
    demo_run: tuple[Path, Path, str], tmp_path: Path
) -> None:
    bundle = copy_bundle(demo_run, tmp_path)
    env = {**os.environ, "PROCTOR_HOME": str(demo_run[0])}
    verify = subprocess.run(
        [str(PROCTOR), "audit", "verify", str(bundle)], env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr
    records = bundle / "log" / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    records.write_bytes(b"".join(lines[:3] + lines[4:]))
    tampered = subprocess.run(
        [str(PROCTOR), "audit", "verify", str(bundle)], env=env, capture_output=True, text=True
    )
    assert tampered.returncode != 0
    assert "FAILED" in tampered.stderr


def test_verify_json_report_names_the_broken_record(
    demo_run: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = copy_bundle(demo_run, tmp_path)
    code, out, _ = run(["audit", "verify", str(bundle), "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True
    records = bundle / "log" / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    records.write_bytes(b"".join(lines))
    code, out, _ = run(["audit", "verify", str(bundle), "--json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    codes = {problem["code"] for problem in report["problems"]}
    assert "file-hash" in codes
    assert any(problem["line"] == 2 for problem in report["problems"])


def test_verify_with_pinned_key(
    demo_run: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = copy_bundle(demo_run, tmp_path)
    (keyid,) = [path.stem for path in (bundle / "keys").glob("*.json")]
    assert run(["audit", "verify", str(bundle), "--trusted-key", keyid], capsys)[0] == 0
    code, _, err = run(["audit", "verify", str(bundle), "--trusted-key", "0" * 64], capsys)
    assert code == 1 and "key-untrusted" in err
