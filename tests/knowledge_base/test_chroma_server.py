"""The shared-server path: a real `chroma run` on 127.0.0.1, reached through `chroma_url`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge_base import Embedder, KnowledgeBaseError, open_knowledge_base
from tests.knowledge_base.test_ingest import write_sources

CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_heartbeat(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"chroma exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"chroma did not answer its heartbeat within 60 s: {log.read_text()[-2000:]}")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    if CHROMA is None:
        pytest.skip("the `chroma` executable (shipped with the chromadb package) is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "chroma.log"
    environment = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with log.open("wb") as output:
        server = subprocess.Popen(
            [CHROMA, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        _wait_for_heartbeat(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_ingest_and_search_through_a_chroma_server(
    chroma_server: str, tmp_path: Path, embedder: Embedder
) -> None:
    source = write_sources(tmp_path / "src")
    local = tmp_path / "local"
    kb = open_knowledge_base("served-kb", local, embedder=embedder, chroma_url=chroma_server)
    report = kb.ingest(source)
    assert report.documents_added == 5 and not report.skipped
    assert not (local / "chroma").exists(), "chunks must live on the server, not on disk here"
    assert kb.store.client.get_settings().anonymized_telemetry is False

    found = kb.search("how should the capsules be stored?", k=2)
    assert found[0].document == "leaflets/storage.pdf"
    assert found[0].score > found[1].score

    # a second client (another replica) sees the same content, digest and manifest
    replica = open_knowledge_base(
        "served-kb", tmp_path / "r", embedder=embedder, chroma_url=chroma_server
    )
    assert replica.digest == report.digest and len(replica) == report.chunks_added
    again = replica.ingest(source)
    assert (again.documents_unchanged, again.chunks_added) == (5, 0)

    embedded_locally = open_knowledge_base("served-kb", tmp_path / "other", embedder=embedder)
    assert len(embedded_locally) == 0, "the embedded store is a different store"


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(KnowledgeBaseError, match=f"cannot reach the Chroma server at {url}"):
        open_knowledge_base("served-kb", tmp_path, embedder=embedder, chroma_url=url)


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8000", "ftp://host:1", "http://host:99999", "http://h/x"]
)
def test_malformed_chroma_urls_are_rejected(url: str, tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="invalid Chroma URL"):
        open_knowledge_base("served-kb", tmp_path, chroma_url=url)
