"""Opening one session shows its report and the offline verifier's verdict on its records."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import ServerConfig, create_app
from server.auth import Role
from tests.server.conftest import bearer
from tests.server.test_audit_routes import practise


def _open(client: TestClient, key: str, session_id: str) -> dict[str, object]:
    response = client.get(f"/v1/sessions/{session_id}/evidence", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_auditor_opens_a_session_and_sees_its_flagged_words_and_a_passing_verdict(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    opened = practise(app, "learner-1")
    other = practise(app, "learner-2")
    body = _open(client, keys["auditor"], opened)
    session = body["session"]
    assert isinstance(session, dict)
    assert session["session_id"] == opened and session["learner"] == "learner-1"
    verification = body["verification"]
    assert isinstance(verification, dict)
    assert verification["ok"] is True and verification["problems"] == []
    assert verification["sessions"] == 1
    assert verification["records_checked"] == session["records"]
    assert verification["keyids"] == [app.state.service.audit_log.key.public_key.keyid]
    page = body["report_html"]
    assert isinstance(page, str)
    assert re.search(r"<mark[^>]*>guarantee</mark>", page), "the flagged word is marked"
    assert "no-guarantee" in page and opened in page
    assert other not in page, "only the opened session is in the report"
    assert "<script" not in page


def test_a_running_session_opens_as_far_as_it_is_recorded(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    running = practise(app, "learner-1", end=False)
    body = _open(client, keys["officer"], running)
    session = body["session"]
    verification = body["verification"]
    assert isinstance(session, dict) and isinstance(verification, dict)
    assert session["ended_at"] is None
    assert verification["ok"] is True
    assert verification["records_checked"] == session["records"]


def test_a_learner_opens_only_their_own_session_and_an_unknown_id_is_not_found(
    app: FastAPI, client: TestClient, keys: dict[str, str]
) -> None:
    mine = practise(app, "learner-1")
    assert _open(client, keys["learner"], mine)["verification"]
    theirs = client.get(f"/v1/sessions/{mine}/evidence", headers=bearer(keys["other_learner"]))
    assert theirs.status_code == 403
    unknown = client.get("/v1/sessions/no-such-session/evidence", headers=bearer(keys["auditor"]))
    assert unknown.status_code == 404
    assert "no-such-session" in unknown.json()["error"]["message"]


def test_records_altered_in_the_store_are_shown_as_a_failed_verification(tmp_path: Path) -> None:
    """An intruder who drops the append-only trigger and edits a signed record: the auditor
    opening that session is told the records no longer match what was signed."""
    config = ServerConfig(tmp_path / "home")
    app = create_app(config)
    auditor = app.state.service.keys.create(Role.auditor, "auditor-1")[1]
    with TestClient(app) as client:
        session_id = practise(app, "learner-1")
        assert _open(client, auditor, session_id)["verification"]["ok"] is True  # type: ignore[index]
        database = sqlite3.connect(config.audit_db, isolation_level=None)
        database.execute("DROP TRIGGER records_no_update")
        line = database.execute("SELECT line FROM records WHERE seq = 2").fetchone()[0]
        altered = bytes(line).replace(b"A", b"B", 1)
        database.execute("UPDATE records SET line = ? WHERE seq = 2", (altered,))
        database.close()
        body = _open(client, auditor, session_id)
    verification = body["verification"]
    assert isinstance(verification, dict)
    assert verification["ok"] is False
    assert verification["problems"], "the alteration is named"
    assert body["report_html"] == "", "no report is shown for records that fail verification"
