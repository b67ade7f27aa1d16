"""Schemathesis against the app's own OpenAPI schema, in process: no input makes a 5xx.

Every operation in the schema is called with generated requests, as an officer (who may
write) and as an auditor (who reads and exports), with a few examples per operation so the
run stays short. The service holds a published policy and a recorded session, so listing and
exporting do real work. The session WebSocket is not in the OpenAPI schema and is covered by
tests/server/test_sessions.py and the authorisation matrix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from engine import FinalUtterance, Session
from engine.planning import plan_policy
from engine.recording import AuditRecorder
from server import ServerConfig, create_app
from server.auth import Role
from server.state import ServiceState
from tests.server.conftest import bearer

POLICY = (
    "policy: demo\n"
    "version: 1\n"
    "guardrails:\n"
    "  - id: no-guarantee\n"
    "    severity: violation\n"
    "    match: {phrases: [guarantee*]}\n"
)


def _seeded(state: ServiceState) -> None:
    """A published policy and one recorded session."""
    state.policies.save_draft(POLICY, "officer-1")
    stored = state.policies.publish("demo", 1, "officer-1")
    session = Session(
        plan_policy(stored.policy), learner="learner-1", recorder=AuditRecorder(state.audit_log)
    )
    session.start()
    session.ingest(FinalUtterance(utterance_id="u1", text="I guarantee it."))
    session.end()


APP = create_app(ServerConfig(Path(tempfile.mkdtemp(prefix="proctor-schemathesis-")) / "home"))
_seeded(APP.state.service)
OFFICER = bearer(APP.state.service.keys.create(Role.officer, "officer-1")[1])
AUDITOR = bearer(APP.state.service.keys.create(Role.auditor, "auditor-1")[1])
Message = MutableMapping[str, Any]


async def without_lifespan(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """APP, with the server's start-up and shutdown answered here: schemathesis ends the
    lifespan after every test, and the service's state closes with it, while the tests of
    the next operation still need it. The module's fixture closes it once, at the end."""
    if scope["type"] != "lifespan":
        await APP(scope, receive, send)
        return
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture(scope="module", autouse=True)
def _close_service() -> Iterator[None]:
    yield
    APP.state.service.close()


SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan)
FEW_EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@SCHEMA.parametrize()
@FEW_EXAMPLES
def test_no_server_error_as_officer(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate(headers=OFFICER, checks=[not_a_server_error])
    assert response.status_code < 500


@SCHEMA.parametrize()
@FEW_EXAMPLES
def test_no_server_error_as_auditor(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate(headers=AUDITOR, checks=[not_a_server_error])
    assert response.status_code < 500
