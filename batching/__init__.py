"""Requests that arrive together are served together, by one call.

Some work costs much less in bulk than piece by piece: a database commit (one fsync for many
appends) or a model's forward pass (one batch of many sentences). Under load many threads ask
for such work at the same moment, and serving them one at a time makes each wait for all the
others in turn. A `Batcher` lets the threads that are waiting at the same moment go through
together: the first to arrive becomes the leader and serves every request queued by then in
a single call; the others sleep until their outcome is settled. When the leader finishes and
more requests have queued meanwhile, it hands the lead to the oldest of them. At most
`lanes` batches run at a time (one by default: a database commit; two for a model whose
passes each use one core).

With one caller at a time nothing is batched and nothing waits: the caller leads at once.
Each request keeps its own outcome, so a request the batch function refuses fails alone; a
batch function that raises fails every request of that batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")

#: Serves a batch in one call; returns one outcome per request, in order: the result, or the
#: exception that request fails with. Raising fails the whole batch with that error.
BatchFunction = Callable[[Sequence[Request]], list[Result | Exception]]


class _Pending(Generic[Request, Result]):
    """One caller's request, waiting for its outcome or to be made leader."""

    __slots__ = ("leads", "outcome", "request", "settled", "wake")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.outcome: Result | Exception | None = None
        self.settled = False
        self.leads = False
        self.wake = threading.Event()

    def settle(self, outcome: Result | Exception) -> None:
        self.outcome = outcome
        self.settled = True
        self.wake.set()

    def promote(self) -> None:
        self.leads = True
        self.wake.set()


class Batcher(Generic[Request, Result]):
    """Runs `serve` on batches of concurrently submitted requests, `max_batch` at most."""

    def __init__(
        self, serve: BatchFunction[Request, Result], *, max_batch: int = 256, lanes: int = 1
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self._serve = serve
        self._max_batch = max_batch
        self._lanes = lanes
        self._lock = threading.Lock()
        self._queue: list[_Pending[Request, Result]] = []
        self._leaders = 0

    def submit(self, request: Request) -> Result:
        """Serve `request` (with whatever else is waiting) and return its result, or raise
        the exception it failed with."""
        pending: _Pending[Request, Result] = _Pending(request)
        with self._lock:
            self._queue.append(pending)
            if self._leaders < self._lanes:
                self._leaders += 1
                pending.leads = True
        while True:
            if pending.leads:
                pending.leads = False
                # Made leader, but another lane may have served this request meanwhile.
                if pending.settled:
                    self._pass_lead()
                else:
                    self._lead()
            if pending.settled:
                break
            pending.wake.wait()
            pending.wake.clear()
        outcome = pending.outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]  # settled with a Result

    def _lead(self) -> None:
        """Serve one batch, settle it, then pass the lead on (or give it up)."""
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        if not batch:  # another lane took everything
            self._pass_lead()
            return
        try:
            outcomes = self._outcomes(batch)
        except BaseException as interrupt:  # KeyboardInterrupt, SystemExit: nobody was served
            for pending in batch:
                pending.settle(RuntimeError(f"the batch was interrupted: {interrupt!r}"))
            self._pass_lead()
            raise
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.settle(outcome)
        self._pass_lead()

    def _outcomes(self, batch: Sequence[_Pending[Request, Result]]) -> list[Result | Exception]:
        try:
            outcomes = self._serve([pending.request for pending in batch])
        except Exception as failure:
            return [failure] * len(batch)
        if len(outcomes) != len(batch):
            mismatch = RuntimeError(
                f"the batch function returned {len(outcomes)} outcomes for {len(batch)} requests"
            )
            return [mismatch] * len(batch)
        return outcomes

    def _pass_lead(self) -> None:
        with self._lock:
            if self._queue:
                self._queue[0].promote()
            else:
                self._leaders -= 1
