"""The live sessions of this process: what a streaming client connects to and resumes from.

A live session wraps the engine's Session (pinned to the published policy version it started
with), and optionally a Conversation with a persona, behind one lock: sessions are driven from
worker threads, one input at a time. Every event the session produces, transient ones
included, is appended to the session's `MessageLog` and numbered `seq` 1, 2, 3…; the log is
append-only and kept for the life of the live session, so any client can replay from any seq
and then follow live messages, and a client that reconnects with the last seq it saw loses
nothing and receives nothing twice.

Readers are coroutines on the server's event loop; writers are threads. A writer wakes the
readers with `call_soon_threadsafe`, so no reader holds a thread while it waits.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import anyio
from starlette.concurrency import run_in_threadpool

from engine import (
    FinalUtterance,
    PartialUtterance,
    RecordingFailedError,
    Session,
    SessionEvent,
    SessionNotActiveError,
    SessionState,
)
from engine.events import EndReason
from engine.held_recording import HeldRecords, HoldingRecorder
from engine.planning import plan_policy, uses_semantic_matching
from engine.practice import Conversation, HeardLine
from evaluators.plan import PolicyPlan
from evaluators.semantic import SentenceEmbedder, ends_sentence, settles_no_more_than
from knowledge_base import Embedder, KnowledgeBase
from knowledge_base.minilm import PASSES_AT_ONCE
from policies import Policy
from server.config import Limits, ServerConfig
from server.prefetch import EmbeddingPrefetcher
from server.scenario_cache import ScenarioCache

AUDIT_UNAVAILABLE = "audit_unavailable"
DEFAULT_RETAINED_FINISHED = 1000


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One numbered message to clients; `text` is its JSON, serialised once for every reader.

    Only the text is kept: a live session retains every message for resuming clients, and
    strings, unlike dicts, are invisible to the garbage collector, whose full passes over
    hundreds of sessions' retained events would otherwise stall every session at once."""

    seq: int
    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a session stopped without ending: a stable code and a sentence for a person."""

    code: str
    message: str


class _Wakeup:
    """An asyncio.Event that a thread can set on the loop that waits for it.

    Set from the loop's own thread (a partial evaluated on the loop), the event is set
    directly: `call_soon_threadsafe` would write to the loop's wake-up pipe, a system call
    per message that the loop then has to read back."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.event = asyncio.Event()

    def set(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self.event.set()
            return
        # RuntimeError: the reader's loop is gone, so nobody is waiting any more.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.event.set)


class MessageLog:
    """Append-only, numbered outgoing messages of one session, with readers that wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[OutgoingMessage] = []
        self._wakeups: set[_Wakeup] = set()
        self._closed = False
        self.failure: Problem | None = None

    @property
    def last_seq(self) -> int:
        return len(self._messages)

    @property
    def closed(self) -> bool:
        """True once the session has ended or failed: nothing more will be appended."""
        return self._closed

    def append(self, event: SessionEvent) -> OutgoingMessage:
        event_text = event.model_dump_json()  # `event_to_json`'s form, serialised in one step
        with self._lock:
            seq = len(self._messages) + 1
            message = OutgoingMessage(seq, f'{{"seq":{seq},"event":{event_text}}}')
            self._messages.append(message)
            wakeups = list(self._wakeups)
        for wakeup in wakeups:
            wakeup.set()
        return message

    def after(self, seq: int) -> list[OutgoingMessage]:
        """Every message with a seq greater than `seq`, in order."""
        with self._lock:
            return self._messages[max(seq, 0) :]

    def close(self, failure: Problem | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.failure = failure
            wakeups = list(self._wakeups)
        for wakeup in wakeups:
            wakeup.set()

    @contextmanager
    def follow(self, after: int) -> Iterator[Follower]:
        """A reader positioned after `after`; call from a coroutine on the serving loop."""
        wakeup = _Wakeup()
        with self._lock:
            self._wakeups.add(wakeup)
        try:
            yield Follower(self, after, wakeup)
        finally:
            with self._lock:
                self._wakeups.discard(wakeup)


class Follower:
    """One reader's position in a MessageLog."""

    def __init__(self, log: MessageLog, after: int, wakeup: _Wakeup) -> None:
        self._log = log
        self._wakeup = wakeup
        self.position = after

    @property
    def done(self) -> bool:
        """The log is closed and this reader has seen all of it."""
        return self._log.closed and self.position >= self._log.last_seq

    async def next_batch(self, timeout: float | None = None) -> list[OutgoingMessage]:
        """The messages after this reader's position, waiting for some if there are none yet.

        Returns an empty list when `timeout` seconds pass without one (time for a keep-alive)
        or when the log is closed (`done` tells which)."""
        while True:
            self._wakeup.event.clear()
            batch = self._log.after(self.position)
            if batch:
                self.position = batch[-1].seq
                return batch
            if self._log.closed:
                return []
            try:
                await asyncio.wait_for(self._wakeup.event.wait(), timeout)
            except TimeoutError:
                return []


class TokenBucket:
    """At most `rate` takes per second on average, with bursts of up to one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


class LiveSession:
    """One running session, its outgoing messages, its owner and its input rate limit."""

    def __init__(
        self,
        session: Session,
        *,
        key_id: str,
        limits: Limits,
        conversation: Conversation | None = None,
        prefetcher: EmbeddingPrefetcher | None = None,
        recorder: HoldingRecorder | None = None,
    ) -> None:
        """`recorder` is the one `session` records through, if it can hold records back
        (`partial_on_loop` needs it)."""
        self.session = session
        self._recorder = recorder
        self._prefetcher = prefetcher
        self._last_prefetched: list[str] = []
        self._last_partial_text = ""
        self.conversation = conversation
        self.key_id = key_id
        self.created_at = datetime.now(UTC)
        self.messages = MessageLog()
        self._utterances = TokenBucket(limits.utterances_per_second)
        self._lock = threading.Lock()
        self._last_input = time.monotonic()

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def learner(self) -> str:
        return self.session.learner

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def active(self) -> bool:
        return self.session.state is SessionState.active

    def idle_for(self, now: float) -> float:
        """Seconds since the learner last sent anything (or since the session was created)."""
        return now - self._last_input

    def allow_utterance(self) -> bool:
        """Take one utterance from the session's rate budget; False when it is spent."""
        return self._utterances.take()

    def start(self) -> None:
        if self.conversation is not None:
            conversation = self.conversation
            self._drive(conversation.open)
        else:
            self._drive(self.session.start)

    def partial(self, utterance_id: str, revision: int, text: str) -> None:
        self._offer_prefetch(text)
        self._drive(self._partial_step(utterance_id, revision, text))

    async def partial_on_loop(self, utterance_id: str, revision: int, text: str) -> None:
        """`partial`, evaluated on the calling event loop; the audit records of what it
        raised, if any, are awaited there too (`_write_held_from_loop`).

        Evaluating a partial is lexical matching, about a millisecond. Sent to a worker
        thread and back, a partial waited for the GIL twice, 24 and 16 ms at p99 with 200
        sessions on 2 cores. The step's events are shown once its records are written, as
        on the thread path. Falls back to `partial` on a thread while another step of this
        session is running, or without a `HoldingRecorder`.
        """
        if self._recorder is None or not self._lock.acquire(blocking=False):
            await run_in_threadpool(self.partial, utterance_id, revision, text)
            return
        try:
            self._last_input = time.monotonic()
            self._offer_prefetch(text)
            with self._recorder.holding() as held:
                events = list(self._partial_step(utterance_id, revision, text)())
            # Most partials raise no flag, hold no records and are published at once; a
            # cancel scope for each of them was a tenth of the loop's time.
            if not held:
                self._append_all(events)
                return
            # Shielded: once records are being written, their events are published even if
            # the client goes away meanwhile (the audit log and the stream agree).
            with anyio.CancelScope(shield=True):
                await self._write_held_from_loop(held)
                self._append_all(events)
        finally:
            self._lock.release()

    def _append_all(self, events: Iterable[SessionEvent]) -> None:
        for event in events:
            self.messages.append(event)

    async def _write_held_from_loop(self, held: HeldRecords) -> None:
        """Await the held records' write: handed straight to a log that takes appends
        without blocking (the writer process: no thread between this loop and its reply),
        else written from a worker thread."""
        try:
            submitted = held.submit()
        except Exception as error:
            self._recording_failed(error)
        if submitted is None:
            await run_in_threadpool(self._write_held, held)
            return
        try:
            await asyncio.wrap_future(submitted)
        except Exception as error:
            self._recording_failed(error)

    def _write_held(self, held: HeldRecords) -> None:
        try:
            held.write()
        except Exception as error:
            self._recording_failed(error)

    def _recording_failed(self, error: Exception) -> NoReturn:
        failure = self.session.recording_failed(error)  # the session is failed first,
        self._fail_closed()  # then its clients are told, as on the thread path
        raise failure from error

    def _offer_prefetch(self, text: str) -> None:
        """Offer the texts `text` settles, unless the last offer was the same: one more word
        mostly settles nothing new (and when it cannot, `settles_no_more_than` says so
        without cutting the text into clauses), and each offer wakes a prefetch thread that
        takes the GIL from the event loop only to find its texts cached. Offered before the
        partial is evaluated, so the embedding starts as early as it can and is under way by
        the time the learner sees the partial's echo."""
        if self._prefetcher is None or not self.active:
            return
        previous, self._last_partial_text = self._last_partial_text, text
        if settles_no_more_than(previous, text):
            return
        texts = self.session.texts_to_prefetch(text)
        if texts == self._last_prefetched:
            return
        self._last_prefetched = texts
        self._prefetcher.offer(self.session_id, texts, final_is_near=ends_sentence(text))

    def _partial_step(
        self, utterance_id: str, revision: int, text: str
    ) -> Callable[[], Iterable[SessionEvent]]:
        if self.conversation is not None:
            conversation = self.conversation
            return lambda: conversation.partial(utterance_id, revision, text)
        utterance = PartialUtterance(utterance_id=utterance_id, revision=revision, text=text)
        return lambda: self.session.ingest(utterance)

    def final(self, utterance_id: str, text: str) -> None:
        if self.conversation is not None:
            conversation = self.conversation
            self._drive(lambda: conversation.say(utterance_id, text))
            return
        utterance = FinalUtterance(utterance_id=utterance_id, text=text)
        self._drive(lambda: self.session.ingest(utterance))

    async def final_on_loop(self, utterance_id: str, text: str) -> None:
        """`final`, with its judgement's audit records awaited on the calling event loop.

        The judgement (and a persona's reply) still runs on a worker thread: it may embed
        clauses that were not prefetched, search the knowledge base or call a validator, none
        of which may stall the loop. But waiting for the records on that thread cost a third
        hand-off of the GIL, 16 ms at p99 with 200 sessions on 2 cores: the thread now hands
        the records to a log that takes appends without blocking and returns, and the loop
        awaits them and shows the judgement before the persona starts. Falls back to `final`
        as `partial_on_loop` does.
        """
        if self._recorder is None or not self._lock.acquire(blocking=False):
            await run_in_threadpool(self.final, utterance_id, text)
            return
        try:
            # Shielded, as a step on a worker thread is: the session's lock is released
            # only once every thread working on this step has finished.
            with anyio.CancelScope(shield=True):
                await self._final_steps_on_loop(utterance_id, text)
        finally:
            self._lock.release()

    async def _final_steps_on_loop(self, utterance_id: str, text: str) -> None:
        self._last_input = time.monotonic()
        try:
            heard, written = await run_in_threadpool(self._hear_final, utterance_id, text)
            if written is not None:
                try:
                    await asyncio.wrap_future(written)
                except Exception as error:
                    self._recording_failed(error)
            self._append_all(heard.events)
            if self.conversation is not None:
                conversation = self.conversation
                await run_in_threadpool(self._append_produced, lambda: conversation.answer(heard))
        finally:
            if self.session.state is SessionState.ended:
                self.messages.close()

    def _hear_final(self, utterance_id: str, text: str) -> tuple[HeardLine, Future[Any] | None]:
        """Judge the final with its records held, then hand them to the log: returns the
        future of their write, or None once they are written here (a log that cannot take
        them without blocking) or when there were none."""
        assert self._recorder is not None  # final_on_loop's condition
        with self._recorder.holding() as held:
            if self.conversation is not None:
                heard = self.conversation.hear(utterance_id, text)
            else:
                utterance = FinalUtterance(utterance_id=utterance_id, text=text)
                heard = HeardLine(utterance_id, text, self.session.ingest(utterance))
        if not held:
            return heard, None
        try:
            submitted = held.submit()
        except Exception as error:
            self._recording_failed(error)
        if submitted is None:
            self._write_held(held)
        return heard, submitted

    def end(self, reason: EndReason = "completed") -> None:
        self._drive(lambda: self.session.end(reason))

    def abandon(self) -> None:
        """End the session as abandoned if it is still running (the service is stopping)."""
        # Already ended, or failed closed: its log says which.
        with suppress(SessionNotActiveError, RecordingFailedError):
            self.end("abandoned")

    def _drive(self, produce: Callable[[], Iterable[SessionEvent]]) -> None:
        """Run one step of the session and append what it produces, as it is produced (a
        persona's reply streams while it is generated)."""
        self._last_input = time.monotonic()
        with self._lock:
            try:
                self._append_produced(produce)
            finally:
                if self.session.state is SessionState.ended:
                    self.messages.close()

    def _append_produced(self, produce: Callable[[], Iterable[SessionEvent]]) -> None:
        try:
            for event in produce():
                self.messages.append(event)
        except RecordingFailedError:
            self._fail_closed()
            raise

    def _fail_closed(self) -> None:
        self.messages.close(
            Problem(
                AUDIT_UNAVAILABLE,
                "the audit log could not record this session's events, so the session has "
                "stopped: practice is never left unrecorded. Start a new session once the "
                "service is healthy again.",
            )
        )


class SessionNotFoundError(Exception):
    pass


class TooManySessionsError(Exception):
    pass


class PlanCache:
    """Compiled policy plans by digest: a published version is immutable, so parse and
    compile it once per process, not once per session."""

    def __init__(self) -> None:
        self._plans: dict[str, PolicyPlan] = {}
        self._lock = threading.Lock()

    def plan(
        self,
        digest: str,
        policy: Callable[[], Policy],
        embedder: Callable[[], SentenceEmbedder],
    ) -> PolicyPlan:
        """The plan of the policy whose digest is `digest`; `policy` (its parser) and
        `embedder` are called only when it is not compiled yet, and the embedder only if the
        policy has semantic matches."""
        with self._lock:
            plan = self._plans.get(digest)
            if plan is None:
                parsed = policy()
                semantic = embedder() if uses_semantic_matching(parsed) else None
                plan = plan_policy(parsed, semantic)
                self._plans[digest] = plan
            return plan


class LiveSessions:
    """Every live session of this process, the open-session limit per API key, and the caches
    sessions start from."""

    def __init__(
        self,
        limits: Limits,
        embedder: Callable[[], Embedder],
        retain_finished: int = DEFAULT_RETAINED_FINISHED,
    ) -> None:
        self.limits = limits
        self.plans = PlanCache()
        # Prefetching is speculative: it may use all model lanes but one, which stays free
        # for finals that were not prefetched in time.
        self.prefetcher = EmbeddingPrefetcher(self.embedder, threads=max(PASSES_AT_ONCE - 1, 1))
        self._make_embedder = embedder
        self._embedder: Embedder | None = None
        # Guards setting sessions up, and the knowledge bases they have opened, by name.
        self.setup_lock = threading.Lock()
        self.knowledge_bases: dict[str, KnowledgeBase] = {}
        self.scenarios = ScenarioCache()
        self._retain_finished = retain_finished
        self._sessions: dict[str, LiveSession] = {}
        self._starting: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config: ServerConfig) -> LiveSessions:
        """Sessions of a service, whose embeddings are cached in this process's memory only.

        What sessions embed is mostly what learners said. Kept on disk, those embeddings
        would outlive the session, escape `proctor audit erase` (an embedding can give its
        text away) and cost a write per utterance; the policy's own anchors they also embed
        are recomputed once per process start instead (about a second).
        """

        def embedder() -> Embedder:
            from knowledge_base import default_embedder

            return default_embedder(None)

        return cls(config.limits, embedder)

    def embedder(self) -> Embedder:
        """The sentence embedder (MiniLM) shared by semantic rules and personas; the model
        itself loads on first use."""
        with self._lock:
            if self._embedder is None:
                self._embedder = self._make_embedder()
            return self._embedder

    def get(self, session_id: str) -> LiveSession:
        with self._lock:
            live = self._sessions.get(session_id)
        if live is None:
            raise SessionNotFoundError(f"no live session {session_id}")
        return live

    def open_count(self, key_id: str) -> int:
        with self._lock:
            return self._open_count(key_id)

    @contextmanager
    def slot(self, key_id: str) -> Iterator[None]:
        """Hold one of `key_id`'s open-session places while a session is being set up."""
        limit = self.limits.open_sessions_per_key
        with self._lock:
            if self._open_count(key_id) + self._starting.get(key_id, 0) >= limit:
                raise TooManySessionsError(
                    f"this API key already has {limit} open session(s); end one first"
                )
            self._starting[key_id] = self._starting.get(key_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._starting[key_id] -= 1
                if not self._starting[key_id]:
                    del self._starting[key_id]

    def add(self, live: LiveSession) -> None:
        with self._lock:
            self._sessions[live.session_id] = live
            self._forget_old_finished()

    def idle(self, now: float | None = None) -> list[LiveSession]:
        """Running sessions whose learner has sent nothing for the idle limit."""
        moment = time.monotonic() if now is None else now
        limit = self.limits.idle_session_seconds
        with self._lock:
            return [
                live
                for live in self._sessions.values()
                if live.active and live.idle_for(moment) >= limit
            ]

    def end_idle(self) -> int:
        """End idle sessions as abandoned; returns how many were ended."""
        ended = 0
        for live in self.idle():
            live.abandon()
            ended += not live.active
        return ended

    def close(self) -> None:
        """End every running session as abandoned, so its record says how it stopped."""
        with self._lock:
            sessions = list(self._sessions.values())
        for live in sessions:
            live.abandon()
        self.prefetcher.close()

    def _open_count(self, key_id: str) -> int:
        return sum(
            1
            for live in self._sessions.values()
            if live.key_id == key_id and live.state in (SessionState.created, SessionState.active)
        )

    def _forget_old_finished(self) -> None:
        finished = [
            session_id for session_id, live in self._sessions.items() if live.messages.closed
        ]
        for session_id in finished[: max(len(finished) - self._retain_finished, 0)]:
            del self._sessions[session_id]
