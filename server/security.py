"""Authentication and authorisation as FastAPI dependencies.

HTTP callers send `Authorization: Bearer <key>`. Browsers cannot set headers on a WebSocket or
an EventSource, so those two also accept `?access_token=<key>`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, WebSocket

from server.auth import Principal, Role
from server.errors import ApiError
from server.state import ServiceState


def service_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _principal(state: ServiceState, key: str | None) -> Principal:
    if not key:
        raise ApiError(401, "unauthenticated", "send an API key: Authorization: Bearer <key>")
    principal = state.keys.authenticate(key)
    if principal is None:
        raise ApiError(401, "unauthenticated", "the API key is unknown or revoked")
    return principal


def current_principal(request: Request) -> Principal:
    key = _bearer(request.headers.get("authorization"))
    if key is None and request.url.path.endswith("/events"):
        key = request.query_params.get("access_token")
    return _principal(service_state(request), key)


def socket_principal(websocket: WebSocket) -> Principal:
    key = _bearer(websocket.headers.get("authorization")) or websocket.query_params.get(
        "access_token"
    )
    state: ServiceState = websocket.app.state.service
    return _principal(state, key)


def require(*roles: Role) -> Callable[[Request], Principal]:
    """A dependency admitting only callers with one of `roles`."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise ApiError(403, "forbidden", f"this needs the role {names}")
        return principal

    return dependency
