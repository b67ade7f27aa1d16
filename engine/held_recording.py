"""A recorder that can hold a step's records back, for a caller that writes them elsewhere.

A server evaluates a learner's partial transcript on its event loop: the evaluation is a
millisecond of lexical matching, less than what handing it to a worker thread and back
costs under load. Writing the audit records of a flag it raises must not stall that loop,
though. Inside `HoldingRecorder.holding()` the session's `record` calls are kept instead of
written; the caller writes them from a thread with `HeldRecords.write()`, and shows the
step's events only once that has succeeded, so "durable before it is acknowledged" holds
as on the direct path. If the write fails, the caller must fail the session
(`Session.recording_failed`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.events import PolicyVersion, SessionEvent
from engine.session import EventRecorder


class HeldRecords:
    """The `record` calls of one step, in order, not yet written."""

    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder
        self._calls: list[tuple[str, PolicyVersion, list[SessionEvent]]] = []

    def __bool__(self) -> bool:
        return bool(self._calls)

    def keep(self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]) -> None:
        self._calls.append((session_id, policy, list(events)))

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
