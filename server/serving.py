"""How the service is served: one place for the process settings `proctor serve` and the load
bench share, so the bench measures what is shipped."""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from evaluators import behaviours
from server.state import ServiceState

# Young-generation size before a collection: CPython's default (700) makes a busy server
# collect a thousand times a minute, each pass stopping every session while it runs.
YOUNG_COLLECTION_THRESHOLD = 50_000


def prepare_for_traffic(app: FastAPI) -> None:
    """Load what the first session would otherwise wait for, then take everything loaded so
    far out of the garbage collector's sight, and collect less often.

    The embedding model and the libraries behind it are millions of long-lived objects. Every
    full collection would walk all of them with the GIL held, stalling every session for
    hundreds of milliseconds; frozen, they are never scanned again. Under load (200 sessions
    on 2 cores, bench/load_sessions.py) collections went from 4.5 s in a minute to 0.3 s.
    """
    state: ServiceState = app.state.service
    state.live.embedder().embed(["warm-up"])
    behaviours.prepare()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 20, 20)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve `app` (from `server.create_app`) until interrupted.

    Per-message deflate is off: session messages are small JSON objects sent many times a
    second, where compressing each one costs more CPU (on both ends) than it saves in bytes,
    and that CPU comes out of the time budget between an utterance and its flag.
    """
    prepare_for_traffic(app)
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
