"""The streaming session loop over a real WebSocket: events as they happen, resuming without
loss or duplicates, structured errors that leave the session usable, limits, and failing
closed when the audit log cannot record."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from audit.writer_process import AuditWriterProcess
from server import Limits, ServerConfig, create_app
from server.auth import Role
from tests.server.conftest import bearer
from tests.server.test_sessions import (
    Message,
    connect,
    event_type,
    publish,
    receive_until,
    recorded_events,
    service,
    start,
    types,
)


def partial(utterance_id: str, revision: int, text: str) -> Message:
    return {
        "type": "utterance.partial",
        "utterance_id": utterance_id,
        "revision": revision,
        "text": text,
    }


def final(utterance_id: str, text: str) -> Message:
    return {"type": "utterance.final", "utterance_id": utterance_id, "text": text}


def is_error(message: Message) -> bool:
    return message.get("type") == "error"


def refusal(client: TestClient, path: str) -> tuple[Message, int]:
    """The error frame and close code of a connection the server refuses."""
    with client.websocket_connect(path) as socket:
        error: Message = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    return error, closed.value.code


@pytest.fixture
def session_id(client: TestClient, app: FastAPI, keys: dict[str, str]) -> str:
    publish(app)
    created: str = start(client, keys["learner"])["session_id"]
    return created


def test_flags_coaching_escalation_and_score_arrive_as_they_happen(
    client: TestClient, keys: dict[str, str], session_id: str
) -> None:
    with connect(client, session_id, keys["learner"]) as socket:
        assert socket.receive_json()["event"]["type"] == "session.started"
        # A phrase is complete once the next word has begun ("returns" could be "returnsX").
        words = [
            "I can",
            "I can offer guaranteed",
            "I can offer guaranteed returns",
            "I can offer guaranteed returns today",
        ]
        after_partials: list[list[Message]] = []
        for revision, text in enumerate(words):
            socket.send_json(partial("u1", revision, text))
            after_partials.append(receive_until(socket, event_type("utterance.partial")))
            assert after_partials[-1][-1]["event"]["revision"] == revision
        # The flag is raised on the partial that completes the phrase, and acted on at once.
        flagged = receive_until(socket, event_type("escalation.triggered"))
        assert types(flagged) == ["flag.raised", "coaching.hint", "escalation.triggered"]
        flag = flagged[0]["event"]
        assert flag["provisional"] is True
        assert flag["finding"]["rule_id"] == "no-guarantees" and flag["finding"]["revision"] == 3
        assert flagged[1]["event"]["text"] == "Say that capital is at risk; never promise returns."

        socket.send_json(final("u1", "What are you hoping for? I can offer guaranteed returns."))
        socket.send_json({"type": "session.end"})
        rest = receive_until(socket, event_type("session.ended"))
    kinds = types(rest)
    assert kinds[0] == "escalation.triggered"  # the policy's own escalation, to its channel
    assert rest[0]["event"]["channels"] == ["compliance-team"]
    assert "utterance.final" in kinds and "objective.progress" in kinds
    assert kinds[-2:] == ["score.computed", "session.ended"]
    scorecard = rest[-2]["event"]["scorecard"]
    assert scorecard["passed"] is False
    assert [item["rule_id"] for item in scorecard["blockers_breached"]] == ["no-guarantees"]
    seqs = [m["seq"] for batch in after_partials for m in batch] + [
        m["seq"] for m in flagged + rest
    ]
    assert seqs == list(range(2, len(seqs) + 2))


def test_a_client_that_reconnects_after_its_last_seq_gets_exactly_the_missing_events(
    client: TestClient, app: FastAPI, keys: dict[str, str], session_id: str
) -> None:
    with connect(client, session_id, keys["learner"]) as socket:
        socket.send_json(final("u1", "I can offer guaranteed returns."))
        first = receive_until(socket, event_type("utterance.final"))
        # Disconnect before reading the flag, coaching and escalations of that line.
    last_seen = first[-1]["seq"]
    with connect(client, session_id, keys["learner"], after=last_seen) as socket:
        socket.send_json({"type": "session.end"})
        second = receive_until(socket, event_type("session.ended"))
    assert second[0]["seq"] == last_seen + 1
    assert types(second)[:2] == ["flag.raised", "coaching.hint"]
    everything = first + second
    assert [m["seq"] for m in everything] == list(range(1, len(everything) + 1))
    assert [m["event"] for m in everything] == recorded_events(app, session_id)


def test_only_the_owning_learner_may_connect(
    client: TestClient, keys: dict[str, str], session_id: str
) -> None:
    stream = f"/v1/sessions/{session_id}/stream"
    cases = {
        f"{stream}?access_token={keys['other_learner']}": ("forbidden", 4403),
        f"{stream}?access_token={keys['auditor']}": ("forbidden", 4403),
        f"{stream}?access_token={keys['officer']}": ("forbidden", 4403),
        stream: ("unauthenticated", 4401),
        f"/v1/sessions/nope/stream?access_token={keys['learner']}": ("not_found", 4404),
        f"{stream}?after=99&access_token={keys['learner']}": ("invalid_request", 4400),
    }
    for path, (code, close_code) in cases.items():
        error, closed = refusal(client, path)
        assert error["type"] == "error" and "seq" not in error
        assert (error["error"]["code"], closed) == (code, close_code), path
    # The key may also come in the Authorization header.
    with client.websocket_connect(stream, headers=bearer(keys["learner"])) as socket:
        assert socket.receive_json()["seq"] == 1


def test_invalid_messages_get_structured_errors_and_the_session_carries_on(
    client: TestClient, keys: dict[str, str], session_id: str
) -> None:
    bad: list[tuple[Any, str]] = [
        ("not json", "invalid_json"),
        ([1, 2], "invalid_message"),
        ({"type": "utterance.shout", "text": "hi"}, "unknown_type"),
        ({"type": "utterance.final", "text": "no id"}, "invalid_message"),
        ({**partial("u1", -1, "x")}, "invalid_message"),
        ({**final("u1", "x"), "speaker": "persona"}, "invalid_message"),
        (final("persona-9", "pretending to be the persona"), "invalid_message"),
        (final("u1", "x" * 20_000), "message_too_large"),
    ]
    with connect(client, session_id, keys["learner"]) as socket:
        socket.receive_json()
        for message, code in bad:
            if isinstance(message, str):
                socket.send_text(message)
            else:
                socket.send_json(message)
            error = socket.receive_json()
            assert error["type"] == "error" and "seq" not in error, message
            assert error["error"]["code"] == code, (message, error)
            assert error["error"]["message"]
        socket.send_json(final("u1", "Hello, what are you hoping for?"))
        line = receive_until(socket, event_type("objective.progress"))
        assert line[0]["seq"] == 2 and line[0]["event"]["type"] == "utterance.final"
        socket.send_json(final("u1", "again"))
        again = socket.receive_json()
        assert again["error"]["code"] == "utterance_closed"
        assert again["error"]["utterance_id"] == "u1"
        socket.send_json({"type": "session.end"})
        ended = receive_until(socket, event_type("session.ended"))
        assert ended[0]["seq"] == line[-1]["seq"] + 1
        socket.send_json(final("u2", "anyone there?"))
        after_end = socket.receive_json()
        assert after_end["error"]["code"] == "session_ended"


def test_utterances_beyond_the_rate_limit_are_refused(
    tmp_path: Path, database: str | None
) -> None:
    limits = Limits(utterances_per_second=0.01)
    app = create_app(ServerConfig(tmp_path / "home", limits, database_url=database))
    publish(app)
    key = service(app).keys.create(Role.learner, "learner-1")[1]
    with TestClient(app) as client:
        session_id = start(client, key)["session_id"]
        with connect(client, session_id, key) as socket:
            socket.receive_json()
            socket.send_json(partial("u1", 0, "Hello"))
            assert socket.receive_json()["event"]["type"] == "utterance.partial"
            socket.send_json(final("u1", "Hello there"))
            limited = socket.receive_json()
            assert limited["error"]["code"] == "rate_limited"
            socket.send_json({"type": "session.end"})  # not an utterance: still accepted
            assert types(receive_until(socket, event_type("session.ended")))[-1] == "session.ended"


def assert_failed_closed(socket: Any) -> None:
    """The next frame is the audit_unavailable error, then the socket closes with 1011."""
    error = socket.receive_json()
    assert error["type"] == "error" and error["error"]["code"] == "audit_unavailable"
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    assert closed.value.code == 1011


def app_writing_in_process(tmp_path: Path, database: str | None) -> tuple[FastAPI, str]:
    """A service whose sessions' own threads write the audit log (no writer process), so
    closing the store they write to makes the next append fail; and a learner's key."""
    config = ServerConfig(tmp_path / "home", database_url=database, audit_writer="in-process")
    app = create_app(config)
    publish(app)
    return app, service(app).keys.create(Role.learner, "learner-1")[1]


def shown_until_the_log_breaks(
    client: TestClient,
    session_id: str,
    key: str,
    first: dict[str, Any],
    then: dict[str, Any],
    break_log: Callable[[], None],
) -> list[dict[str, Any]]:
    """Send `first`, break the audit log, send `then`: the session must fail closed.
    Returns what the client was shown before the failure."""
    with connect(client, session_id, key) as socket:
        socket.send_json(first)
        seen = receive_until(socket, event_type("utterance.partial"))
        break_log()
        socket.send_json(then)
        assert_failed_closed(socket)
    return seen


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (partial("u1", 0, "Hello"), final("u1", "Hello there")),
        # Partials are evaluated on the event loop and their records written elsewhere
        # (LiveSession.partial_on_loop): a failed write must fail the session just as closed.
        (
            partial("u1", 0, "I can offer"),
            partial("u1", 1, "I can offer guaranteed returns today"),
        ),
    ],
    ids=["final", "flagged-partial"],
)
def test_when_the_audit_log_cannot_record_the_session_fails_closed(
    tmp_path: Path, database: str | None, first: dict[str, Any], then: dict[str, Any]
) -> None:
    app, learner = app_writing_in_process(tmp_path, database)
    with TestClient(app) as client:
        session_id = start(client, learner)["session_id"]
        seen = shown_until_the_log_breaks(
            client, session_id, learner, first, then, service(app).audit_store.close
        )
        # Nothing of the unrecorded line was shown; the session accepts no more input.
        assert types(seen) == ["session.started", "utterance.partial"]
        summary = client.get(f"/v1/sessions/{session_id}", headers=bearer(learner)).json()
        assert summary["state"] == "failed" and summary["last_seq"] == 2
        assert summary["failure"]["code"] == "audit_unavailable"
        with connect(client, session_id, learner, after=2) as socket:
            assert socket.receive_json()["error"]["code"] == "audit_unavailable"
            with pytest.raises(WebSocketDisconnect) as closed:
                socket.receive_json()
            assert closed.value.code == 1011
        refused = client.post(
            "/v1/sessions", json={"policy_id": "call-rules"}, headers=bearer(learner)
        )
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "audit_unavailable"


def test_a_flag_on_a_partial_is_shown_only_once_it_is_recorded_from_the_loop(
    client: TestClient,
    app: FastAPI,
    keys: dict[str, str],
    session_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = service(app).audit_log
    assert isinstance(writer, AuditWriterProcess)
    submitted_from: list[str] = []
    submit = writer.submit

    def watched_submit(*args: Any, **kwargs: Any) -> Any:
        submitted_from.append(threading.current_thread().name)
        return submit(*args, **kwargs)

    monkeypatch.setattr(writer, "submit", watched_submit)
    with connect(client, session_id, keys["learner"]) as socket:
        receive_until(socket, event_type("session.started"))
        submitted_from.clear()
        socket.send_json(partial("u1", 0, "I can offer guaranteed returns today"))
        shown = receive_until(socket, event_type("flag.raised"))
        # By the time the client sees the flag, the audit log holds it.
        recorded = [e for e in recorded_events(app, session_id) if e["type"] == "flag.raised"]
        assert [e["finding"]["rule_id"] for e in recorded] == ["no-guarantees"]
        assert recorded[0]["finding"]["finding_id"] == shown[-1]["event"]["finding"]["finding_id"]
    # Handed to the writer process by the event loop's own thread, not a worker thread.
    assert submitted_from and all(name == submitted_from[0] for name in submitted_from)
    assert "AnyIO worker thread" not in submitted_from[0]


@pytest.mark.parametrize(
    "then",
    [
        partial("u1", 1, "I can offer guaranteed returns today"),
        # A final is judged on a worker thread and its records awaited on the loop
        # (LiveSession.final_on_loop).
        final("u1", "I can offer guaranteed returns today."),
    ],
    ids=["flagged-partial", "final"],
)
def test_a_step_the_writer_process_refuses_fails_the_session_closed(
    client: TestClient, app: FastAPI, keys: dict[str, str], session_id: str, then: Message
) -> None:
    shown_until_the_log_breaks(
        client,
        session_id,
        keys["learner"],
        partial("u1", 0, "I can offer"),
        then,
        service(app).audit_log.close,  # every later append raises
    )
    summary = client.get(f"/v1/sessions/{session_id}", headers=bearer(keys["learner"])).json()
    assert summary["state"] == "failed" and summary["failure"]["code"] == "audit_unavailable"


def test_a_killed_audit_writer_is_replaced_and_the_session_goes_on_recorded(
    client: TestClient, app: FastAPI, keys: dict[str, str], session_id: str
) -> None:
    writer = service(app).audit_log
    assert isinstance(writer, AuditWriterProcess)
    killed = writer.pid
    with connect(client, session_id, keys["learner"]) as socket:
        receive_until(socket, event_type("session.started"))
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while writer.healthy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not writer.healthy
        socket.send_json(final("u1", "Hello there"))
        assert types(receive_until(socket, event_type("utterance.final")))[-1] == (
            "utterance.final"
        )
        socket.send_json({"type": "session.end"})
        receive_until(socket, event_type("session.ended"))
    assert writer.pid != killed and writer.healthy
    recorded = recorded_events(app, session_id)
    assert [e["type"] for e in recorded][:1] == ["session.started"]
    assert "utterance.final" in [e["type"] for e in recorded]
    assert recorded[-1]["type"] == "session.ended"


def test_a_scenario_persona_replies_and_the_session_is_scored(
    client: TestClient, app: FastAPI, keys: dict[str, str]
) -> None:
    from policies import pack_path

    publish(app, (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8"))
    created = client.post(
        "/v1/sessions",
        json={"policy_id": "pharma-detailing-us", "scenario": "pharma/gp_visit.yaml"},
        headers=bearer(keys["learner"]),
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    with connect(client, session_id, keys["learner"]) as socket:
        opening = receive_until(socket, event_type("persona.final"))
        assert types(opening) == ["session.started", "persona.final"]
        assert opening[0]["event"]["knowledge_base"] == "velmora-label"
        socket.send_json(final("u1", "Velmora lowers blood pressure, and it is completely safe."))
        reply = receive_until(socket, event_type("persona.final"))
        socket.send_json({"type": "session.end"})
        ending = receive_until(socket, event_type("session.ended"))
    kinds = types(reply)
    assert "flag.raised" in kinds and "retrieval.used" in kinds
    assert "persona.delta" in kinds and kinds[-1] == "persona.final"
    deltas = "".join(m["event"]["delta"] for m in reply if m["event"]["type"] == "persona.delta")
    assert deltas.strip() == reply[-1]["event"]["text"]
    assert types(ending)[-2:] == ["score.computed", "session.ended"]
    assert ending[-2]["event"]["scorecard"]["passed"] is False
    summary = client.get(f"/v1/sessions/{session_id}", headers=bearer(keys["auditor"])).json()
    assert summary["scenario"] == "gp-visit" and summary["score"]["passed"] is False
