"""The authorisation matrix: every route of the app, called by every kind of caller.

Each row names a route, what each caller may do (401: no or an unknown key; 403: a role that
may not; ok: let through, whatever the outcome of the call itself), and how to call it. A
route the app serves without a row here fails `test_every_route_has_a_row`, so a new route
cannot ship without its authorisation being written down and tested.

To add a route: add a row to `ROWS` with its expectation (one of the constants below, or a
new `Expect`) and a probe (`call(...)` for HTTP, `socket(...)` for a WebSocket).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from server import ServerConfig, create_app
from server.auth import Role
from tests.postgres import fresh_schema, server_answers
from tests.server.conftest import bearer

ROLES = ("none", "officer", "learner", "other_learner", "auditor")
OK, UNAUTHENTICATED, FORBIDDEN = "ok", "401", "403"

POLICY = (
    "policy: demo\n"
    "version: {version}\n"
    "guardrails:\n"
    "  - id: no-guarantee\n"
    "    severity: violation\n"
    "    match: {{phrases: [guarantee*]}}\n"
)
FIXTURE = """\
name: A guarantee is flagged
transcript:
  - learner: I guarantee it.
expect:
  passed: false
  findings: [{rule: no-guarantee, turn: 1}]
"""


@dataclass(frozen=True)
class Expect:
    """What each caller gets: OK, "401" or "403"."""

    none: str
    officer: str
    learner: str
    other_learner: str
    auditor: str

    def for_role(self, role: str) -> str:
        value: str = getattr(self, role)
        return value


PUBLIC = Expect(OK, OK, OK, OK, OK)
ANY_ROLE = Expect(UNAUTHENTICATED, OK, OK, OK, OK)
OFFICER = Expect(UNAUTHENTICATED, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
AUDITOR = Expect(UNAUTHENTICATED, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
LEARNERS = Expect(UNAUTHENTICATED, FORBIDDEN, OK, OK, FORBIDDEN)
OWNER_AND_STAFF = Expect(UNAUTHENTICATED, OK, OK, FORBIDDEN, OK)
OWNER = Expect(UNAUTHENTICATED, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN)
STAFF = Expect(UNAUTHENTICATED, OK, FORBIDDEN, FORBIDDEN, OK)


@dataclass
class World:
    """A running service with a published policy and a live session owned by `learner`."""

    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    session_id: str
    digest: str

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "none" else bearer(self.keys[role])


Probe = Callable[[World, str], int]


def call(method: str, path: str, **request: Any) -> Probe:
    """An HTTP request; `{session_id}` and `{digest}` in `path` are filled in."""

    def probe(world: World, role: str) -> int:
        url = path.format(session_id=world.session_id, digest=world.digest)
        response = world.client.request(method, url, headers=world.headers(role), **request)
        assert response.status_code < 500, response.text
        return response.status_code

    return probe


def socket(path: str) -> Probe:
    """A WebSocket: a refusal is an error frame, then a close with 4000 + the HTTP status."""

    def probe(world: World, role: str) -> int:
        url = path.format(session_id=world.session_id)
        with world.client.websocket_connect(url, headers=world.headers(role)) as connection:
            frame = json.loads(connection.receive_text())
            if frame.get("type") != "error":
                return 200
            try:
                closing = connection.receive()
            except WebSocketDisconnect as disconnect:
                return disconnect.code - 4000
            return int(closing.get("code", 1000)) - 4000

    return probe


ROWS: dict[tuple[str, str], tuple[Expect, Probe]] = {
    ("GET", "/openapi.json"): (PUBLIC, call("GET", "/openapi.json")),
    ("GET", "/docs"): (PUBLIC, call("GET", "/docs")),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, call("GET", "/docs/oauth2-redirect")),
    ("GET", "/redoc"): (PUBLIC, call("GET", "/redoc")),
    ("GET", "/v1/health"): (PUBLIC, call("GET", "/v1/health")),
    # web pages and their files: public; each page asks for a key and calls the API with it
    ("GET", "/"): (PUBLIC, call("GET", "/")),
    ("GET", "/officer"): (PUBLIC, call("GET", "/officer")),
    ("GET", "/auditor"): (PUBLIC, call("GET", "/auditor")),
    ("GET", "/analytics"): (PUBLIC, call("GET", "/analytics")),
    ("GET", "/static/{file}"): (PUBLIC, call("GET", "/static/learner.js")),
    ("GET", "/.well-known/proctor/audit-keys"): (
        PUBLIC,
        call("GET", "/.well-known/proctor/audit-keys"),
    ),
    ("GET", "/.well-known/proctor/checkpoint"): (
        PUBLIC,
        call("GET", "/.well-known/proctor/checkpoint"),
    ),
    ("GET", "/v1/me"): (ANY_ROLE, call("GET", "/v1/me")),
    # policies: an officer writes, everyone reads
    ("POST", "/v1/policies"): (
        OFFICER,
        call("POST", "/v1/policies", json={"source": POLICY.format(version=2)}),
    ),
    ("GET", "/v1/policies"): (ANY_ROLE, call("GET", "/v1/policies")),
    ("GET", "/v1/policies/by-digest/{digest}"): (
        ANY_ROLE,
        call("GET", "/v1/policies/by-digest/{digest}"),
    ),
    ("GET", "/v1/policies/{policy_id}/versions/{version}"): (
        ANY_ROLE,
        call("GET", "/v1/policies/demo/versions/1"),
    ),
    ("POST", "/v1/policies/lint"): (
        OFFICER,
        call("POST", "/v1/policies/lint", json={"source": POLICY.format(version=9)}),
    ),
    ("POST", "/v1/policies/{policy_id}/versions/{version}/publish"): (
        OFFICER,
        call("POST", "/v1/policies/demo/versions/3/publish"),
    ),
    ("POST", "/v1/policies/{policy_id}/versions/{version}/test"): (
        OFFICER,
        call("POST", "/v1/policies/demo/versions/1/test", json={"fixtures": {"a.yaml": FIXTURE}}),
    ),
    # knowledge bases: an officer uploads, everyone reads (the probes avoid loading MiniLM)
    ("POST", "/v1/knowledge-bases/{name}/documents"): (
        OFFICER,
        call(
            "POST",
            "/v1/knowledge-bases/velmora-label/documents",
            files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))],
        ),
    ),
    ("GET", "/v1/knowledge-bases/{name}"): (
        ANY_ROLE,
        call("GET", "/v1/knowledge-bases/velmora-label"),
    ),
    ("GET", "/v1/knowledge-bases/{name}/search"): (
        ANY_ROLE,
        call("GET", "/v1/knowledge-bases/velmora-label/search", params={"q": "dose"}),
    ),
    ("GET", "/v1/scenarios"): (ANY_ROLE, call("GET", "/v1/scenarios")),
    # sessions: learners practise; a learner reads only their own, staff read all
    ("GET", "/v1/sessions"): (ANY_ROLE, call("GET", "/v1/sessions")),
    ("POST", "/v1/sessions"): (LEARNERS, call("POST", "/v1/sessions", json={"policy_id": "demo"})),
    ("GET", "/v1/sessions/{session_id}"): (
        OWNER_AND_STAFF,
        call("GET", "/v1/sessions/{session_id}"),
    ),
    ("GET", "/v1/sessions/{session_id}/events"): (
        OWNER_AND_STAFF,
        call("GET", "/v1/sessions/{session_id}/events", params={"follow": "false"}),
    ),
    ("GET", "/v1/sessions/{session_id}/evidence"): (
        OWNER_AND_STAFF,
        call("GET", "/v1/sessions/{session_id}/evidence"),
    ),
    ("WS", "/v1/sessions/{session_id}/stream"): (
        OWNER,
        socket("/v1/sessions/{session_id}/stream"),
    ),
    # analytics: staff read rule analytics, past flags and trends; only an officer judges a flag
    ("GET", "/v1/analytics/rules"): (STAFF, call("GET", "/v1/analytics/rules")),
    ("GET", "/v1/analytics/flags"): (STAFF, call("GET", "/v1/analytics/flags")),
    ("GET", "/v1/analytics/trends"): (STAFF, call("GET", "/v1/analytics/trends")),
    ("POST", "/v1/flag-reviews"): (
        OFFICER,
        call(
            "POST",
            "/v1/flag-reviews",
            json={"session_id": "{session_id}", "finding_id": "f", "verdict": "confirmed"},
        ),
    ),
    # audit: only an auditor exports
    ("POST", "/v1/audit/exports"): (AUDITOR, call("POST", "/v1/audit/exports", json={})),
    ("POST", "/v1/audit/verifications"): (
        AUDITOR,
        call(
            "POST",
            "/v1/audit/verifications",
            files=[("bundle", ("b.zip", b"PK", "application/zip"))],
        ),
    ),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves; "WS" for a WebSocket."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", context.path or ""))
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            found.add(("GET", f"{context.path or route.path}/{{file}}"))
        elif isinstance(route, APIRoute | Route):
            methods = context.methods or set()
            found |= {(method, context.path or "") for method in methods if method != "HEAD"}
        else:
            found.add(("?", repr(route)))
    return found


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The matrix runs on the embedded SQLite files and on PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        yield None
        return
    if not server_answers():
        pytest.skip("no PostgreSQL server answers at the test URL")
    with fresh_schema() as url:
        yield url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[World]:
    home = Path(tmp_path_factory.mktemp("authz")) / "home"
    app = create_app(ServerConfig(home, database_url=database_url))
    store = app.state.service.keys
    keys = {
        "officer": store.create(Role.officer, "officer-1")[1],
        "learner": store.create(Role.learner, "learner-1")[1],
        "other_learner": store.create(Role.learner, "learner-2")[1],
        "auditor": store.create(Role.auditor, "auditor-1")[1],
    }
    with TestClient(app) as client:
        officer = bearer(keys["officer"])
        for version in (1, 3):
            draft = {"source": POLICY.format(version=version)}
            assert client.post("/v1/policies", json=draft, headers=officer).status_code == 201
        published = client.post("/v1/policies/demo/versions/1/publish", headers=officer)
        assert published.status_code == 200, published.text
        started = client.post(
            "/v1/sessions", json={"policy_id": "demo"}, headers=bearer(keys["learner"])
        )
        assert started.status_code == 201, started.text
        yield World(app, client, keys, started.json()["session_id"], published.json()["digest"])


def test_every_route_has_a_row(world: World) -> None:
    served = app_routes(world.app)
    assert served - ROWS.keys() == set(), "routes without an authorisation row"
    assert ROWS.keys() - served == set(), "rows for routes the app does not serve"


@pytest.mark.parametrize("route", sorted(ROWS), ids=lambda route: " ".join(route))
def test_each_caller_gets_what_the_matrix_says(world: World, route: tuple[str, str]) -> None:
    expect, probe = ROWS[route]
    got = {}
    for role in ROLES:
        status = probe(world, role)
        got[role] = OK if status not in (401, 403) else str(status)
    assert got == {role: expect.for_role(role) for role in ROLES}


def test_an_auditor_cannot_write_anything(world: World) -> None:
    """Every route that changes state refuses an auditor. Asking for an export and for the
    verification of an uploaded bundle are POSTs that store nothing."""
    reads_by_post = {("POST", "/v1/audit/exports"), ("POST", "/v1/audit/verifications")}
    writes = {
        key
        for key in ROWS
        if key[0] in ("POST", "PUT", "PATCH", "DELETE", "WS") and key not in reads_by_post
    }
    assert writes, "the matrix lists write routes"
    for key in writes:
        assert ROWS[key][0].auditor == FORBIDDEN, key


def test_only_an_officer_publishes(world: World) -> None:
    draft = {"source": POLICY.format(version=4)}
    world.client.post("/v1/policies", json=draft, headers=world.headers("officer"))
    for role in ("learner", "other_learner", "auditor"):
        response = world.client.post(
            "/v1/policies/demo/versions/4/publish", headers=world.headers(role)
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    stored = world.client.get("/v1/policies/demo/versions/4", headers=world.headers("auditor"))
    assert stored.json()["status"] == "draft"
