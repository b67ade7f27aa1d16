"""`proctor audit erase --learner ID`: erases via the CLI, reports clearly, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import SigningKey, SQLiteRecordStore, verify_bundle
from cli.home import ProctorHome
from cli.main import main
from policies.models import Speaker
from tests.audit.sessions import BREACH, GOOD, LEARNER, record_session


def test_erase_then_export_verifies(
    proctor_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ProctorHome.from_environment().ensure()
    key = SigningKey.load_or_create(home.signing_key)
    with SQLiteRecordStore(home.audit_db) as store:
        record_session(
            store, key, [(Speaker.learner, GOOD), (Speaker.learner, BREACH)], session_id="s1"
        )

    assert main(["audit", "erase", "--learner", LEARNER, "--reason", "request 7"]) == 0
    out = capsys.readouterr().out
    assert f"learner {LEARNER}: erased" in out and "1 of 1 session(s)" in out
    with SQLiteRecordStore(home.audit_db) as store:
        assert store.content_rows("s1") == []

    assert main(["audit", "erase", "--learner", LEARNER]) == 0
    assert "no stored text left to erase" in capsys.readouterr().out

    assert main(["audit", "export", "--out", str(tmp_path / "bundle")]) == 0
    assert verify_bundle(tmp_path / "bundle").ok


def test_unknown_learner_and_missing_log_are_clear_errors(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "erase", "--learner", "nobody"]) == 1
    assert "error: no audit log at" in capsys.readouterr().err
    home = ProctorHome.from_environment().ensure()
    key = SigningKey.load_or_create(home.signing_key)
    with SQLiteRecordStore(home.audit_db) as store:
        record_session(store, key, [(Speaker.learner, GOOD)], session_id="s1")
    assert main(["audit", "erase", "--learner", "nobody"]) == 1
    err = capsys.readouterr().err
    assert "error: no session of learner 'nobody'" in err and "Traceback" not in err
