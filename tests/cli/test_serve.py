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


def test_serve_answers_health_and_openapi_on_loopback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PROCTOR_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None and health.json() == {"status": "ok"}
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/v1/me" in schema["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/v1/me", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
