"""A real service on a temporary data folder, a real HTTP client, one API key per role.

Every test that uses `app` (or `client`) runs twice: with the embedded defaults (SQLite files
in the data folder) and with its databases on the local PostgreSQL server (a schema of its
own per test), skipped only where no server answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import ServerConfig, create_app
from server.auth import Role


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str | None:
    """The service's database URL: None for the embedded SQLite files."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def app(tmp_path: Path, database: str | None) -> FastAPI:
    return create_app(ServerConfig(tmp_path / "home", database_url=database))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(app: FastAPI) -> dict[str, str]:
    """API keys: officer, learner (subject learner-1), other learner (learner-2), auditor."""
    store = app.state.service.keys
    return {
        "officer": store.create(Role.officer, "officer-1")[1],
        "learner": store.create(Role.learner, "learner-1")[1],
        "other_learner": store.create(Role.learner, "learner-2")[1],
        "auditor": store.create(Role.auditor, "auditor-1")[1],
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
