"""The Proctor service: FastAPI REST, a WebSocket and SSE per session, roles, webhooks.

Nothing else in Proctor imports this package; `proctor serve` runs it.
"""

from server.app import create_app
from server.config import Limits, ServerConfig

__all__ = ["Limits", "ServerConfig", "create_app"]
