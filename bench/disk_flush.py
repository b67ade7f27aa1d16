"""How long the disk takes to flush, measured beside a run that waits for it.

An audit record is durable, and its flag may be shown, only once the disk has flushed the
log's write-ahead file. On this virtual machine a 4 KiB flush usually takes under a
millisecond, but now and then the disk stops for 0.1-1.2 s, with no load of ours on it.
Every flag whose records are being written meanwhile waits, whatever the server does. A
flag latency is therefore reported with the flushes of the same disk, timed in the same
run: a tail that moves with them comes from the disk, one that does not from the code.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.machine import percentile

STALL_MS = 50.0  # the flag budget: a flush longer than this alone breaks it
PROBE_BYTES = 4096
PROBE_FILE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Flush:
    """One probe write and flush: when it started and how long it took (perf_counter s)."""

    started: float
    seconds: float

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def stalled(self) -> bool:
        return self.seconds * 1000 > STALL_MS


@dataclass
class DiskFlushProbe:
    """Writes 4 KiB into a file of `folder` and flushes it (`fdatasync`), every `interval_s`,
    on a thread of its own, while used as a context manager.

    The file is allocated before the first flush and written in place, as SQLite reuses its
    write-ahead file, so each flush is data only, like a commit's."""

    folder: Path
    interval_s: float = 0.1
    flushes: list[Flush] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> DiskFlushProbe:
        path = self.folder / "disk-flush-probe"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(descriptor, bytes(PROBE_FILE_BYTES), 0)
        os.fsync(descriptor)
        self._thread = threading.Thread(
            target=self._probe, args=(descriptor, path), name="disk-flush-probe", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _probe(self, descriptor: int, path: Path) -> None:
        block = b"\x01" * PROBE_BYTES
        offset = 0
        try:
            while not self._stop.is_set():
                os.pwrite(descriptor, block, offset)
                started = time.perf_counter()
                os.fdatasync(descriptor)
                self.flushes.append(Flush(started, time.perf_counter() - started))
                offset = (offset + PROBE_BYTES) % PROBE_FILE_BYTES
                self._stop.wait(self.interval_s)
        finally:
            os.close(descriptor)
            path.unlink(missing_ok=True)

    def stalled_between(self, start: float, end: float) -> bool:
        """Whether a stalled flush overlapped the moments `start` to `end` (perf_counter s)."""
        return any(
            flush.stalled and flush.started < end and flush.ended > start for flush in self.flushes
        )

    def summary(self) -> dict[str, float]:
        """Flush times in ms (p50, p99, max), how many stalled, and the seconds they took."""
        millis = [flush.seconds * 1000 for flush in self.flushes] or [0.0]
        stalls = [flush for flush in self.flushes if flush.stalled]
        return {
            "flushes": len(self.flushes),
            "p50": round(percentile(millis, 0.5), 2),
            "p99": round(percentile(millis, 0.99), 2),
            "max": round(max(millis), 1),
            "stalls": len(stalls),
            "stalled_seconds": round(sum(flush.seconds for flush in stalls), 2),
        }
