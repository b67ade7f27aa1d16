"""The well-known audit key endpoint, over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from audit import (
    Checkpoint,
    NoteError,
    NoteVerifier,
    PublicKey,
    check_consistent,
    consistency_proof,
    open_checkpoint,
    verify_bundle,
)
from audit.keyring import rotate_signing_key
from server import ServerConfig, create_app
from server.auth import Role
from tests.server.conftest import bearer
from tests.server.test_audit_routes import practise

KEYS = "/.well-known/proctor/audit-keys"
CHECKPOINT = "/.well-known/proctor/checkpoint"
ORIGIN = "proctor.local/audit"


def check_entry(entry: dict[str, Any]) -> PublicKey:
    """One served key: its securesystemslib form, id and verifier key all name one key."""
    key = PublicKey.from_securesystemslib_dict(entry["key"])
    assert entry["keyid"] == key.keyid
    verifier = NoteVerifier.from_vkey(entry["note_verifier_key"])
    assert verifier.public_key == key
    assert verifier.name == ORIGIN
    return key


def test_current_key_is_served_to_anyone_read_only(client: TestClient, app: FastAPI) -> None:
    response = client.get(KEYS)  # no Authorization header
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    assert body["origin"] == ORIGIN
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


def served_checkpoint(client: TestClient) -> Checkpoint:
    """The served checkpoint, opened with the served verifier keys (nothing else trusted)."""
    response = client.get(CHECKPOINT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    keys = client.get(KEYS).json()["keys"]
    verifiers = [NoteVerifier.from_vkey(entry["note_verifier_key"]) for entry in keys]
    return open_checkpoint(response.text, verifiers, ORIGIN)


def test_latest_checkpoint_is_served_and_verifies_with_the_served_keys(
    client: TestClient, app: FastAPI
) -> None:
    missing = client.get(CHECKPOINT)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_checkpoint"

    practise(app, "learner-1")  # a session's end is checkpointed
    store = app.state.service.audit_store
    first = served_checkpoint(client)
    assert first.size == store.head()
    practise(app, "learner-2")
    second = served_checkpoint(client)
    assert second.size == store.head() > first.size
    lines = [record.line for record in store.records()]
    check_consistent(first, second, consistency_proof(lines, first.size, second.size))
    assert client.post(CHECKPOINT).status_code == 405


def test_checkpoint_after_a_rotation_is_signed_by_the_new_key(
    tmp_path: Path, database: str | None
) -> None:
    config = ServerConfig(tmp_path / "home", database_url=database)
    before = create_app(config)
    with TestClient(before) as client:
        practise(before, "learner-1")
        old_note = client.get(CHECKPOINT).text
        old = before.state.service.audit_log.key.public_key
    rotate_signing_key(config.signing_key)
    after = create_app(config)
    with TestClient(after) as client:
        practise(after, "learner-1")
        new_note = client.get(CHECKPOINT).text
        new = after.state.service.audit_log.key.public_key
    # The new checkpoint opens with the new key alone, and not with the retired one.
    open_checkpoint(new_note, [NoteVerifier(ORIGIN, new)], ORIGIN)
    open_checkpoint(old_note, [NoteVerifier(ORIGIN, old)], ORIGIN)
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_checkpoint(new_note, [NoteVerifier(ORIGIN, old)], ORIGIN)
