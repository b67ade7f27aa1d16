"""The FastAPI application: one factory, state opened at start-up and closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.config import ServerConfig
from server.errors import install_error_handlers
from server.routes import meta
from server.state import ServiceState


def create_app(config: ServerConfig) -> FastAPI:
    state = ServiceState.open(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
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
    return app
