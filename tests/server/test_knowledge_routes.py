"""An officer uploads approved documents; anyone reads a knowledge base's digest and searches it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from server import ServerConfig, create_app
from server.auth import Role
from server.config import Limits
from tests.server.conftest import bearer

LABEL = """# Velmora label

## Indication

Velmora is indicated for the treatment of hypertension in adults.

## Adverse reactions

The most common side effects were fatigue and dizziness.
"""
FAQ = "Velmora tablets are taken once a day, with or without food.\n"


def test_upload_then_describe_and_search_with_provenance(
    client: TestClient, keys: dict[str, str]
) -> None:
    """One upload (loading MiniLM takes seconds, so this is the one test that embeds)."""
    uploaded = client.post(
        "/v1/knowledge-bases/velmora-label/documents",
        files=[
            ("files", ("label.md", LABEL.encode(), "text/markdown")),
            ("files", ("faq.txt", FAQ.encode(), "text/plain")),
        ],
        headers=bearer(keys["officer"]),
    )
    assert uploaded.status_code == 200, uploaded.text
    report = uploaded.json()
    assert report["documents_added"] == 2 and report["chunks_added"] >= 2
    assert len(report["digest"]) == 64 and report["skipped"] == []

    described = client.get("/v1/knowledge-bases/velmora-label", headers=bearer(keys["learner"]))
    assert described.status_code == 200
    assert described.json() == {
        "name": "velmora-label",
        "passages": report["chunks_added"],
        "digest": report["digest"],
    }

    found = client.get(
        "/v1/knowledge-bases/velmora-label/search",
        params={"q": "what are the side effects", "k": 1},
        headers=bearer(keys["auditor"]),
    )
    assert found.status_code == 200
    [passage] = found.json()["passages"]
    assert passage["document"] == "label.md" and "fatigue" in passage["text"]
    assert passage["section"].endswith("Adverse reactions")

    again = client.post(
        "/v1/knowledge-bases/velmora-label/documents",
        files=[("files", ("faq.txt", FAQ.encode(), "text/plain"))],
        headers=bearer(keys["officer"]),
    )
    assert again.json()["documents_unchanged"] == 1
    assert again.json()["digest"] == report["digest"]


def test_an_unknown_knowledge_base_is_404_and_a_bad_name_422(
    client: TestClient, keys: dict[str, str]
) -> None:
    headers = bearer(keys["auditor"])
    assert client.get("/v1/knowledge-bases/absent-kb", headers=headers).status_code == 404
    search = client.get("/v1/knowledge-bases/absent-kb/search", params={"q": "x"}, headers=headers)
    assert search.status_code == 404
    assert client.get("/v1/knowledge-bases/Bad_Name", headers=headers).status_code == 422


def test_oversized_and_unsupported_uploads_are_refused_before_ingest(tmp_path: Path) -> None:
    app = create_app(ServerConfig(tmp_path / "home", Limits(max_upload_bytes=len(FAQ))))
    _, key = app.state.service.keys.create(Role.officer, "officer-1")
    with TestClient(app) as client:
        url = "/v1/knowledge-bases/velmora-label/documents"
        too_big = client.post(
            url,
            files=[("files", ("faq.txt", (FAQ + "!").encode(), "text/plain"))],
            headers=bearer(key),
        )
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
        binary = client.post(
            url,
            files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))],
            headers=bearer(key),
        )
        assert binary.status_code == 415
        sneaky = client.post(
            url, files=[("files", ("../faq.txt", FAQ.encode(), "text/plain"))], headers=bearer(key)
        )
        assert sneaky.status_code == 422
        assert (
            client.get("/v1/knowledge-bases/velmora-label", headers=bearer(key)).status_code == 404
        )
