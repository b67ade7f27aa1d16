"""Practice sessions: start one, stream it over a WebSocket or SSE, read its summary.

A learner starts a session against a published policy version (optionally with a sample
scenario, whose persona then replies), then drives it over `WS /v1/sessions/{id}/stream`:
partial and final utterances in, every event out, numbered so that a client resumes from the
last seq it saw. The same numbered events are served as Server-Sent Events for clients that
only listen. The protocol is described in docs/streaming-protocol.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Query, WebSocket
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from engine import InvalidUtteranceError, RecordingFailedError, Session, SessionNotActiveError
from engine.held_recording import HoldingRecorder
from engine.persona import ScriptedPersona
from engine.practice import Conversation
from engine.recording import AuditRecorder
from engine.scenarios import Scenario
from engine.session import Knowledge
from evaluators.findings import Scorecard
from policies import DocumentError, pack_path
from server.auth import Principal, Role
from server.client_messages import (
    ClientMessage,
    FinalMessage,
    MessageRejected,
    PartialMessage,
    parse_client_message,
)
from server.config import Limits
from server.errors import ApiError, error_body
from server.live import (
    LiveSession,
    LiveSessions,
    OutgoingMessage,
    SessionNotFoundError,
    TooManySessionsError,
)
from server.policy_registry import PolicyNotFoundError, StoredPolicy
from server.scenario_cache import ScenarioCache
from server.security import current_principal, require, service_state, socket_principal
from server.state import ServiceState

router = APIRouter(prefix="/v1", tags=["sessions"])
log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 15.0
SCENARIO_NAME = re.compile(r"^(?P<pack>[a-z0-9][a-z0-9_-]*)/(?P<file>[A-Za-z0-9][\w.-]*\.ya?ml)$")
# WebSocket close codes: 1011 when the session fails closed; 4000 + HTTP status when the
# connection is refused (4400 bad resume point, 4401, 4403, 4404).
CLOSE_SESSION_FAILED = 1011
CLOSE_REFUSED_BASE = 4000


# --- REST ---------------------------------------------------------------------------------


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_id: str = Field(min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, description="Latest published if omitted.")
    scenario: str | None = Field(
        default=None,
        max_length=200,
        description='A sample scenario, "pack/file.yaml" (e.g. "pharma/gp_visit.yaml"): a '
        "persona then replies to the learner.",
    )


class PolicyRef(BaseModel):
    id: str
    version: int
    digest: str


class SessionCreated(BaseModel):
    session_id: str
    policy: PolicyRef
    scenario: str | None
    stream: str = Field(description="WebSocket path of the session's stream.")
    events: str = Field(description="Server-Sent Events path of the same stream.")


class Failure(BaseModel):
    code: str
    message: str


class SessionSummary(BaseModel):
    session_id: str
    state: str = Field(description="active, ended or failed.")
    learner: str
    policy: PolicyRef
    scenario: str | None
    knowledge_base: str | None
    created_at: datetime
    learner_turns: int
    findings: int
    last_seq: int = Field(description="The seq of the session's latest event.")
    score: Scorecard | None = Field(description="Set once the session has ended.")
    failure: Failure | None = Field(description="Why a failed session stopped.")


def _hub(state: ServiceState) -> LiveSessions:
    return state.live


def _live(state: ServiceState, session_id: str) -> LiveSession:
    try:
        return _hub(state).get(session_id)
    except SessionNotFoundError:
        raise ApiError(404, "not_found", f"no live session {session_id}") from None


def _may_read(live: LiveSession, principal: Principal) -> None:
    """Officers and auditors read every session; a learner reads only their own."""
    if principal.role is Role.learner and principal.subject != live.learner:
        raise ApiError(403, "forbidden", "this session belongs to another learner")


def _may_drive(live: LiveSession, principal: Principal) -> None:
    """Only the learner who owns the session sends into it."""
    if principal.role is not Role.learner:
        raise ApiError(403, "forbidden", "only the session's learner can send into it")
    _may_read(live, principal)


def _published(state: ServiceState, policy_id: str, version: int | None) -> StoredPolicy:
    try:
        if version is None:
            return state.policies.latest_published(policy_id)
        stored = state.policies.get(policy_id, version)
    except PolicyNotFoundError as error:
        raise ApiError(404, "policy_not_found", str(error)) from None
    if not stored.published:
        raise ApiError(
            404, "policy_not_found", f"{policy_id} version {version} is a draft, not published"
        )
    return stored


def _scenario(
    scenarios: ScenarioCache, name: str, policy_id: str
) -> tuple[Scenario, Path]:
    """The sample scenario `pack/file.yaml` and its folder; it must practise `policy_id`."""
    found = SCENARIO_NAME.match(name)
    if found is None:
        raise ApiError(422, "invalid_request", 'scenario: write "pack/file.yaml"')
    try:
        folder = pack_path(found["pack"])
    except FileNotFoundError as error:
        raise ApiError(404, "scenario_not_found", str(error)) from None
    path = folder / found["file"]
    if not path.is_file() or found["file"] == "policy.yaml":
        raise ApiError(404, "scenario_not_found", f"no scenario {name}")
    try:
        loaded = scenarios.load(path)
    except DocumentError as error:
        raise ApiError(422, "invalid_scenario", str(error)) from None
    scenario, practised = loaded.scenario, loaded.policy_id
    if practised != policy_id:
        raise ApiError(
            422,
            "scenario_policy_mismatch",
            f"scenario {name} practises policy {practised}, not {policy_id}",
        )
    return scenario, folder


def _knowledge(state: ServiceState, name: str | None, documents: list[Path]) -> Knowledge | None:
    """The knowledge base `name`, ingesting `documents` on first use; None when it is missing
    or empty (its grounding rules are then reported as not evaluated, not silently passed)."""
    if name is None:
        return None
    from knowledge_base import KnowledgeBaseError, open_knowledge_base

    hub = _hub(state)
    try:
        with hub.setup_lock:
            # Opened once per process: opening one (a Chroma client and its collection) took
            # about 0.1 s, and 200 sessions starting at once queued 20 s behind each other.
            knowledge = hub.knowledge_bases.get(name)
            if knowledge is None:
                knowledge = open_knowledge_base(
                    name, state.config.knowledge_root, embedder=hub.embedder()
                )
            if len(knowledge) == 0:
                for document in documents:
                    knowledge.ingest(document)
            if len(knowledge) == 0:
                return None
            hub.knowledge_bases[name] = knowledge
            return knowledge
    except KnowledgeBaseError as error:
        raise ApiError(503, "knowledge_unavailable", str(error)) from None


def _start(state: ServiceState, principal: Principal, request: SessionRequest) -> LiveSession:
    hub = _hub(state)
    stored = _published(state, request.policy_id, request.version)
    plan = hub.plans.plan(stored.digest, lambda: stored.policy, hub.embedder)
    policy = plan.policy
    scenario, folder = (
        _scenario(hub.scenarios, request.scenario, stored.policy_id)
        if request.scenario
        else (None, None)
    )
    if scenario is not None and folder is not None:
        documents = [folder / name for name in scenario.documents]
        knowledge = _knowledge(state, scenario.knowledge_base or policy.knowledge_base, documents)
    else:
        knowledge = _knowledge(state, policy.knowledge_base, [])
    recorder = HoldingRecorder(AuditRecorder(state.audit_log))
    session = Session(
        plan,
        learner=principal.subject,
        recorder=recorder,
        scenario=scenario.scenario if scenario else None,
        knowledge=knowledge,
    )
    conversation = (
        Conversation(session, ScriptedPersona(scenario, hub.embedder(), knowledge))
        if scenario is not None
        else None
    )
    return LiveSession(
        session,
        key_id=principal.key_id,
        limits=state.config.limits,
        conversation=conversation,
        prefetcher=hub.prefetcher,
        recorder=recorder,
    )


@router.post("/sessions", status_code=201, response_model=SessionCreated)
def create_session(
    body: SessionRequest,
    principal: Annotated[Principal, Depends(require(Role.learner))],
    state: Annotated[ServiceState, Depends(service_state)],
) -> SessionCreated:
    """Start a practice session pinned to a published policy version."""
    hub = _hub(state)
    try:
        with hub.slot(principal.key_id):
            live = _start(state, principal, body)
            try:
                live.start()
            except RecordingFailedError as error:
                log.error("session %s not started: %s", live.session_id, error)
                raise ApiError(
                    503,
                    "audit_unavailable",
                    "the audit log cannot record sessions right now, so none can start",
                ) from None
            hub.add(live)
    except TooManySessionsError as error:
        raise ApiError(429, "too_many_sessions", str(error)) from None
    version = live.session.policy_version
    return SessionCreated(
        session_id=live.session_id,
        policy=PolicyRef(id=version.id, version=version.version, digest=version.digest),
        scenario=live.session.scenario,
        stream=f"/v1/sessions/{live.session_id}/stream",
        events=f"/v1/sessions/{live.session_id}/events",
    )


@router.get("/sessions/{session_id}", response_model=SessionSummary)
def session_summary(
    session_id: str,
    principal: Annotated[Principal, Depends(current_principal)],
    state: Annotated[ServiceState, Depends(service_state)],
) -> SessionSummary:
    live = _live(state, session_id)
    _may_read(live, principal)
    session = live.session
    version = session.policy_version
    failure = live.messages.failure
    return SessionSummary(
        session_id=live.session_id,
        state=live.state.value,
        learner=live.learner,
        policy=PolicyRef(id=version.id, version=version.version, digest=version.digest),
        scenario=session.scenario,
        knowledge_base=session.knowledge.name if session.knowledge else None,
        created_at=live.created_at,
        learner_turns=session.learner_turns,
        findings=len(session.findings),
        last_seq=live.messages.last_seq,
        score=session.scorecard,
        failure=Failure(code=failure.code, message=failure.message) if failure else None,
    )


def _resume_point(value: str | None, live: LiveSession) -> int:
    """The seq a client last saw (0: from the start); it cannot be beyond the latest."""
    if value is None or value == "":
        return 0
    try:
        after = int(value)
    except ValueError:
        raise ApiError(
            400, "invalid_request", f"the resume point must be a seq, not {value!r}"
        ) from None
    if after < 0 or after > live.messages.last_seq:
        raise ApiError(
            400,
            "invalid_request",
            f"cannot resume after {after}: the session's events run from 1 to "
            f"{live.messages.last_seq}",
        )
    return after


# --- Server-Sent Events -----------------------------------------------------------------


def _sse(message: OutgoingMessage) -> str:
    return f"id: {message.seq}\ndata: {message.text}\n\n"


async def _sse_stream(live: LiveSession, after: int, follow: bool) -> AsyncIterator[str]:
    if not follow:
        for message in live.messages.after(after):
            yield _sse(message)
        return
    with live.messages.follow(after) as follower:
        while not follower.done:
            batch = await follower.next_batch(KEEP_ALIVE_SECONDS)
            if batch:
                yield "".join(_sse(message) for message in batch)
            elif not follower.done:
                yield ": keep-alive\n\n"
    failure = live.messages.failure
    if failure is not None:
        data = json.dumps({"type": "error", **error_body(failure.code, failure.message)})
        yield f"event: session.error\ndata: {data}\n\n"


@router.get(
    "/sessions/{session_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 204: {"description": "Nothing more"}},
)
def session_events(
    session_id: str,
    principal: Annotated[Principal, Depends(current_principal)],
    state: Annotated[ServiceState, Depends(service_state)],
    after: Annotated[int | None, Query(ge=0, description="Resume after this seq.")] = None,
    follow: Annotated[bool, Query(description="Stream live events until the end.")] = True,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """The session's events as Server-Sent Events, each with `id: <seq>`. `Last-Event-ID`
    (sent by a reconnecting EventSource) takes precedence over `?after=`."""
    live = _live(state, session_id)
    _may_read(live, principal)
    start = _resume_point(last_event_id if last_event_id is not None else str(after or 0), live)
    if live.messages.closed and start >= live.messages.last_seq:
        # Nothing more will ever come: 204 tells an EventSource to stop reconnecting.
        return Response(status_code=204)
    return StreamingResponse(
        _sse_stream(live, start, follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- WebSocket ----------------------------------------------------------------------------


def _error_frame(code: str, message: str, utterance_id: str | None = None) -> str:
    extra = {"utterance_id": utterance_id} if utterance_id is not None else {}
    return json.dumps({"type": "error", **error_body(code, message, **extra)}, ensure_ascii=False)


class SessionSocket:
    """One client's WebSocket on one session: forwards the session's messages from a resume
    point while it receives and applies the client's messages."""

    def __init__(self, websocket: WebSocket, live: LiveSession, limits: Limits) -> None:
        self._websocket = websocket
        self._live = live
        self._limits = limits
        # asyncio's lock, not anyio's: anyio's yields to the loop on every acquire, once per
        # message sent, and the loop is what every session's latency waits for.
        self._send_lock = asyncio.Lock()

    async def serve(self, after: int) -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._forward, after, tasks.cancel_scope.cancel)
            await self._receive()
            tasks.cancel_scope.cancel()

    async def _send(self, text: str) -> None:
        async with self._send_lock:
            await self._websocket.send_text(text)

    async def _forward(self, after: int, stop: Callable[[], None]) -> None:
        messages = self._live.messages
        try:
            with messages.follow(after) as follower:
                while not follower.done:
                    for message in await follower.next_batch():
                        await self._send(message.text)
            if messages.failure is not None:
                await self._send(_error_frame(messages.failure.code, messages.failure.message))
                await self._websocket.close(CLOSE_SESSION_FAILED, messages.failure.code)
                stop()
        except (WebSocketDisconnect, OSError, RuntimeError):
            stop()  # the client has gone

    async def _receive(self) -> None:
        """Apply the client's messages in order until it disconnects."""
        try:
            while True:
                frame = await self._websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    return
                raw = frame.get("text")
                if raw is None:
                    raw = (frame.get("bytes") or b"").decode("utf-8", errors="replace")
                try:
                    await self._apply(parse_client_message(raw, self._limits.max_message_bytes))
                except MessageRejected as rejected:
                    await self._send(
                        _error_frame(rejected.code, rejected.message, rejected.utterance_id)
                    )
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the connection is gone (or was closed by the forwarding side)

    async def _apply(self, message: ClientMessage) -> None:
        live = self._live
        utterance_id = getattr(message, "utterance_id", None)
        if not live.active:
            state = live.state.value
            raise MessageRejected("session_ended", f"the session is {state}", utterance_id)
        # A partial is evaluated on this loop (`LiveSession.partial_on_loop`). A final, which
        # may wait for the model or the knowledge base, is judged on a worker thread and its
        # records awaited here (`final_on_loop`); the end runs on a worker thread.
        step: Callable[[], Awaitable[None]]
        if isinstance(message, PartialMessage):
            step = partial(
                live.partial_on_loop, message.utterance_id, message.revision, message.text
            )
        elif isinstance(message, FinalMessage):
            step = partial(live.final_on_loop, message.utterance_id, message.text)
        else:
            step = partial(run_in_threadpool, live.end)
        if utterance_id is not None and not live.allow_utterance():
            limit = self._limits.utterances_per_second
            raise MessageRejected(
                "rate_limited", f"over {limit:g} utterances per second; slow down", utterance_id
            )
        try:
            await step()
        except InvalidUtteranceError as error:
            raise MessageRejected("utterance_closed", str(error), utterance_id) from None
        except SessionNotActiveError as error:
            raise MessageRejected("session_ended", str(error), utterance_id) from None
        except RecordingFailedError as error:
            # The forwarding side tells every connected client and closes their sockets.
            log.error("session %s failed closed: %s", live.session_id, error)
        except Exception:
            log.exception("session %s: %s failed", live.session_id, type(message).__name__)
            raise MessageRejected(
                "internal_error", "the message could not be processed", utterance_id
            ) from None


@router.websocket("/sessions/{session_id}/stream")
async def session_stream(websocket: WebSocket, session_id: str) -> None:
    """The session's events from `?after=<seq>` on, then live; client messages in."""
    await websocket.accept()
    state: ServiceState = websocket.app.state.service
    try:
        # A database look-up: off the event loop, which is serving every other session.
        principal = await run_in_threadpool(socket_principal, websocket)
        live = _live(state, session_id)
        _may_drive(live, principal)
        after = _resume_point(websocket.query_params.get("after"), live)
    except ApiError as error:
        await websocket.send_text(_error_frame(error.code, error.message))
        await websocket.close(CLOSE_REFUSED_BASE + error.status, error.code)
        return
    await SessionSocket(websocket, live, state.config.limits).serve(after)
