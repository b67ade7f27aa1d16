"""Embedding what a learner's final will need while they are still speaking.

A final transcript's semantic rules embed its clauses with MiniLM, which is most of the work
between the final and its flags. But a learner's final usually repeats their last partial
word for word, and between two words there are hundreds of milliseconds of idle time. So the
clauses a partial has settled (see `Session.texts_to_prefetch`) are embedded in the
background, into the same cache the final reads: when the final arrives its clauses are
already there, and under load the model's work is spread over the utterance instead of
piling up when many learners finish a sentence together.

Prefetching only warms a cache keyed by the exact text, so it can never change a result: a
final that differs from its partials is embedded as before. Work is coalesced per session
(only the latest partial's texts matter), background threads do it, a sentence's end first,
and a failure is logged and dropped, since the final will embed for itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

BATCH_TEXTS = 6


class _Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> object: ...


class EmbeddingPrefetcher:
    """Background threads that embed offered texts, the newest offer of each session, those
    whose final is near first. The service runs one thread per model lane but one
    (`minilm.PASSES_AT_ONCE`), so a final that was not prefetched in time finds a free lane."""

    def __init__(self, embedder: Callable[[], _Embedder], *, threads: int = 1) -> None:
        self._embedder = embedder
        self._thread_count = threads
        self._waiting: dict[str, list[str]] = {}
        self._near: set[str] = set()  # sessions whose waiting offer is served first
        self._busy = 0  # threads embedding right now
        self._ready = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []

    def offer(self, session_id: str, texts: Sequence[str], *, final_is_near: bool = False) -> None:
        """Embed `texts` for `session_id` when the thread gets to it; replaces a waiting
        offer of the same session, which the newer partial supersedes. Offers made when
        the final is near (the partial ends a sentence) are served before the others: their
        final may arrive within a few hundred milliseconds."""
        if not texts:
            return
        with self._ready:
            if self._closed:
                return
            if final_is_near:
                self._near.add(session_id)
            else:
                self._near.discard(session_id)
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name="embedding-prefetch", daemon=True)
                    for _ in range(self._thread_count)
                ]
                for thread in self._threads:
                    thread.start()
            self._waiting[session_id] = list(texts)
            self._ready.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every offer so far has been embedded (or dropped); False on timeout."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking offers, drop the waiting ones and wait for the thread to finish."""
        with self._ready:
            self._closed = True
            self._waiting.clear()
            self._near.clear()
            self._ready.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _take_batch(self) -> tuple[list[str], list[str]]:
        """The oldest waiting offers, up to about `BATCH_TEXTS` texts: one forward pass over
        several sessions' clauses costs much less than a pass each."""
        near = [session_id for session_id in self._waiting if session_id in self._near]
        sessions: list[str] = []
        texts: list[str] = []
        for session_id in [*near, *self._waiting]:
            if len(texts) >= BATCH_TEXTS:
                break
            if session_id in self._waiting:
                sessions.append(session_id)
                texts += self._waiting.pop(session_id)
                self._near.discard(session_id)
        return sessions, list(dict.fromkeys(texts))

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                sessions, texts = self._take_batch()
                self._busy += 1
            try:
                self._embedder().embed(texts)  # cached texts cost a look-up
            except Exception:
                log.warning("prefetching embeddings for sessions %s failed", ", ".join(sessions))
            with self._ready:
                self._busy -= 1
                self._ready.notify_all()
