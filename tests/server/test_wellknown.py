"""The well-known audit key endpoint, over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from audit import NoteVerifier, PublicKey, verify_bundle
from audit.keyring import rotate_signing_key
from server import ServerConfig, create_app
from server.auth import Role
from tests.server.conftest import bearer
from tests.server.test_audit_routes import practise

KEYS = "/.well-known/proctor/audit-keys"


def check_entry(entry: dict[str, Any]) -> PublicKey:
    """One served key: its securesystemslib form, id and verifier key all name one key."""
    key = PublicKey.from_securesystemslib_dict(entry["key"])
    assert entry["keyid"] == key.keyid
    verifier = NoteVerifier.from_vkey(entry["note_verifier_key"])
    assert verifier.public_key == key
    assert verifier.name == "proctor.local/audit"
    return key


def test_current_key_is_served_to_anyone_read_only(client: TestClient, app: FastAPI) -> None:
    response = client.get(KEYS)  # no Authorization header
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    assert body["origin"] == "proctor.local/audit"
    [entry] = body["keys"]
    assert entry["status"] == "current"
    assert check_entry(entry) == app.state.service.audit_log.key.public_key
    for method in (client.post, client.put, client.delete):
        assert method(KEYS).status_code == 405


def test_after_rotation_retired_keys_are_served_and_verify_the_export(
    tmp_path: Path, database: str | None
) -> None:
    config = ServerConfig(tmp_path / "home", database_url=database)
    before = create_app(config)
    with TestClient(before):
        first = practise(before, "learner-1")
        old = before.state.service.audit_log.key.public_key
    rotate_signing_key(config.signing_key)

    after = create_app(config)
    with TestClient(after) as client:
        second = practise(after, "learner-1")
        new = after.state.service.audit_log.key.public_key
        served = client.get(KEYS).json()["keys"]
        auditor = after.state.service.keys.create(Role.auditor, "auditor-1")[1]
        export = client.post("/v1/audit/exports", json={}, headers=bearer(auditor))
    assert [(entry["status"], check_entry(entry)) for entry in served] == [
        ("current", new),
        ("retired", old),
    ]
    assert export.status_code == 200, export.text
    archive = tmp_path / "export.zip"
    archive.write_bytes(export.content)
    report = verify_bundle(archive, trusted_keyids=[entry["keyid"] for entry in served])
    assert report.ok, report.problems
    assert report.keyids == sorted([old.keyid, new.keyid])
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert {f"report/{first}.html", f"report/{second}.html"} <= set(names)
    assert {f"xapi/{first}.json", f"xapi/{second}.json"} <= set(names)
    # Trusting only what the service serves now, minus the retired key, rejects old records.
    assert not verify_bundle(archive, trusted_keyids=[new.keyid]).ok


def test_an_unusable_retired_key_file_is_a_clear_error(client: TestClient, app: FastAPI) -> None:
    folder = app.state.service.config.retired_keys_dir
    folder.mkdir(parents=True)
    (folder / f"{'0' * 64}.pub.json").write_text("{not json")
    response = client.get(KEYS)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "keys_unavailable"
    assert "is not a usable public key" in error["message"]
