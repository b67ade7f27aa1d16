"""`proctor keys` issues and revokes keys; `proctor serve` answers on 127.0.0.1 with its docs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.main import main


def test_keys_create_prints_the_key_once_and_revoke_disables_it(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.auth import ApiKeyStore

    assert main(["keys", "create", "--role", "auditor", "--subject", "a-1"]) == 0
    captured = capsys.readouterr()
    key = captured.out.strip()
    assert key.startswith("pk_") and "shown once" in captured.err
    store = ApiKeyStore(proctor_home / "service.sqlite3")
    principal = store.authenticate(key)
    assert principal is not None and principal.role.value == "auditor"
    assert main(["keys", "revoke", principal.key_id]) == 0
    assert store.authenticate(key) is None
    assert main(["keys", "revoke", principal.key_id]) == 2
    assert "no active key" in capsys.readouterr().err


def test_keys_create_puts_a_learner_in_a_team_and_refuses_a_team_for_staff(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.teams import TeamDirectory

    args = ["keys", "create", "--role", "learner", "--subject", "L-1", "--team", "north"]
    assert main(args) == 0
    assert main([*args[:-1], "south"]) == 0  # a second key moves the learner
    capsys.readouterr()
    assert main(["keys", "create", "--role", "officer", "--subject", "o-1", "--team", "x"]) == 2
    assert "--team is for learners" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "learner", "--subject", "L-2", "--team", " "]) == 2
    assert "team name must not be empty" in capsys.readouterr().err
    directory = TeamDirectory(proctor_home / "service.sqlite3")
    assert directory.teams() == {"L-1": "south"}
    directory.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_health(port: int, server: subprocess.Popen[bytes]) -> httpx.Response | None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
    return None


def test_serve_answers_health_and_openapi_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    environment = {**os.environ, "PROCTOR_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        health = _wait_for_health(port, server)
        assert health is not None and health.json() == {"status": "ok"}
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/v1/me" in schema["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/v1/me", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_on_postgresql_uses_keys_issued_there(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCTOR_HOME", str(tmp_path / "home"))
    key = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "keys",
            "--database",
            postgres_url,
            "create",
            "--role",
            "auditor",
            "--subject",
            "auditor-1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "serve",
            "--port",
            str(port),
            "--database",
            postgres_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for_health(port, server) is not None
        me = httpx.get(f"http://127.0.0.1:{port}/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.json()["role"] == "auditor"
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (tmp_path / "home" / "service.sqlite3").exists()  # nothing went to SQLite
    assert not (tmp_path / "home" / "audit.sqlite3").exists()


def test_serve_refuses_a_bad_webhooks_file_naming_line_and_field(
    tmp_path: Path, proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "webhooks.yaml"
    config.write_text(
        "channels:\n  compliance-team:\n    url: https://h.example/\n"
        "    secret_env: PROCTOR_TEST_UNSET_SECRET\n",
        encoding="utf-8",
    )
    assert main(["serve", "--webhooks", str(config)]) == 2
    error = capsys.readouterr().err
    assert f"{config}:4:" in error
    assert "channels.compliance-team.secret_env" in error
    assert "PROCTOR_TEST_UNSET_SECRET is not set" in error


def test_serve_with_an_unreachable_database_is_a_clear_error(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert main(["serve", "--database", url]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: cannot open the service's databases:")
    assert "Traceback" not in error
    assert main(["keys", "--database", url, "create", "--role", "learner", "--subject", "x"]) == 2


def test_serve_takes_only_a_postgresql_url_as_database(
    proctor_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--database", "sqlite:///tmp/x.db"]) == 2
    assert "must start with postgresql://" in capsys.readouterr().err
    assert main(["keys", "--database", "mysql://h/db", "revoke", "k"]) == 2
    assert "must start with postgresql://" in capsys.readouterr().err
    assert not proctor_home.exists() or not any(proctor_home.iterdir())  # nothing was set up
