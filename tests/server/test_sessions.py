"""Starting sessions, reading their summaries and their events as Server-Sent Events, over HTTP.

The helpers here (a small lexical + PII policy that loads no model, publishing it, reading a
socket or an SSE body) are shared with test_streaming.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from audit import decode_record
from audit.content_read import rehydrated, store_texts
from server import Limits, ServerConfig, create_app
from server.auth import Role
from server.state import ServiceState
from tests.server.conftest import bearer

POLICY = """\
policy: call-rules
version: 1
guardrails:
  - id: no-guarantees
    severity: critical
    match: {phrases: [guaranteed returns, risk-free]}
    on_violation: [coach, escalate]
    coach: Say that capital is at risk; never promise returns.
  - id: no-email
    kind: pii
    entities: [EMAIL]
    on_violation: [redact]
objectives:
  - id: ask-goals
    match: {phrases: [what are you hoping]}
rubric:
  pass_mark: 0.7
  criteria:
    - {id: goals, weight: 0.2, from_objective: ask-goals}
    - {id: claims, weight: 0.5, from_guardrails: [no-guarantees]}
    - {id: privacy, weight: 0.3, from_guardrails: [no-email]}
  blockers: [no-guarantees]
escalation:
  - when: {severity: critical}
    do: [{notify: compliance-team}]
"""
TRANSIENT_TYPES = {"utterance.partial", "persona.delta"}
Message = dict[str, Any]


def service(app: FastAPI) -> ServiceState:
    state: ServiceState = app.state.service
    return state


def publish(app: FastAPI, source: str = POLICY) -> str:
    """Save and publish `source`; returns the published digest."""
    registry = service(app).policies
    draft = registry.save_draft(source, "officer-1")
    return registry.publish(draft.policy_id, draft.version, "officer-1").digest


def start(client: TestClient, key: str, **body: Any) -> Message:
    response = client.post(
        "/v1/sessions", json={"policy_id": "call-rules", **body}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    created: Message = response.json()
    return created


def connect(client: TestClient, session_id: str, key: str, after: int | None = None) -> Any:
    query = f"access_token={key}" + (f"&after={after}" if after is not None else "")
    return client.websocket_connect(f"/v1/sessions/{session_id}/stream?{query}")


def receive_until(socket: WebSocketTestSession, done: Callable[[Message], bool]) -> list[Message]:
    """Messages from the socket up to and including the first for which `done` holds."""
    received: list[Message] = []
    while True:
        message: Message = socket.receive_json()
        received.append(message)
        if done(message):
            return received


def event_type(kind: str) -> Callable[[Message], bool]:
    return lambda message: message.get("event", {}).get("type") == kind


def types(messages: Iterable[Message]) -> list[str]:
    return [message["event"]["type"] for message in messages if "event" in message]


def sse_messages(body: str) -> list[tuple[str | None, str | None, Message]]:
    """(id, event name, data) of each SSE message in `body`; comments are skipped."""
    parsed = []
    for block in body.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if "data" in fields:
            parsed.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    return parsed


def recorded_events(app: FastAPI, session_id: str) -> list[Message]:
    """The events of `session_id` as the audit log holds them, signatures checked, with the
    learner text sealed in them put back from the store's content (`audit.content`)."""
    state = service(app)
    public = state.audit_log.key.public_key
    payloads = [
        decode_record(record.line, {public.keyid: public}) for record in state.audit_store.records()
    ]
    texts = store_texts(state.audit_store, [session_id])
    return [
        rehydrated(payload.event, texts) for payload in payloads if payload.session_id == session_id
    ]


def play_a_short_call(client: TestClient, session_id: str, key: str) -> list[Message]:
    """One learner line with a breach and personal data, then the end; every message seen."""
    with connect(client, session_id, key) as socket:
        socket.send_json(
            {
                "type": "utterance.final",
                "utterance_id": "u1",
                "text": "What are you hoping for? I offer guaranteed returns; write to a@b.com",
            }
        )
        socket.send_json({"type": "session.end"})
        return receive_until(socket, event_type("session.ended"))


@pytest.fixture
def published(app: FastAPI) -> str:
    return publish(app)


def test_a_session_is_pinned_to_the_latest_published_version(
    client: TestClient, app: FastAPI, keys: dict[str, str], published: str
) -> None:
    service(app).policies.save_draft(POLICY.replace("version: 1", "version: 2"), "officer-1")
    created = start(client, keys["learner"])
    assert created["policy"] == {"id": "call-rules", "version": 1, "digest": published}
    session_id = created["session_id"]
    assert created["stream"] == f"/v1/sessions/{session_id}/stream"
    assert created["events"] == f"/v1/sessions/{session_id}/events"

    summary = client.get(f"/v1/sessions/{session_id}", headers=bearer(keys["learner"])).json()
    assert summary["state"] == "active" and summary["learner"] == "learner-1"
    assert summary["policy"]["digest"] == published and summary["score"] is None
    assert summary["last_seq"] == 1  # session.started

    draft = client.post(
        "/v1/sessions",
        json={"policy_id": "call-rules", "version": 2},
        headers=bearer(keys["learner"]),
    )
    assert draft.status_code == 404 and draft.json()["error"]["code"] == "policy_not_found"
    unknown = client.post(
        "/v1/sessions", json={"policy_id": "nope"}, headers=bearer(keys["learner"])
    )
    assert unknown.status_code == 404


def test_only_learners_start_sessions_and_a_learner_reads_only_their_own(
    client: TestClient, keys: dict[str, str], published: str
) -> None:
    for role in ("auditor", "officer"):
        refused = client.post(
            "/v1/sessions", json={"policy_id": "call-rules"}, headers=bearer(keys[role])
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.post("/v1/sessions", json={"policy_id": "call-rules"}).status_code == 401

    session_id = start(client, keys["learner"])["session_id"]
    other = client.get(f"/v1/sessions/{session_id}", headers=bearer(keys["other_learner"]))
    assert other.status_code == 403
    other_events = client.get(
        f"/v1/sessions/{session_id}/events?follow=false&access_token={keys['other_learner']}"
    )
    assert other_events.status_code == 403
    for role in ("auditor", "officer"):
        summary = client.get(f"/v1/sessions/{session_id}", headers=bearer(keys[role]))
        assert summary.status_code == 200 and summary.json()["learner"] == "learner-1"
    missing = client.get("/v1/sessions/no-such-session", headers=bearer(keys["auditor"]))
    assert missing.status_code == 404


def test_open_sessions_per_key_are_limited_until_one_ends(
    tmp_path: Path, database: str | None
) -> None:
    limits = Limits(open_sessions_per_key=2)
    app = create_app(ServerConfig(tmp_path / "home", limits, database_url=database))
    publish(app)
    key = service(app).keys.create(Role.learner, "learner-1")[1]
    with TestClient(app) as client:
        first = start(client, key)["session_id"]
        start(client, key)
        refused = client.post("/v1/sessions", json={"policy_id": "call-rules"}, headers=bearer(key))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_sessions"
        with connect(client, first, key) as socket:
            socket.send_json({"type": "session.end"})
            receive_until(socket, event_type("session.ended"))
        start(client, key)


def test_sse_serves_the_same_numbered_events_and_resumes_from_last_event_id(
    client: TestClient, keys: dict[str, str], published: str
) -> None:
    session_id = start(client, keys["learner"])["session_id"]
    seen = play_a_short_call(client, session_id, keys["learner"])
    url = f"/v1/sessions/{session_id}/events"

    response = client.get(url, headers=bearer(keys["auditor"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    streamed = sse_messages(response.text)
    assert [data for _, _, data in streamed] == seen
    assert [int(seq) for seq, _, _ in streamed if seq] == list(range(1, len(streamed) + 1))

    # An EventSource reconnects to the same URL with Last-Event-ID, which wins over ?after=.
    resumed = client.get(
        f"{url}?after=1", headers={**bearer(keys["officer"]), "Last-Event-ID": "5"}
    )
    assert [data["seq"] for _, _, data in sse_messages(resumed.text)] == list(
        range(6, len(streamed) + 1)
    )
    # Nothing after the last event of an ended session: 204 stops an EventSource for good.
    finished = client.get(f"{url}?after={len(streamed)}", headers=bearer(keys["learner"]))
    assert finished.status_code == 204
    beyond = client.get(f"{url}?after={len(streamed) + 1}", headers=bearer(keys["learner"]))
    assert beyond.status_code == 400 and beyond.json()["error"]["code"] == "invalid_request"


def test_sse_follows_a_live_session_and_ends_with_it(
    client: TestClient, keys: dict[str, str], published: str
) -> None:
    session_id = start(client, keys["learner"])["session_id"]
    url = f"/v1/sessions/{session_id}/events?access_token={keys['learner']}"
    with client.stream("GET", url) as response:
        lines = response.iter_lines()
        received: list[Message] = []

        def read_until(kind: str) -> None:
            for line in lines:
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    if received[-1]["event"]["type"] == kind:
                        return
            raise AssertionError(f"the stream ended before {kind}")

        read_until("session.started")
        with connect(client, session_id, keys["learner"]) as socket:
            socket.send_json({"type": "utterance.final", "utterance_id": "u1", "text": "risk-free"})
            read_until("flag.raised")
            socket.send_json({"type": "session.end"})
            read_until("session.ended")
        # The server closed the stream after session.ended.
        assert [line for line in lines if line] == []
    assert [message["seq"] for message in received] == list(range(1, len(received) + 1))
    assert "score.computed" in types(received)


def test_the_audit_log_holds_exactly_the_durable_events_the_client_saw(
    client: TestClient, app: FastAPI, keys: dict[str, str], published: str
) -> None:
    session_id = start(client, keys["learner"])["session_id"]
    with connect(client, session_id, keys["learner"]) as socket:
        for revision, text in enumerate(
            ["I offer", "I offer guaranteed", "I offer guaranteed returns"]
        ):
            socket.send_json(
                {
                    "type": "utterance.partial",
                    "utterance_id": "u1",
                    "revision": revision,
                    "text": text,
                }
            )
        socket.send_json(
            {
                "type": "utterance.final",
                "utterance_id": "u1",
                "text": "I offer guaranteed returns, mail a@b.com",
            }
        )
        socket.send_json({"type": "session.end"})
        seen = receive_until(socket, event_type("session.ended"))
    durable = [
        message["event"] for message in seen if message["event"]["type"] not in TRANSIENT_TYPES
    ]
    assert len(durable) < len(seen)  # partials were streamed, not recorded
    assert recorded_events(app, session_id) == durable
    final = next(event for event in durable if event["type"] == "utterance.final")
    assert "a@b.com" not in final["text"]  # redacted before it was shown or recorded


def test_sessions_still_running_when_the_service_stops_are_recorded_as_abandoned(
    tmp_path: Path, database: str | None
) -> None:
    from audit import open_record_store

    config = ServerConfig(tmp_path / "home", database_url=database)
    app = create_app(config)
    publish(app)
    key = service(app).keys.create(Role.learner, "learner-1")[1]
    public = service(app).audit_log.key.public_key
    with TestClient(app) as client:
        session_id = start(client, key)["session_id"]
    with open_record_store(config.audit_location) as store:
        events = [
            decode_record(record.line, {public.keyid: public}).event for record in store.records()
        ]
    kinds = [event["type"] for event in events]
    assert kinds[0] == "session.started" and kinds[-2:] == ["score.computed", "session.ended"]
    assert events[-1]["reason"] == "abandoned" and events[-1]["session_id"] == session_id


def test_a_session_nobody_speaks_in_is_ended_as_abandoned_and_frees_its_place(
    tmp_path: Path, database: str | None
) -> None:
    limits = Limits(idle_session_seconds=0.4, open_sessions_per_key=2)
    app = create_app(ServerConfig(tmp_path / "home", limits, database_url=database))
    publish(app)
    key = service(app).keys.create(Role.learner, "learner-1")[1]
    with TestClient(app) as client:
        idle = start(client, key)["session_id"]
        talking = start(client, key)["session_id"]
        with connect(client, talking, key) as socket:
            receive_until(socket, event_type("session.started"))
            for revision in range(12):  # speaks every 0.1 s for 1.2 s: never idle that long
                socket.send_json(
                    {
                        "type": "utterance.partial",
                        "utterance_id": "u1",
                        "revision": revision,
                        "text": "hello " * (revision + 1),
                    }
                )
                time.sleep(0.1)
            assert service(app).live.get(talking).active
            ended = recorded_events(app, idle)[-1]
            assert ended["type"] == "session.ended" and ended["reason"] == "abandoned"
            third = start(client, key)  # the abandoned session no longer holds a place
            assert third["session_id"] not in (idle, talking)
            assert "session.ended" not in types_of(recorded_events(app, talking))


def types_of(events: Iterable[Message]) -> list[str]:
    return [event["type"] for event in events]
