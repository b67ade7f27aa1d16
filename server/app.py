"""The FastAPI application: one factory, state opened at start-up and closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.config import ServerConfig
from server.errors import install_error_handlers
from server.routes import audit, knowledge, meta, policies, sessions
from server.state import ServiceState
from server.webhooks import WebhookDispatcher


def create_app(config: ServerConfig) -> FastAPI:
    state = ServiceState.open(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Escalations wait in the audit database's outbox; with endpoints configured they are
        # delivered in the background (stopped before the store it reads is closed).
        dispatcher = (
            WebhookDispatcher(state.audit_store, config.webhooks) if config.webhooks else None
        )
        app.state.webhooks = dispatcher
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            state.close()

    app = FastAPI(
        title="Proctor",
        version="1",
        description="Compliance guardrails, rubric scoring and signed evidence for role-play "
        "training: policies, knowledge bases, streaming practice sessions and audit exports.",
        lifespan=lifespan,
    )
    app.state.service = state
    install_error_handlers(app)
    app.include_router(meta.router)
    app.include_router(policies.router)
    app.include_router(knowledge.router)
    app.include_router(audit.router)
    app.include_router(sessions.router)
    return app
