"""What starting and running sessions leaves behind: a knowledge base opened once for all
sessions, and no embedding of a learner's words written to disk."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import knowledge_base
from knowledge_base.embedding import CACHE_FILE
from knowledge_base.embedding_cache import text_key
from knowledge_base.kb import EMBEDDING_CACHE_FOLDER
from policies import DocumentError
from server.scenario_cache import ScenarioCache
from tests.server.conftest import bearer
from tests.server.test_sessions import connect, event_type, publish, receive_until
from tests.server.test_streaming import final

SCENARIO = {"policy_id": "pharma-detailing-us", "scenario": "pharma/gp_visit.yaml"}


def publish_pharma(app: FastAPI) -> None:
    from policies import pack_path

    publish(app, (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sessions_on_one_knowledge_base_open_it_once(
    client: TestClient, app: FastAPI, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_pharma(app)
    opened: list[str] = []
    real_open: Callable[..., Any] = knowledge_base.open_knowledge_base

    def counting_open(name: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(knowledge_base, "open_knowledge_base", counting_open)
    sessions = []
    for _ in range(3):
        created = client.post("/v1/sessions", json=SCENARIO, headers=bearer(keys["learner"]))
        assert created.status_code == 201, created.text
        sessions.append(created.json()["session_id"])
    assert len(opened) == 1
    for session_id in sessions:  # each persona still answers from the shared label
        with connect(client, session_id, keys["learner"]) as socket:
            receive_until(socket, event_type("persona.final"))
            socket.send_json(final("u1", "What does the label say about dosing?"))
            reply = receive_until(socket, event_type("persona.final"))
            assert reply[-1]["event"]["text"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_what_a_learner_says_is_not_embedded_to_disk(
    client: TestClient, app: FastAPI, keys: dict[str, str]
) -> None:
    publish_pharma(app)
    created = client.post("/v1/sessions", json=SCENARIO, headers=bearer(keys["learner"]))
    session_id = created.json()["session_id"]
    line = "Doctor Ashgrove, many colleagues now prescribe Velmora for stubborn migraine."
    with connect(client, session_id, keys["learner"]) as socket:
        receive_until(socket, event_type("persona.final"))
        socket.send_json(final("u1", line))
        reply = receive_until(socket, event_type("persona.final"))
    # The line was embedded: the off-label rule matched it by meaning.
    assert any(m["event"]["type"] == "flag.raised" for m in reply)
    root = app.state.service.config.knowledge_root
    cache = root / EMBEDDING_CACHE_FOLDER / CACHE_FILE
    if cache.exists():
        with sqlite3.connect(cache) as db:
            keys_on_disk = {row[0] for row in db.execute("SELECT text_sha256 FROM embedding")}
        assert text_key(line) not in keys_on_disk


def test_a_scenario_is_parsed_once_until_one_of_its_files_changes(tmp_path: Path) -> None:
    from policies import pack_path

    folder = tmp_path / "pack"
    shutil.copytree(pack_path("pharma"), folder)
    cache = ScenarioCache()
    first = cache.load(folder / "gp_visit.yaml")
    assert cache.load(folder / "gp_visit.yaml") is first
    assert first.policy_id == "pharma-detailing-us"
    policy = folder / first.scenario.policy
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("pharma-detailing-us", "pharma-detailing-eu", 1),
        encoding="utf-8",
    )
    assert cache.load(folder / "gp_visit.yaml").policy_id == "pharma-detailing-eu"
    scenario = folder / "gp_visit.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8") + "\nnot: [valid", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"gp_visit\.yaml"):
        cache.load(scenario)
