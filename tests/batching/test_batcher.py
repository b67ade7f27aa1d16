"""Batcher: requests that arrive together are served by one call, each keeping its outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batching import Batcher


class GatedWriter:
    """Doubles each request; the first batch waits at a gate so others pile up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, requests: Sequence[int]) -> list[int | Exception]:
        self.entered.set()
        self.gate.wait(10)
        self.batches.append(list(requests))
        return [ValueError(f"odd {n}") if n % 2 else n * 2 for n in requests]


def _submit_all(queue: Batcher[int, int], numbers: Sequence[int]) -> dict[int, object]:
    outcomes: dict[int, object] = {}

    def one(n: int) -> None:
        try:
            outcomes[n] = queue.submit(n)
        except ValueError as error:
            outcomes[n] = error

    threads = [threading.Thread(target=one, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_a_lone_request_is_written_at_once_by_its_caller() -> None:
    writer = GatedWriter()
    writer.gate.set()
    queue: Batcher[int, int] = Batcher(writer)
    assert queue.submit(4) == 8
    assert writer.batches == [[4]]


def test_requests_arriving_while_a_write_runs_go_in_the_next_batch_together() -> None:
    writer = GatedWriter()
    queue: Batcher[int, int] = Batcher(writer)
    first = threading.Thread(target=queue.submit, args=(0,))
    first.start()
    assert writer.entered.wait(10)
    waiting = [threading.Thread(target=queue.submit, args=(n,)) for n in (2, 4, 6, 8)]
    for thread in waiting:
        thread.start()
    while len(queue._queue) < 4:  # all four are queued behind the first write
        threading.Event().wait(0.001)
    writer.gate.set()
    for thread in [first, *waiting]:
        thread.join(10)
    assert writer.batches[0] == [0]
    assert sorted(writer.batches[1]) == [2, 4, 6, 8]
    assert len(writer.batches) == 2


def test_max_batch_splits_a_long_queue() -> None:
    writer = GatedWriter()
    queue: Batcher[int, int] = Batcher(writer, max_batch=3)
    first = threading.Thread(target=queue.submit, args=(0,))
    first.start()
    assert writer.entered.wait(10)
    rest = [threading.Thread(target=queue.submit, args=(n,)) for n in range(2, 16, 2)]
    for thread in rest:
        thread.start()
    while len(queue._queue) < 7:
        threading.Event().wait(0.001)
    writer.gate.set()
    for thread in [first, *rest]:
        thread.join(10)
    assert [len(batch) for batch in writer.batches] == [1, 3, 3, 1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=40, unique=True))
def test_every_request_gets_its_own_outcome(numbers: list[int]) -> None:
    writer = GatedWriter()
    writer.gate.set()
    outcomes = _submit_all(Batcher(writer, max_batch=5), numbers)
    for n in numbers:
        if n % 2:
            assert isinstance(outcomes[n], ValueError) and str(outcomes[n]) == f"odd {n}"
        else:
            assert outcomes[n] == n * 2
    assert sorted(n for batch in writer.batches for n in batch) == sorted(numbers)


def test_a_writer_that_raises_fails_the_whole_batch_and_the_queue_carries_on() -> None:
    calls: list[list[int]] = []

    def flaky(requests: Sequence[int]) -> list[int | Exception]:
        calls.append(list(requests))
        if len(calls) == 1:
            raise OSError("disk gone")
        return list(requests)

    queue: Batcher[int, int] = Batcher(flaky)
    with pytest.raises(OSError, match="disk gone"):
        queue.submit(1)
    assert queue.submit(2) == 2


def test_a_writer_returning_the_wrong_number_of_outcomes_fails_the_batch() -> None:
    queue: Batcher[int, int] = Batcher(lambda requests: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 requests"):
        queue.submit(1)


class CountingServer:
    """Records how many batches run at once; each batch lingers so that they overlap."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.served: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, requests: Sequence[int]) -> list[int | Exception]:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        threading.Event().wait(0.01)
        with self._lock:
            self.running -= 1
            self.served += requests
        return [n * 2 for n in requests]


@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_at_most_lanes_batches_run_at_once_and_all_are_used(lanes: int) -> None:
    server = CountingServer()
    numbers = list(range(60))
    outcomes = _submit_all(Batcher(server, max_batch=2, lanes=lanes), numbers)
    assert outcomes == {n: n * 2 for n in numbers}
    assert sorted(server.served) == numbers
    assert server.most_at_once == lanes


def test_two_lanes_serve_two_batches_side_by_side() -> None:
    both_running = threading.Barrier(2, timeout=5)

    def meets_the_other_lane(requests: Sequence[int]) -> list[int | Exception]:
        both_running.wait()  # breaks (and fails both) unless two batches run at once
        return list(requests)

    queue: Batcher[int, int] = Batcher(meets_the_other_lane, lanes=2)
    outcomes = _submit_all(queue, [1, 2])
    assert outcomes == {1: 1, 2: 2}


def test_lanes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lanes"):
        Batcher(CountingServer(), lanes=0)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=40, unique=True),
    st.integers(1, 4),
    st.integers(1, 6),
)
def test_with_several_lanes_every_request_gets_its_own_outcome_once(
    numbers: list[int], lanes: int, max_batch: int
) -> None:
    writer = GatedWriter()
    writer.gate.set()
    outcomes = _submit_all(Batcher(writer, max_batch=max_batch, lanes=lanes), numbers)
    for n in numbers:
        if n % 2:
            assert isinstance(outcomes[n], ValueError)
        else:
            assert outcomes[n] == n * 2
    served = [n for batch in writer.batches for n in batch]
    assert sorted(served) == sorted(numbers)  # each exactly once
    assert all(batch for batch in writer.batches)  # an empty batch is never served
