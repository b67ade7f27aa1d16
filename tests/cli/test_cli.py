from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from cli.main import main
from policies import load_policy, pack_path

PHARMA = pack_path("pharma")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lint_accepts_the_sample_packs(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(pack_path(p) / "policy.yaml") for p in ("pharma", "investment")]
    code, out, err = run(["policy", "lint", *files], capsys)
    assert code == 0, err
    assert "pharma-detailing-us v1" in out and "digest " in out


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
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
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


def test_evaluate_compliant_transcript_passes(capsys: pytest.CaptureFixture[str]) -> None:
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


def test_demo_end_to_end_through_the_console_script(tmp_path: Path) -> None:
    """The demo path as a user runs it: a real process, a real home, a real bundle."""
    proctor = Path(sys.executable).with_name("proctor")
    env = {**os.environ, "PROCTOR_HOME": str(tmp_path / "home")}
    bundle = tmp_path / "bundle"
    demo = subprocess.run(
        [str(proctor), "demo", "--out", str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "FLAG (live, word" in out and "no-safety-minimisation" in out
    assert "21 CFR 202.1(e)(6)" in out
    assert "Scorecard:" in out and "FAILED" in out
    assert "verification: OK" in out
    key = tmp_path / "home" / "keys" / "audit-signing.key"
    assert key.stat().st_mode & 0o777 == 0o600

    verify = subprocess.run(
        [str(proctor), "audit", "verify", str(bundle)], env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stderr

    records = bundle / "log" / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    records.write_bytes(b"".join(lines[:3] + lines[4:]))
    tampered = subprocess.run(
        [str(proctor), "audit", "verify", str(bundle)], env=env, capture_output=True, text=True
    )
    assert tampered.returncode != 0
    assert "FAILED" in tampered.stderr

    default = subprocess.run(
        [str(proctor), "demo"], env=env, capture_output=True, text=True, timeout=120
    )
    assert default.returncode == 0, default.stderr
    assert f"Evidence bundle: {tmp_path / 'home' / 'bundles'}" in default.stdout


def test_verify_json_report_names_the_broken_record(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    assert run(["demo", "--out", str(bundle)], capsys)[0] == 0
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
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    assert run(["demo", "--out", str(bundle)], capsys)[0] == 0
    (keyid,) = [path.stem for path in (bundle / "keys").glob("*.json")]
    assert run(["audit", "verify", str(bundle), "--trusted-key", keyid], capsys)[0] == 0
    code, _, err = run(["audit", "verify", str(bundle), "--trusted-key", "0" * 64], capsys)
    assert code == 1 and "key-untrusted" in err
