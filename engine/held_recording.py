"""A recorder that can hold a step's records back, for a caller that writes them elsewhere.

A server evaluates a learner's partial transcript on its event loop: the evaluation is a
millisecond of lexical matching, less than what handing it to a worker thread and back
costs under load. Writing the audit records of a flag it raises must not stall that loop,
though. Inside `HoldingRecorder.holding()` the session's `record` calls are kept instead of
written; the caller writes them from a thread with `HeldRecords.write()`, and shows the
step's events only once that has succeeded, so "durable before it is acknowledged" holds
as on the direct path. Where the log takes appends without blocking, `HeldRecords.submit`
hands them over and returns a future for the loop to await, with no thread in between. If
the write fails, the caller must fail the session (`Session.recording_failed`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from engine.events import PolicyVersion, SessionEvent
from engine.session import EventRecorder


@runtime_checkable
class SubmittingRecorder(EventRecorder, Protocol):
    """A recorder that can also pass a `record` call on without waiting for it
    (`engine.recording.AuditRecorder.submit`); None where its log cannot."""

    def submit(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> Future[Any] | None: ...


class HeldRecords:
    """The `record` calls of one step, in order, not yet written."""

    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder
        self._calls: list[tuple[str, PolicyVersion, list[SessionEvent]]] = []

    def __bool__(self) -> bool:
        return bool(self._calls)

    def keep(self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]) -> None:
        self._calls.append((session_id, policy, list(events)))

    def submit(self) -> Future[Any] | None:
        """Hand the held records to the log without waiting, where that keeps `write`'s
        meaning: one held `record` call (a step's usual) and a recorder whose log takes
        appends without blocking (`SubmittingRecorder.submit`). The future settles once
        they are durable or failed; None means "call `write`, from a thread". Raises what
        the recorder raises when the log cannot take them at all."""
        if len(self._calls) != 1 or not isinstance(self._recorder, SubmittingRecorder):
            return None
        submitted = self._recorder.submit(*self._calls[0])
        if submitted is not None:
            self._calls.clear()
        return submitted

    def write(self) -> None:
        """Write the held records in order; raises what the recorder raises."""
        while self._calls:
            session_id, policy, events = self._calls[0]
            self._recorder.record(session_id, policy, events)
            del self._calls[0]


class HoldingRecorder:
    """Records through `recorder`, except inside `holding()`, where it keeps the calls.

    Only one step of a session runs at a time (its caller holds the session's lock), so
    the recorder needs no lock of its own."""

    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder
        self._held: HeldRecords | None = None

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        if self._held is not None:
            self._held.keep(session_id, policy, events)
        else:
            self._recorder.record(session_id, policy, events)

    @contextmanager
    def holding(self) -> Iterator[HeldRecords]:
        """Keep the `record` calls made inside the block in the `HeldRecords` yielded."""
        held = HeldRecords(self._recorder)
        self._held = held
        try:
            yield held
        finally:
            self._held = None
