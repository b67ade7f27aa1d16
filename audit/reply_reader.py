"""The parent's end of the pipe that carries the audit writer child's answers.

It is read on a thread of its own, or, once moved there (`move_to`), on an event loop. In
the service, the loop is where the answer is awaited: a reply read on a thread had to win
the GIL from the busy loop first (up to a switch interval, 5 ms) and then wake the loop
again, on every flag. Read on the loop, an answer settles its waiters at once.

Reads never block (the descriptor is non-blocking) and happen under one lock together with
handing out what they completed, so for the moment a move overlaps, two readers keep the
answers whole and in order.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
from collections.abc import Callable
from typing import Final

from audit.pipe_frames import FrameBuffer

#: How often a reading thread looks whether the reading moved to a loop.
READ_POLL_SECONDS: Final = 0.1
_READ_SIZE: Final = 1 << 16


class ReplyReader:
    """Hands each message read from `descriptor` (which it owns and closes) to `on_answer`,
    in order, and calls `on_end` once with why the stream ended (the child closed its end
    or the read failed). `on_end` may block: it never runs on an event loop's thread."""

    def __init__(
        self,
        descriptor: int,
        on_answer: Callable[[object], None],
        on_end: Callable[[BaseException], None],
    ) -> None:
        os.set_blocking(descriptor, False)
        self._descriptor = descriptor
        self._on_answer = on_answer
        self._on_end = on_end
        self._frames = FrameBuffer()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Begin reading: on `loop` (from any thread), or on a thread of its own (also
        when `loop` has closed meanwhile: nothing would read there)."""
        self._loop = None if loop is None or loop.is_closed() else loop
        if self._loop is None:
            self._start_thread()
        else:
            self._loop.call_soon_threadsafe(self._watch_on, self._loop)

    def move_to(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Read on `loop` from now on, or on a thread of its own (None). Called on the
        thread of the loop it moves to or from."""
        previous, self._loop = self._loop, loop
        if previous is loop or self._ended.is_set():
            return
        if previous is not None:
            previous.remove_reader(self._descriptor)
        if loop is None:
            self._start_thread()
        else:
            self._watch_on(loop)

    def finish(self, timeout: float) -> None:
        """Read what is left until the stream ends (the child has exited), for up to
        `timeout` seconds, then close the descriptor."""
        loop = self._loop
        if loop is None and self._thread is not None:
            self._thread.join(timeout)
        else:
            self._loop = None
            self._forget(loop)
            self._read_until_ended(timeout)
        with self._lock:
            if self._descriptor >= 0:
                os.close(self._descriptor)
                self._descriptor = -1

    def _start_thread(self) -> None:
        self._thread = threading.Thread(
            target=self._read_on_thread, name="audit-writer-replies", daemon=True
        )
        self._thread.start()

    def _read_on_thread(self) -> None:
        while self._loop is None and not self._ended.is_set():
            readable, _, _ = select.select([self._descriptor], [], [], READ_POLL_SECONDS)
            if readable and (cause := self._read_available()) is not None:
                self._on_end(cause)

    def _read_on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if (cause := self._read_available()) is not None:
            loop.remove_reader(self._descriptor)
            threading.Thread(target=self._on_end, args=(cause,), daemon=True).start()

    def _read_until_ended(self, timeout: float) -> None:
        remaining = timeout
        while not self._ended.is_set() and remaining > 0:
            select.select([self._descriptor], [], [], min(remaining, READ_POLL_SECONDS))
            if (cause := self._read_available()) is not None:
                self._on_end(cause)
            remaining -= READ_POLL_SECONDS

    def _watch_on(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop and not self._ended.is_set():
            loop.add_reader(self._descriptor, self._read_on_loop, loop)

    def _forget(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Stop `loop` watching the descriptor, from its own thread or any other."""
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.remove_reader(self._descriptor)
            return
        removed = threading.Event()

        def remove() -> None:
            loop.remove_reader(self._descriptor)
            removed.set()

        loop.call_soon_threadsafe(remove)
        removed.wait(READ_POLL_SECONDS * 10)

    def _read_available(self) -> BaseException | None:
        """Read what the pipe holds now and hand out the answers it completes; return why
        the stream ended, to the one reader that found it so."""
        with self._lock:
            if self._ended.is_set():
                return None
            try:
                data = os.read(self._descriptor, _READ_SIZE)
            except BlockingIOError:
                return None  # another reader took it first
            except OSError as error:
                cause: BaseException = error
            else:
                if data:
                    for answer in self._frames.feed(data):
                        self._on_answer(answer)
                    return None
                cause = EOFError("the audit writer process closed its end of the replies")
            self._ended.set()
            return cause
