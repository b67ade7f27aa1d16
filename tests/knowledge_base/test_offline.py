"""Ingest and search on the embedded store make no network connection, Chroma telemetry is off
in code, and importing the package (or its CLI command) loads none of the heavy libraries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.chroma import client_settings
from tests.knowledge_base.pdf_files import minimal_pdf
from tests.knowledge_base.test_ingest import write_sources
from tests.network import BLOCK_SOCKETS, NetworkAttempted

REPO = Path(__file__).resolve().parents[2]


def test_the_blocker_catches_a_connection(no_network: list[str]) -> None:
    with pytest.raises(NetworkAttempted):
        socket.create_connection(("127.0.0.1", 9))
    assert no_network == ["create_connection()"]


def test_ingest_and_search_stay_offline(
    no_network: list[str], tmp_path: Path, open_kb: Callable[..., KnowledgeBase]
) -> None:
    source = write_sources(tmp_path / "src")
    kb = open_kb("offline-kb")
    report = kb.ingest(source)
    assert report.documents_added == 5
    assert kb.search("how should the capsules be stored?")[0].document == "leaflets/storage.pdf"
    assert kb.digest == report.digest
    assert no_network == []


_FRESH_PROCESS = BLOCK_SOCKETS + """
import sys
from pathlib import Path

from knowledge_base import open_knowledge_base

work = Path(sys.argv[1])
kb = open_knowledge_base("fresh-process", work / "kbs")
kb.ingest(work / "src")
print(kb.search("storage temperature")[0].text)
print("attempts:", attempts)
"""


def test_a_fresh_process_loads_the_model_and_the_store_offline(tmp_path: Path) -> None:
    """The CLI's path, from process start: model load, embedded Chroma, ingest and search,
    with sockets blocked before anything is imported and no offline variables preset."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "leaflet.pdf").write_bytes(minimal_pdf([["Keep below 25 degrees."]]))
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(tmp_path)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Keep below 25 degrees.", "attempts: []"]
    assert (tmp_path / "kbs" / "embedding-cache" / "embeddings.sqlite3").is_file()


def test_chroma_telemetry_is_off_on_the_client_in_use(
    tmp_path: Path, open_kb: Callable[..., KnowledgeBase]
) -> None:
    assert client_settings().anonymized_telemetry is False
    kb = open_kb()
    assert kb.store.client.get_settings().anonymized_telemetry is False


def test_importing_the_package_and_cli_command_loads_no_heavy_library() -> None:
    heavy = ["torch", "sentence_transformers", "transformers", "chromadb", "langchain_core"]
    code = (
        "import sys, json, knowledge_base, cli.kb_cmd\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
    lazy = "import knowledge_base; knowledge_base.KnowledgeBaseRetriever; import sys; "
    lazy += "print('langchain_core' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", lazy], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
