"""POST /v1/audit/verifications: an auditor uploads a bundle and the service verifies it as
`proctor audit verify` does, accepting only its own keys; a bad bundle is a failed
verification with its problems, not a failed request."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import ServerConfig, create_app
from server.auth import Role
from tests.server.conftest import bearer
from tests.server.test_audit_routes import _export, practise


def verified(client: TestClient, key: str, bundle: bytes) -> dict[str, Any]:
    response = client.post(
        "/v1/audit/verifications",
        files={"bundle": ("evidence.zip", bundle, "application/zip")},
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def with_records_dropped(bundle: bytes) -> bytes:
    """The same zip with the first record of the log missing."""
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(rebuilt, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.endswith("log/records.jsonl"):
                data = b"".join(data.splitlines(keepends=True)[1:])
            target.writestr(entry, data)
    return rebuilt.getvalue()


def test_an_exported_bundle_verifies_and_an_altered_one_does_not(
    client: TestClient, app: FastAPI, keys: dict[str, str]
) -> None:
    practise(app, "learner-1")
    bundle = _export(client, keys["auditor"], {})
    report = verified(client, keys["auditor"], bundle)
    assert report["ok"] and report["problems"] == []
    assert report["sessions"] == 1 and report["records_checked"] > 0
    assert report["keyids"] == [app.state.service.audit_log.key.public_key.keyid]

    altered = verified(client, keys["auditor"], with_records_dropped(bundle))
    assert not altered["ok"] and altered["problems"]


def test_a_bundle_signed_by_another_service_is_refused(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    other = create_app(ServerConfig(tmp_path / "other-home"))
    with TestClient(other) as other_client:
        practise(other, "learner-9")
        auditor = other.state.service.keys.create(Role.auditor, "auditor-9")[1]
        foreign = _export(other_client, auditor, {})
    report = verified(client, keys["auditor"], foreign)
    assert not report["ok"] and report["keyids"] == []


def test_a_file_that_is_not_a_bundle_is_a_failed_verification(
    client: TestClient, keys: dict[str, str]
) -> None:
    report = verified(client, keys["auditor"], b"not a zip at all")
    assert not report["ok"]
    (problem,) = report["problems"]
    assert problem["code"] == "not-a-zip" and problem["message"].startswith("evidence.zip ")
