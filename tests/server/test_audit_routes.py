"""Sessions are listed from the audit log; an auditor's export is a zip that verifies offline."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from audit import verify_bundle
from engine import FinalUtterance, Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from policies import parse_policy
from tests.server.conftest import bearer

PROCTOR = Path(sys.executable).with_name("proctor")
POLICY = (
    "policy: demo\n"
    "version: {version}\n"
    "guardrails:\n"
    "  - id: no-guarantee\n"
    "    severity: violation\n"
    "    match: {{phrases: [guarantee*]}}\n"
)


def practise(app: FastAPI, learner: str, version: int = 1, *, end: bool = True) -> str:
    """Run one short session under demo v`version`, recorded in the service's audit log."""
    plan = plan_policy(parse_policy(POLICY.format(version=version)))
    session = Session(plan, learner=learner, recorder=AuditRecorder(app.state.service.audit_log))
    session.start()
    session.ingest(FinalUtterance(utterance_id="u1", text="I guarantee it works."))
    if end:
        session.end()
    return session.session_id


@pytest.fixture
def sessions(app: FastAPI) -> dict[str, str]:
    """Four sessions: learner-1 under v1 (twice, the second still running), learner-2 under
    v1 and v2; `since` is a moment between the first two and the last two."""
    made = {"a": practise(app, "learner-1"), "b": practise(app, "learner-2")}
    time.sleep(0.01)
    made["since"] = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    made["c"] = practise(app, "learner-2", version=2)
    made["d"] = practise(app, "learner-1", end=False)
    return made


def _ids(response_json: list[dict[str, object]]) -> list[object]:
    return [item["session_id"] for item in response_json]


def test_officer_and_auditor_list_every_session_with_its_pinned_policy(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    for role in ("officer", "auditor"):
        response = client.get("/v1/sessions", headers=bearer(keys[role]))
        assert response.status_code == 200
        assert _ids(response.json()) == [sessions[name] for name in "abcd"]
    listed = {item["session_id"]: item for item in response.json()}
    first, running = listed[sessions["a"]], listed[sessions["d"]]
    assert first["learner"] == "learner-1" and first["policy"]["id"] == "demo"
    assert first["policy"]["version"] == 1 and len(first["policy"]["digest"]) == 64
    assert first["ended_at"] is not None and first["end_reason"] == "completed"
    assert first["records"] >= 4
    assert running["ended_at"] is None and running["end_reason"] is None
    assert listed[sessions["c"]]["policy"]["version"] == 2


def test_filters_by_learner_policy_version_and_dates(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    headers = bearer(keys["auditor"])

    def listed(**params: str) -> list[object]:
        response = client.get("/v1/sessions", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return _ids(response.json())

    assert listed(learner="learner-2") == [sessions["b"], sessions["c"]]
    assert listed(policy_id="demo", policy_version="2") == [sessions["c"]]
    assert listed(policy_id="other") == []
    assert listed(since=sessions["since"]) == [sessions["c"], sessions["d"]]
    assert listed(until=sessions["since"]) == [sessions["a"], sessions["b"]]
    assert listed(learner="learner-1", since=sessions["since"]) == [sessions["d"]]


def test_a_learner_sees_only_their_own_sessions(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    mine = client.get("/v1/sessions", headers=bearer(keys["learner"]))
    assert _ids(mine.json()) == [sessions["a"], sessions["d"]]
    theirs = client.get("/v1/sessions", headers=bearer(keys["other_learner"]))
    assert _ids(theirs.json()) == [sessions["b"], sessions["c"]]
    peeking = client.get(
        "/v1/sessions", params={"learner": "learner-2"}, headers=bearer(keys["learner"])
    )
    assert peeking.status_code == 403


def _export(client: TestClient, key: str, body: dict[str, object]) -> bytes:
    response = client.post("/v1/audit/exports", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def test_a_filtered_export_holds_whole_chains_of_the_matching_sessions_and_verifies_offline(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str], tmp_path: Path
) -> None:
    body = {"learner": "learner-1", "policy_version": 1}
    data = _export(client, keys["auditor"], body)
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        packed.extractall(tmp_path / "bundle")
    manifest = json.loads((tmp_path / "bundle" / "MANIFEST.json").read_text())
    assert set(manifest["sessions"]) == {sessions["a"], sessions["d"]}
    assert manifest["selection"]["filters"] == body
    records = (tmp_path / "bundle" / "log" / "records.jsonl").read_bytes().splitlines()
    assert len(records) == sum(manifest["sessions"].values()) == manifest["range"]["count"]

    report = verify_bundle(tmp_path / "bundle")
    assert report.ok, report.problems
    assert report.sessions == 2 and report.records_checked == len(records)

    archive = tmp_path / "evidence.zip"
    archive.write_bytes(data)
    assert verify_bundle(archive).ok
    verified = subprocess.run(
        [str(PROCTOR), "audit", "verify", str(archive)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    assert "OK" in verified.stdout and "2 sessions" in verified.stdout


def test_a_filtered_bundle_missing_a_record_of_a_session_fails_verification(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str], tmp_path: Path
) -> None:
    data = _export(client, keys["auditor"], {"learner": "learner-2"})
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        packed.extractall(tmp_path / "bundle")
    records = tmp_path / "bundle" / "log" / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    records.write_bytes(b"".join(lines[1:]))  # drop the first session's first record
    report = verify_bundle(tmp_path / "bundle")
    codes = {problem.code for problem in report.problems}
    assert "session-chain" in codes and "file-hash" in codes


def test_an_unfiltered_export_is_the_whole_log(
    client: TestClient, app: FastAPI, keys: dict[str, str], sessions: dict[str, str], tmp_path: Path
) -> None:
    archive = tmp_path / "all.zip"
    archive.write_bytes(_export(client, keys["auditor"], {}))
    report = verify_bundle(archive)
    assert report.ok, report.problems
    assert report.records_checked == app.state.service.audit_store.head()
    assert report.first_seq == 1 and report.sessions == 4


def test_an_export_matching_nothing_is_404_and_only_an_auditor_exports(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str]
) -> None:
    nothing = client.post(
        "/v1/audit/exports", json={"learner": "nobody"}, headers=bearer(keys["auditor"])
    )
    assert nothing.status_code == 404
    for role in ("officer", "learner"):
        response = client.post("/v1/audit/exports", json={}, headers=bearer(keys[role]))
        assert response.status_code == 403


def test_the_downloaded_zip_verifies_with_the_network_blocked(
    client: TestClient,
    keys: dict[str, str],
    sessions: dict[str, str],
    tmp_path: Path,
    no_network: list[str],
) -> None:
    archive = tmp_path / "evidence.zip"
    archive.write_bytes(_export(client, keys["auditor"], {"policy_version": 2}))
    report = verify_bundle(archive)
    assert report.ok and report.sessions == 1
    assert no_network == []


def _rezip(source: bytes, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of the zip `source` with some members replaced, added or (None) left out."""
    with zipfile.ZipFile(io.BytesIO(source)) as packed, zipfile.ZipFile(target, "w") as out:
        for name in packed.namelist():
            if name not in change:
                out.writestr(name, packed.read(name))
        for name, data in change.items():
            if data is not None:
                out.writestr(name, data)
    return target


def test_a_forged_or_incomplete_subset_zip_fails_with_a_reason(
    client: TestClient, keys: dict[str, str], sessions: dict[str, str], tmp_path: Path
) -> None:
    data = _export(client, keys["auditor"], {"learner": "learner-1"})
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        manifest = json.loads(packed.read("MANIFEST.json"))
        lines = packed.read("log/records.jsonl").splitlines(keepends=True)

    widened = json.loads(json.dumps(manifest))
    widened["selection"]["filters"] = {}
    forged = _rezip(
        data,
        tmp_path / "forged.zip",
        {"MANIFEST.json": (json.dumps(widened, indent=2) + "\n").encode()},
    )
    codes = {problem.code for problem in verify_bundle(forged).problems}
    assert "manifest-signature" in codes

    last = _rezip(data, tmp_path / "short.zip", {"log/records.jsonl": b"".join(lines[:-1])})
    codes = {problem.code for problem in verify_bundle(last).problems}
    assert {"file-hash", "sessions-mismatch", "range-mismatch"} <= codes

    escape = _rezip(data, tmp_path / "escape.zip", {"../outside.txt": b"x"})
    problems = verify_bundle(escape).problems
    assert [problem.code for problem in problems] == ["file-unlisted"]
    assert not (tmp_path / "outside.txt").exists()

    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    assert {problem.code for problem in verify_bundle(garbage).problems} == {"bundle-missing"}
