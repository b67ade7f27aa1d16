"""Worker processes for the verifier's per-line checks, started lean and early.

Each worker is a fresh interpreter running `audit.verify_worker`, which imports the line
checks' fast path and nothing else, so a worker is ready in a small fraction of a second
whatever program the verifier runs in (`multiprocessing`'s spawn re-imports that program's
main module in every worker). Processes are started with `subprocess` (fork and exec), safe
from threaded programs. The verifier starts them before it reads keys and the manifest,
so their start-up overlaps that work, and sends the `BlockConfig` once it knows it.

Each worker has a writer thread (blocks can be larger than a pipe's buffer, and the main
thread must never wait on one worker while another is idle) and a reader thread that
resolves the futures of its blocks in order. A worker that dies, or a pool that cannot
start, shows as `WorkerUnavailable` from `submit` or a future; the verifier then checks
those blocks itself.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Final

from audit.verify_block import BlockConfig, BlockResult
from audit.verify_worker import block_frame, frame, read_frame

_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parent.parent)
# The worker imports the same `audit` package as this process, whatever sys.path says.
_BOOT: Final = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from audit.verify_worker import main; main()"
)


class WorkerUnavailable(Exception):
    """A worker died or never started; the block must be checked in this process."""


class WorkerError(Exception):
    """Checking a block raised in the worker (the message is the worker's)."""


class _Worker:
    def __init__(self) -> None:
        if not sys.executable:
            raise WorkerUnavailable("no Python executable to start workers with")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except OSError as exc:
            raise WorkerUnavailable(f"cannot start a worker: {exc}") from exc
        self._outbox: queue.SimpleQueue[tuple[bytes, ...] | None] = queue.SimpleQueue()
        self._pending: deque[Future[BlockResult]] = deque()
        self._lock = threading.Lock()
        self.alive = True
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._writer.start()
        self._reader.start()

    @property
    def load(self) -> int:
        return len(self._pending)

    def send(self, *parts: bytes) -> None:
        self._outbox.put(parts)

    def submit(self, *parts: bytes) -> Future[BlockResult]:
        future: Future[BlockResult] = Future()
        with self._lock:
            if not self.alive:
                raise WorkerUnavailable("worker has stopped")
            self._pending.append(future)
        self._outbox.put(parts)
        return future

    def _write(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while (parts := self._outbox.get()) is not None:
                for part in parts:
                    stdin.write(part)
                stdin.flush()
        except (OSError, ValueError):
            pass  # the worker is gone; the reader sees its output end
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while (raw := read_frame(stdout)) is not None:
                result, error = pickle.loads(raw)
                with self._lock:
                    future = self._pending.popleft()
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(WorkerError(error))
        except (OSError, EOFError, pickle.UnpicklingError, IndexError):
            pass
        finally:
            with self._lock:
                self.alive = False
                orphans = list(self._pending)
                self._pending.clear()
            for future in orphans:
                future.set_exception(WorkerUnavailable("worker stopped before answering"))

    def close(self) -> None:
        """Stop the worker: at once if it still has blocks (the verifier stopped early)."""
        self._outbox.put(None)
        if self._pending:
            self._process.kill()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._writer.join()
        self._reader.join()
        if self._process.stdout is not None:
            self._process.stdout.close()


class WorkerPool:
    """`count` worker processes; blocks go to the one with the fewest waiting."""

    def __init__(self, count: int) -> None:
        self._workers: list[_Worker] = []
        try:
            for _ in range(count):
                self._workers.append(_Worker())
        except WorkerUnavailable:
            self.close()
            raise

    @property
    def workers(self) -> int:
        return len(self._workers)

    def configure(self, config: BlockConfig) -> None:
        message = frame(config)
        for worker in self._workers:
            worker.send(message)

    def submit(self, first: int, blob: bytes) -> Future[BlockResult]:
        parts = block_frame(first, blob)
        while True:
            live = [worker for worker in self._workers if worker.alive]
            if not live:
                raise WorkerUnavailable("no worker is running")
            try:
                return min(live, key=lambda worker: worker.load).submit(*parts)
            except WorkerUnavailable:
                continue  # it stopped just now: try another

    def close(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers = []
