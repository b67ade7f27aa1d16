"""An audit log whose writes happen in a child process of their own.

A service process runs hundreds of sessions on a few cores, and every thread in it takes
turns with one GIL. `AuditLog` in that process made each append wait for the GIL again
after every SQLite or PostgreSQL call, every fsync and every hand-over of the commit lead,
each wait up to a switch interval (5 ms) behind busy sessions: appends whose transaction
took 4 ms waited 230 ms at p90 under 200 sessions. Here the child (`audit.writer_main`)
encodes, signs and commits with a GIL nobody else wants, and a caller waits for one reply.
No thread stands between a caller and the child: a request goes into the pipe from the
caller's thread (`audit.request_pipe`), and the answers can be read on the event loop that
awaits them (`read_replies_on`, `audit.reply_reader`).

The contract is `AuditLog.append`'s: the records are durable when `append` returns, or it
raises `AuditWriteError`. If the child dies, every append waiting for it raises, so those
sessions fail closed (their last records may or may not have been committed; the log says
which). The next append, at most once per `RESTART_BACKOFF_SECONDS`, starts a new child,
which continues the log from what the store holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final, cast

from audit.content_log import ContentChange
from audit.errors import AuditWriteError
from audit.issuer import DEFAULT_CHECKPOINT_EVERY, DEFAULT_ORIGIN
from audit.keys import SigningKey
from audit.log import AppendedRecord, AppendRequest, nothing_to_append
from audit.outbox import OutboxRequest
from audit.records import PolicyRef
from audit.reply_reader import ReplyReader
from audit.request_pipe import RequestPipe
from audit.writer_protocol import (
    Outcome,
    Ticket,
    TicketedOutcome,
    WriterFailed,
    WriterReady,
    WriterSettings,
)

START_TIMEOUT_SECONDS: Final = 120.0
STOP_TIMEOUT_SECONDS: Final = 30.0
RESTART_BACKOFF_SECONDS: Final = 2.0

#: What a child's answers go to: each answer as read, and why they stopped coming.
Replies = tuple[Callable[[object], None], Callable[[BaseException], None]]


def _settle(waiter: Future[list[AppendedRecord]], outcome: Outcome) -> None:
    # A waiter its caller cancelled (an event loop that stopped waiting) takes nothing.
    with contextlib.suppress(InvalidStateError):
        if isinstance(outcome, Exception):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


class AuditWriterProcess:
    """`AuditLog.append`, served by a child process that owns the store's write path.

    `location` is the store (a SQLite path or a PostgreSQL URL, as for `open_record_store`)
    and `key_path` the signing key file, created if absent; the child opens both itself.
    The child starts in the background (about 0.3 s): `wait_ready`, or the first append,
    waits for it and raises `AuditWriteError` if it could not start or open them.
    """

    def __init__(
        self,
        location: str | Path,
        key_path: Path,
        *,
        origin: str = DEFAULT_ORIGIN,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        self._key = SigningKey.load_or_create(key_path)
        self._settings = WriterSettings(location, key_path, origin, checkpoint_every)
        self._lock = threading.Lock()
        self._waiting: dict[Ticket, Future[list[AppendedRecord]]] = {}
        self._tickets = itertools.count()
        self._broken: str | None = None
        self._closed = False
        self._retry_at = 0.0
        self._reply_loop: asyncio.AbstractEventLoop | None = None
        self._child = _Child.spawn(self._settings)
        self._started = False

    def wait_ready(self) -> None:
        """Wait until the child has opened the log; raise `AuditWriteError` if it cannot."""
        with self._lock:
            self._ensure_child()

    @property
    def origin(self) -> str:
        return self._settings.origin

    @property
    def key(self) -> SigningKey:
        return self._key

    @property
    def healthy(self) -> bool:
        """False once the child has died (the next append starts another) or was closed."""
        return self._broken is None

    @property
    def running(self) -> bool:
        """Whether an append now goes straight to a child that is ready (none has to be
        started first, which `submit` would wait for)."""
        return self._started and self._broken is None

    @property
    def pid(self) -> int:
        """The current child's process id (to watch it, or for a test to stop it)."""
        return self._child.process.pid

    def append(
        self,
        session_id: str,
        policy: PolicyRef,
        events: Sequence[Mapping[str, Any]],
        outbox: Sequence[OutboxRequest] = (),
        content: ContentChange | None = None,
    ) -> list[AppendedRecord]:
        """As `AuditLog.append`: durable when this returns, else `AuditWriteError`."""
        request = AppendRequest(session_id, policy, list(events), list(outbox), content)
        return self.submit(request).result()

    def submit(self, request: AppendRequest) -> Future[list[AppendedRecord]]:
        """`append` without the wait: the future holds what `append` would return or
        raise, once the child has answered. An event loop awaits it (`asyncio.wrap_future`)
        with no thread of its own blocked meanwhile. Raises `AuditWriteError` at once if no
        child can take the request. Blocks only where `append` would start a child first,
        which a caller that must not block avoids by checking `running`."""
        waiter: Future[list[AppendedRecord]] = Future()
        if nothing_to_append(request.events, request.outbox):
            waiter.set_result([])
            return waiter
        # Nothing here blocks while holding the lock (the pipe is written without blocking),
        # and holding it keeps the requests in the pipe in the order of their tickets.
        with self._lock:
            self._ensure_child()
            ticket = next(self._tickets)
            self._waiting[ticket] = waiter
            self._child.requests.send([(ticket, request)])
        return waiter

    def close(self) -> None:
        """Let the child write what it was given, then stop it; later appends raise."""
        with self._lock:
            self._closed = True
            self._broken = "the audit writer process was stopped"
            child = self._child
        child.stop(kill=False)

    def _ensure_child(self) -> None:
        """Raise unless a child is there to write; start a new one after one died (called
        with the lock held)."""
        if not self._started:
            self._started = True
            try:
                self._child.ready(self._key, self._replies_to(self._child), self._reply_loop)
            except AuditWriteError as exc:
                self._broken = str(exc)
                raise
        if self._broken is None:
            return
        if self._closed or time.monotonic() < self._retry_at:
            raise AuditWriteError(self._broken)
        self._retry_at = time.monotonic() + RESTART_BACKOFF_SECONDS
        self._child.requests.abandon()
        try:
            child = _Child.spawn(self._settings)
            child.ready(self._key, self._replies_to(child), self._reply_loop)
            self._child = child
        except AuditWriteError as exc:
            self._broken = f"{self._broken}; restarting it failed: {exc}"
            raise AuditWriteError(self._broken) from exc
        self._broken = None

    def read_replies_on(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Read the child's answers on `loop` from now on, or on a thread of their own
        (None, as at the start); called on the thread of the loop they move to or from.

        A service awaits appends on its event loop: answers read there settle at once,
        where a reading thread first waited for the GIL from the busy loop. Move them back
        before the loop stops (`close` reads what is left wherever they are read)."""
        with self._lock:
            self._reply_loop = loop
            reader = self._child.reader
        if reader is not None:
            reader.move_to(loop)

    def _replies_to(self, child: _Child) -> Replies:
        def settle(answer: object) -> None:
            for ticket, outcome in cast(list[TicketedOutcome], answer):
                waiter = self._waiting.pop(ticket, None)
                if waiter is not None:
                    _settle(waiter, outcome)

        def fail(cause: BaseException) -> None:
            self._fail_waiting(cause, child.process)

        return settle, fail

    def _fail_waiting(self, cause: BaseException, process: subprocess.Popen[bytes]) -> None:
        """The child is gone: whatever waits for it fails, with why."""
        try:
            code: int | None = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        why = "stopped answering" if code is None else f"exited with status {code}"
        with self._lock:
            if self._broken is None:
                self._broken = f"the audit writer process {why}: no audit record can be written"
            waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            _settle(
                waiter,
                AuditWriteError(
                    f"audit records were not confirmed: the audit writer process {why} "
                    f"({type(cause).__name__}) before it answered, so the session stops"
                ),
            )


class _Child:
    """One writer child: its process, the pipe that takes its requests (`RequestPipe`),
    and the end its replies come from: a `Connection` until the child is ready, then a
    `ReplyReader`."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        requests: RequestPipe,
        replies: Connection,
    ) -> None:
        self.process = process
        self.requests = requests
        self.replies = replies
        self.reader: ReplyReader | None = None

    @classmethod
    def spawn(cls, settings: WriterSettings) -> _Child:
        """A child on its way to open the log with `settings`."""
        child = cls(*_spawn())
        child.requests.send(settings)
        return child

    def ready(
        self, key: SigningKey, replies: Replies, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        """Wait until the child has opened the log and signs with `key`; then its answers
        go to `replies` (`ReplyReader`), read on `loop` or on a thread of their own.
        Raises, and stops the child, if not."""
        try:
            self._await_ready(key)
        except BaseException:
            self.stop(kill=True)
            raise
        # The handshake is read whole by the Connection, so nothing of what follows is in
        # its hands: the reader takes over the same pipe.
        descriptor = os.dup(self.replies.fileno())
        self.replies.close()
        self.reader = ReplyReader(descriptor, *replies)
        self.reader.start(loop)

    def _await_ready(self, key: SigningKey) -> None:
        if not self.replies.poll(START_TIMEOUT_SECONDS):
            raise AuditWriteError(
                f"the audit writer process did not start within {START_TIMEOUT_SECONDS:.0f} s"
            )
        try:
            answer = self.replies.recv()
        except EOFError:
            code = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            raise AuditWriteError(
                f"the audit writer process exited with status {code} before it was ready "
                "(its error output says why)"
            ) from None
        if isinstance(answer, WriterFailed):
            raise AuditWriteError(f"the audit writer could not open the log: {answer.reason}")
        if not isinstance(answer, WriterReady) or answer.public_key != key.public_key.raw:
            raise AuditWriteError(
                "the audit writer process signs with another key than this service "
                f"({key.public_key.keyid[:16]}...): was the key rotated meanwhile?"
            )

    def stop(self, *, kill: bool) -> None:
        """Close our end of the requests (the child finishes and exits), or kill it."""
        if kill:
            self.requests.abandon()
            self.process.kill()
        else:
            self.requests.close(timeout=STOP_TIMEOUT_SECONDS)  # what was sent is written first
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.reader is not None:
            self.reader.finish(timeout=STOP_TIMEOUT_SECONDS)
        else:
            self.replies.close()


def _spawn() -> tuple[subprocess.Popen[bytes], RequestPipe, Connection]:
    """The child on this interpreter, joined to us by a pipe each way."""
    to_child_read, to_child_write = os.pipe()
    from_child_read, from_child_write = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "audit.writer_main", str(to_child_read), str(from_child_write)],
            pass_fds=(to_child_read, from_child_write),
            stdin=subprocess.DEVNULL,
        )
    except BaseException:
        for fd in (to_child_read, to_child_write, from_child_read, from_child_write):
            os.close(fd)
        raise
    os.close(to_child_read)
    os.close(from_child_write)
    return process, RequestPipe(to_child_write), Connection(from_child_read, writable=False)
