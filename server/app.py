"""The FastAPI application: one factory, state opened at start-up and closed at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio.to_thread
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool

from server import pages
from server.config import ServerConfig
from server.errors import install_error_handlers
from server.live import LiveSessions
from server.routes import (
    analytics,
    audit,
    audit_verify,
    knowledge,
    meta,
    policies,
    policy_lint,
    scenarios,
    session_evidence,
    sessions,
    wellknown,
)
from server.state import ServiceState
from server.webhooks import WebhookDispatcher

NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""FastAPI's OpenTelemetry off, environment included: with `FASTAPI_OTEL_AUTO_CONFIGURE=true`
and an OTLP endpoint in the environment it would otherwise export every request's route and
timing, and the messages of failures (which can quote a learner's words), to that endpoint.
What a session said goes to the audit log and nowhere else."""

log = logging.getLogger("proctor.sessions")


async def end_idle_sessions(live: LiveSessions) -> None:
    """Every so often, end the sessions nobody is speaking in any more (see `Limits`)."""
    interval = min(max(live.limits.idle_session_seconds / 4, 0.05), 30.0)
    while True:
        await asyncio.sleep(interval)
        try:
            ended = await run_in_threadpool(live.end_idle)
        except Exception:  # the next round tries again; the reaper must not die
            log.exception("ending idle sessions failed")
            continue
        if ended:
            log.info("ended %d idle session(s) as abandoned", ended)


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
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(
            config.limits.worker_threads, 1
        )
        reaper = asyncio.create_task(end_idle_sessions(state.live))
        state.read_audit_answers_on(asyncio.get_running_loop())
        try:
            yield
        finally:
            reaper.cancel()
            with suppress(asyncio.CancelledError):
                await reaper
            if dispatcher is not None:
                dispatcher.stop()
            state.read_audit_answers_on(None)
            state.close()

    app = FastAPI(
        title="Proctor",
        version="1",
        description="Compliance guardrails, rubric scoring and signed evidence for role-play "
        "training: policies, knowledge bases, streaming practice sessions and audit exports.",
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
    )
    app.state.service = state
    install_error_handlers(app)
    app.include_router(meta.router)
    app.include_router(policy_lint.router)
    app.include_router(policies.router)
    app.include_router(knowledge.router)
    app.include_router(audit.router)
    app.include_router(analytics.router)
    app.include_router(audit_verify.router)
    app.include_router(session_evidence.router)
    app.include_router(scenarios.router)
    app.include_router(sessions.router)
    app.include_router(wellknown.router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    return app
