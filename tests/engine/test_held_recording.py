"""HoldingRecorder: records pass through, except inside `holding()`, where they wait for
`write()`, in order; a failed write keeps what it did not write."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from engine.events import PolicyVersion, SessionEvent
from engine.held_recording import HoldingRecorder

POLICY = PolicyVersion(id="p", version=1, digest="0" * 64)


class ListRecorder:
    def __init__(self, failures: int = 0) -> None:
        self.written: list[tuple[str, int]] = []
        self.failures = failures

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.written.append((session_id, len(events)))


def test_outside_holding_records_are_written_at_once() -> None:
    inner = ListRecorder()
    HoldingRecorder(inner).record("s", POLICY, [])
    assert inner.written == [("s", 0)]


def test_inside_holding_records_wait_for_write_and_keep_their_order() -> None:
    inner = ListRecorder()
    recorder = HoldingRecorder(inner)
    with recorder.holding() as held:
        recorder.record("a", POLICY, [])
        recorder.record("b", POLICY, [])
    assert inner.written == [] and held
    recorder.record("after", POLICY, [])  # the block is over: written directly
    held.write()
    assert inner.written == [("after", 0), ("a", 0), ("b", 0)]
    assert not held


def test_a_failed_write_raises_and_keeps_what_was_not_written() -> None:
    inner = ListRecorder(failures=1)
    recorder = HoldingRecorder(inner)
    with recorder.holding() as held:
        recorder.record("a", POLICY, [])
    with pytest.raises(OSError, match="disk full"):
        held.write()
    assert held and inner.written == []
    held.write()
    assert inner.written == [("a", 0)]
