from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.planning import plan_policy
from evaluators import PolicyPlan
from policies import load_policy, pack_path
from tests.network import NetworkAttempted

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def pharma_plan() -> PolicyPlan:
    return plan_policy(load_policy(pack_path("pharma") / "policy.yaml"))


@pytest.fixture(scope="session")
def investment_plan() -> PolicyPlan:
    return plan_policy(load_policy(pack_path("investment") / "policy.yaml"))


@pytest.fixture
def proctor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("PROCTOR_HOME", str(home))
    return home


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every outbound socket attempt is recorded and refused."""
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A connection URL to an empty schema of its own on the local PostgreSQL server."""
    from tests.postgres import fresh_schema, server_answers

    if not server_answers():
        pytest.skip("no PostgreSQL server answers at the test URL")
    with fresh_schema() as url:
        yield url
