"""Evaluating a policy, running a session and verifying evidence make no network connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from engine import Session
from engine.recording import AuditRecorder
from engine.replay import replay_inputs
from engine.transcripts import load_transcript
from evaluators import compile_policy
from policies import load_policy, pack_path


class NetworkAttempted(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def blocked(*args: object, **kwargs: object) -> None:
            attempts.append(f"{name}{args[1:2]}")
            raise NetworkAttempted(f"network access attempted: {name}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("sendto"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    yield attempts


def test_the_blocker_itself_catches_a_connection(no_network: list[str]) -> None:
    with pytest.raises(NetworkAttempted):
        socket.create_connection(("127.0.0.1", 9))
    assert no_network == ["create_connection()"]


def test_policy_session_audit_and_verify_stay_offline(
    no_network: list[str], tmp_path: Path
) -> None:
    pack = pack_path("pharma")
    plan = compile_policy(load_policy(pack / "policy.yaml"))
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
