"""The Proctor service: FastAPI REST, a WebSocket and SSE per session, roles, webhooks.

Nothing else in Proctor imports this package; `proctor serve` runs it. `create_app` is
imported on first use: the CLI reads the service's configuration and keys for commands
such as `proctor audit verify`, which should not wait a second for FastAPI to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.config import Limits, ServerConfig

if TYPE_CHECKING:
    from server.app import create_app

__all__ = ["Limits", "ServerConfig", "create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from server.app import create_app

        return create_app
    raise AttributeError(f"module 'server' has no attribute {name!r}")
