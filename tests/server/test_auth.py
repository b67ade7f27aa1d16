"""API keys: stored hashed, shown once, checked in constant time, revocable; one error shape.

The store is exercised on both service-database backends: a SQLite file and a PostgreSQL schema.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.auth import ApiKeyStore, Role
from server.policy_registry import PolicyRegistry
from server.service_db import ServiceDatabaseError, is_postgres_url
from tests.server.conftest import bearer


@pytest.fixture(params=["sqlite", "postgres"])
def service_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the service database lives: a SQLite path, or a URL to a throwaway PG schema."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return tmp_path / "service.sqlite3"


def raw_rows(location: str | Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows read past the store, straight from the database."""
    if is_postgres_url(location):
        with psycopg.connect(str(location), autocommit=True) as connection:
            return connection.execute(sql).fetchall()
    with sqlite3.connect(location) as connection:
        return connection.execute(sql).fetchall()


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


def test_keys_are_stored_only_as_hashes_and_can_be_revoked(service_db: str | Path) -> None:
    store = ApiKeyStore.open(service_db)
    principal, key = store.create(Role.auditor, "a-1")
    raw = raw_rows(service_db, "SELECT * FROM api_keys")
    assert len(raw) == 1 and principal.key_id in repr(raw)
    assert key not in repr(raw) and key.split("_", 2)[2] not in repr(raw)
    assert store.authenticate(key) == principal
    assert store.revoke(principal.key_id) and store.authenticate(key) is None
    assert not store.revoke(principal.key_id)
    assert raw_rows(service_db, "SELECT revoked_at FROM api_keys")[0][0] is not None
    store.close()


def test_no_arbitrary_string_authenticates(service_db: str | Path) -> None:
    store = ApiKeyStore.open(service_db)
    principal, key = store.create(Role.officer, "o")

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.text(max_size=60))
    def check(candidate: str) -> None:
        assert store.authenticate(candidate) is None
        # Revoking by a made-up id (NUL and all, which PostgreSQL text refuses) is just False.
        assert not store.revoke(candidate)

    check()
    assert store.authenticate(key) == principal  # nothing above revoked the real key
    store.close()


def test_key_ids_the_store_never_issues_are_refused_before_the_database(
    service_db: str | Path,
) -> None:
    store = ApiKeyStore.open(service_db)
    principal, key = store.create(Role.learner, "l-1")
    secret = key.split("_", 2)[2]
    for key_id in ("\x00", principal.key_id + "\x00", principal.key_id.upper(), "", "a" * 200):
        assert store.authenticate(f"pk_{key_id}_{secret}") is None
        assert store.revoke(key_id) is False
    assert store.authenticate(key) == principal
    store.close()


def test_two_stores_on_one_database_share_keys_and_revocations(service_db: str | Path) -> None:
    """What several service processes on one database rely on."""
    first, second = ApiKeyStore.open(service_db), ApiKeyStore.open(service_db)
    principal, key = first.create(Role.officer, "o-1")
    assert second.authenticate(key) == principal
    assert second.revoke(principal.key_id)
    assert first.authenticate(key) is None
    first.close()
    second.close()


def test_the_store_is_safe_to_share_between_threads(service_db: str | Path) -> None:
    store = ApiKeyStore.open(service_db)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(10):
                principal, key = store.create(Role.learner, f"learner-{index}")
                assert store.authenticate(key) == principal
                assert store.revoke(principal.key_id)
        except BaseException as error:  # reported below, with the thread's own failure
            failures.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert raw_rows(service_db, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL") == [(0,)]
    assert raw_rows(service_db, "SELECT count(*) FROM api_keys") == [(80,)]
    store.close()


def test_opening_is_idempotent_and_safe_when_many_open_at_once(service_db: str | Path) -> None:
    """Two processes starting together both create the schema: neither may fail."""
    barrier = threading.Barrier(12)
    opened: list[ApiKeyStore | PolicyRegistry] = []
    failures: list[BaseException] = []

    def open_both() -> None:
        try:
            barrier.wait()
            opened.append(ApiKeyStore.open(service_db))
            opened.append(PolicyRegistry.open(service_db))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_both) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    principal, key = ApiKeyStore.open(service_db).create(Role.auditor, "a")
    assert ApiKeyStore.open(service_db).authenticate(key) == principal
    for store in opened:
        store.close()


def test_an_unreachable_postgres_is_a_clear_error_not_a_driver_traceback() -> None:
    with pytest.raises(ServiceDatabaseError, match="unavailable") as raised:
        ApiKeyStore.open("postgresql://proctor@127.0.0.1:1/nowhere?connect_timeout=2")
    assert not isinstance(raised.value, psycopg.Error)


def test_a_store_reconnects_after_postgres_drops_its_connection(postgres_url: str) -> None:
    name = f"proctor-test-{secrets.token_hex(4)}"
    store = ApiKeyStore.open(f"{postgres_url}&application_name={name}")
    principal, key = store.create(Role.officer, "o")
    killed = raw_rows(
        postgres_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'",
    )
    assert killed == [(True,)]
    try:  # the first call may be the one that finds the connection gone
        store.authenticate(key)
    except ServiceDatabaseError as error:
        assert not isinstance(error, psycopg.Error)
    assert store.authenticate(key) == principal
    store.close()


def test_a_closed_store_raises_the_service_error(service_db: str | Path) -> None:
    store = ApiKeyStore.open(service_db)
    principal, _ = store.create(Role.officer, "o")
    store.close()
    with pytest.raises(ServiceDatabaseError, match="closed"):
        store.revoke(principal.key_id)


def test_a_service_database_failure_is_a_json_503_not_a_traceback(
    tmp_path: Path, postgres_url: str
) -> None:
    from server import ServerConfig, create_app

    app = create_app(ServerConfig(tmp_path / "home", database_url=postgres_url))
    key = app.state.service.keys.create(Role.auditor, "auditor-1")[1]
    with TestClient(app) as client:
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP TABLE api_keys")
        response = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "api_keys" not in response.text  # nothing of the driver's message leaks
