"""The FastAPI service: REST, WebSocket and SSE over the session loop (a later issue)."""
