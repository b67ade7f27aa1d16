"""The parent's end of the pipe that carries requests to the audit writer child.

A message goes into the pipe from the thread that sends it, without blocking, whenever the
pipe has room (it nearly always has: a request is a few KiB and the pipe holds 64 KiB).
Before, each message was handed to a sender thread, and under load that thread waited up to
a switch interval (5 ms) for the GIL from a busy event loop before it could write: on every
flag. What does not fit waits, in order, for a flusher thread that writes it as the child
reads. So a caller never blocks on a child that has stopped reading.

Messages are framed as `multiprocessing.connection.Connection` frames them
(`audit.pipe_frames`), so the child reads them with `Connection.recv`.
"""

from __future__ import annotations

import os
import select
import threading
from typing import Final

from audit.pipe_frames import frame

#: How often the flusher looks again whether it was closed while the child is not reading.
FLUSH_POLL_SECONDS: Final = 0.1


class RequestPipe:
    """Writes framed messages to `descriptor` (which it owns and closes) in the order sent,
    never blocking the sender. Once the child is gone, messages are dropped: whoever waits
    for their answers learns from the replies' end that the child went away."""

    def __init__(self, descriptor: int) -> None:
        os.set_blocking(descriptor, False)
        self._descriptor = descriptor
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._unsent = bytearray()
        self._closing = False
        self._gone = False
        self._flusher = threading.Thread(
            target=self._flush_unsent, name="audit-writer-requests", daemon=True
        )
        self._flusher.start()

    def send(self, message: object) -> None:
        """Write `message` now if the pipe has room, else after what waits before it."""
        data = frame(message)
        with self._lock:
            if self._closing or self._gone:
                return
            if not self._unsent:
                data = data[self._write_some(data) :]
                if not data:
                    return
            self._unsent += data
            self._changed.notify()

    def close(self, *, timeout: float) -> None:
        """Write what waits (for up to `timeout` seconds), then close the pipe: the child
        reads to its end and exits."""
        with self._lock:
            self._closing = True
            self._changed.notify()
        self._flusher.join(timeout)
        self.abandon()

    def abandon(self) -> None:
        """Drop what waits and close the pipe at once (the child is gone or being killed)."""
        with self._lock:
            self._gone = True
            self._unsent.clear()
            self._changed.notify()
        self._flusher.join()
        with self._lock:
            if self._descriptor >= 0:
                os.close(self._descriptor)
                self._descriptor = -1

    def _write_some(self, data: bytes | bytearray) -> int:
        """As much of `data` as the pipe takes now (called with the lock held)."""
        try:
            return os.write(self._descriptor, data)
        except BlockingIOError:
            return 0
        except OSError:  # the child closed its end: it is gone
            self._gone = True
            self._unsent.clear()
            return len(data)

    def _flush_unsent(self) -> None:
        while True:
            with self._lock:
                while not self._unsent and not (self._closing or self._gone):
                    self._changed.wait()
                if self._gone or not self._unsent:
                    return
                descriptor = self._descriptor
            select.select([], [descriptor], [], FLUSH_POLL_SECONDS)
            with self._lock:
                if self._unsent and not self._gone:
                    del self._unsent[: self._write_some(self._unsent)]
