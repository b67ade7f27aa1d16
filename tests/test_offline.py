"""Evaluating a policy, running a session and verifying evidence make no network connection."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from engine import Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from engine.replay import replay_inputs
from engine.transcripts import load_transcript
from policies import load_policy, pack_path
from tests.network import BLOCK_SOCKETS, NetworkAttempted


def test_the_blocker_itself_catches_a_connection(no_network: list[str]) -> None:
    with pytest.raises(NetworkAttempted):
        socket.create_connection(("127.0.0.1", 9))
    assert no_network == ["create_connection()"]


def test_policy_session_audit_and_verify_stay_offline(
    no_network: list[str], tmp_path: Path
) -> None:
    pack = pack_path("pharma")
    plan = plan_policy(load_policy(pack / "policy.yaml"))
    store = SQLiteRecordStore(tmp_path / "audit.sqlite3")
    key = SigningKey.load_or_create(tmp_path / "keys" / "k.pem")
    session = Session(plan, learner="L", recorder=AuditRecorder(AuditLog(store, key)))
    session.start()
    for _, utterance in replay_inputs(load_transcript(pack / "transcripts" / "non_compliant.txt")):
        if session.state.value == "active":
            session.ingest(utterance)
    if session.state.value == "active":
        session.end()
    assert session.findings, "the non-compliant sample must raise findings"
    export_bundle(store, key, tmp_path / "bundle", "offline-test")
    assert verify_bundle(tmp_path / "bundle").ok
    store.close()
    assert no_network == []


BLOCKED_DEMO = BLOCK_SOCKETS + """
import sys
from cli.main import main
code = main(["demo", "--out", sys.argv[1]])
print("ATTEMPTS", attempts)
sys.exit(code if not attempts else 99)
"""


def test_whole_demo_runs_with_sockets_blocked_in_a_fresh_process(tmp_path: Path) -> None:
    """Model loading, Chroma, ingestion, the persona and the audit log, from a cold start."""
    import os
    import subprocess
    import sys

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "TRANSFORMERS_"))
    }
    env["PROCTOR_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_DEMO, str(tmp_path / "bundle")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "ATTEMPTS []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verification: OK" in done.stdout
