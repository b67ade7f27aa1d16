"""The service exports no OpenTelemetry, even when the environment asks FastAPI to.

Each app runs in a fresh process (auto-configuration sets process-wide providers) with
`FASTAPI_OTEL_AUTO_CONFIGURE=true` and an OTLP endpoint on a real local HTTP server that
records what reaches it. A bare FastAPI app under the same environment is the control: it
must export, or the test would prove nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SERVE_A_FEW_REQUESTS = """
import sys
from pathlib import Path
from fastapi import FastAPI
from fastapi.testclient import TestClient

if sys.argv[1] == "proctor":
    from server import ServerConfig, create_app
    app = create_app(ServerConfig(Path(sys.argv[2])))
else:
    app = FastAPI()

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

with TestClient(app) as client:
    assert client.get("/v1/health").status_code == 200
    client.get("/v1/no-such-route")
"""


class Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CollectingHandler)
        self.paths: list[str] = []


class CollectingHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def exported_by(app: str, collector: Collector, tmp_path: Path) -> list[str]:
    """The OTLP requests that reached the collector while `app` served a few requests."""
    port = collector.server_address[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "FASTAPI_OTEL_AUTO_CONFIGURE": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_SDK_DISABLED": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", SERVE_A_FEW_REQUESTS, app, str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(collector.paths)


def test_a_bare_fastapi_app_exports_under_this_environment(
    collector: Collector, tmp_path: Path
) -> None:
    assert "/v1/traces" in exported_by("bare", collector, tmp_path)


def test_the_service_exports_nothing_under_the_same_environment(
    collector: Collector, tmp_path: Path
) -> None:
    assert exported_by("proctor", collector, tmp_path) == []
