"""API keys: stored hashed, shown once, checked in constant time, revocable; one error shape."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from server.auth import ApiKeyStore, Role
from tests.server.conftest import bearer


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}


def test_me_names_the_caller(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/me", headers=bearer(keys["learner"]))
    assert response.status_code == 200
    assert response.json()["role"] == "learner" and response.json()["subject"] == "learner-1"


def test_missing_unknown_and_malformed_keys_are_401_with_the_error_shape(
    client: TestClient, keys: dict[str, str]
) -> None:
    for headers in ({}, bearer("pk_nope_nope"), bearer("not a key"), {"Authorization": "x"}):
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    tampered = keys["officer"][:-1] + ("A" if keys["officer"][-1] != "A" else "B")
    assert client.get("/v1/me", headers=bearer(tampered)).status_code == 401


def test_keys_are_stored_only_as_hashes_and_can_be_revoked(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "service.sqlite3")
    principal, key = store.create(Role.auditor, "a-1")
    raw = sqlite3.connect(tmp_path / "service.sqlite3").execute("SELECT * FROM api_keys").fetchall()
    assert key not in repr(raw) and key.split("_", 2)[2] not in repr(raw)
    assert store.authenticate(key) == principal
    assert store.revoke(principal.key_id) and store.authenticate(key) is None
    assert not store.revoke(principal.key_id)


@given(st.text(max_size=60))
def test_no_arbitrary_string_authenticates(tmp_path_factory, candidate: str) -> None:  # type: ignore[no-untyped-def]
    store = ApiKeyStore(tmp_path_factory.mktemp("keys") / "service.sqlite3")
    store.create(Role.officer, "o")
    assert store.authenticate(candidate) is None
    store.close()
