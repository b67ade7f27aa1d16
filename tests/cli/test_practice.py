from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from policies import pack_path

GP_VISIT = pack_path("pharma") / "gp_visit.yaml"


def typed(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    feed: Iterator[str] = iter(lines)

    def fake_input(prompt: str = "") -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)


def test_interactive_practice_answers_flags_scores_and_verifies(
    proctor_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed(
        monkeypatch,
        [
            "How are you treating hypertension at the moment?",
            "It is great for migraine too.",
            "/end",
            "never read",
        ],
    )
    code = main(["practice", "--scenario", str(GP_VISIT), "--out", str(proctor_home / "b")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Dr Amira Shah: I have about five minutes" in out
    assert "ACE inhibitor" in out
    assert "no-off-label" in out and "Is that in the label?" in out
    assert "Scorecard:" in out and "verification: OK" in out
    assert "never read" not in out


def test_scripted_practice_and_end_of_input(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "lines.txt"
    script.write_text("# comment\nGood morning doctor, thanks for seeing me.\n\n")
    code = main(["practice", "--scenario", str(GP_VISIT), "--script", str(script)])
    out = capsys.readouterr().out
    assert code == 0
    assert "learner: Good morning doctor" in out
    assert "Dr Amira Shah: Morning. Let's keep it brief." in out


def test_broken_scenario_is_a_located_error(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "policy.yaml").write_text((pack_path("pharma") / "policy.yaml").read_text())
    text = GP_VISIT.read_text().replace("after_intent: efficacy", "after_intent: efficacyy")
    text = text.replace("  no-off-label:", "  no-offlabel:")
    (folder / "s.yaml").write_text(text.replace("documents: [velmora-label.md]", "documents: []"))
    code = main(["practice", "--scenario", str(folder / "s.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "objections[0].after_intent: unknown intent 'efficacyy'" in err
    assert "reactions.no-offlabel: the policy has no rule 'no-offlabel'" in err
    assert "Traceback" not in err


def test_missing_script_is_a_clear_error(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["practice", "--scenario", str(GP_VISIT), "--script", str(tmp_path / "no.txt")])
    assert code == 2
    assert "no.txt: cannot read" in capsys.readouterr().err
