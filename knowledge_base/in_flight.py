"""Work being done right now, claimed so that nobody does it twice at the same time.

Embeddings are cached once computed, but a text asked for while another thread is still
computing it is not in the cache yet. Without a claim both would run the model on it: the
typical case is a final transcript arriving while its clauses are being prefetched from the
partials. A caller claims the keys nobody is working on, computes those, and waits for the
rest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Claim:
    """Keys this caller must compute, and the signals of keys others are computing."""

    mine: list[str]
    others: list[threading.Event]


class InFlight:
    """Keys being computed, each with the event that is set when its computation ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}

    def claim(self, keys: Iterable[str]) -> Claim:
        """Claim every key nobody is computing; the caller must `release` them."""
        mine: list[str] = []
        others: dict[int, threading.Event] = {}
        with self._lock:
            for key in dict.fromkeys(keys):
                running = self._running.get(key)
                if running is None:
                    self._running[key] = threading.Event()
                    mine.append(key)
                else:
                    others[id(running)] = running
        return Claim(mine, list(others.values()))

    def release(self, keys: Iterable[str]) -> None:
        """End the caller's claim on `keys` (computed or failed) and wake their waiters."""
        with self._lock:
            events = [self._running.pop(key) for key in keys if key in self._running]
        for event in events:
            event.set()
