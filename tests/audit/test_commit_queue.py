"""Group commit: concurrent appends share transactions, and each keeps its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import AuditLog, AuditWriteError, SigningKey, decode_record
from audit.commit_queue import CommitQueue
from audit.store import StoreTransaction
from tests.audit.helpers import POLICY, AnyStore, event


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


def _submit_all(queue: CommitQueue[int, int], numbers: Sequence[int]) -> dict[int, object]:
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
    queue: CommitQueue[int, int] = CommitQueue(writer)
    assert queue.submit(4) == 8
    assert writer.batches == [[4]]


def test_requests_arriving_while_a_write_runs_go_in_the_next_batch_together() -> None:
    writer = GatedWriter()
    queue: CommitQueue[int, int] = CommitQueue(writer)
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
    queue: CommitQueue[int, int] = CommitQueue(writer, max_batch=3)
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
    outcomes = _submit_all(CommitQueue(writer, max_batch=5), numbers)
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

    queue: CommitQueue[int, int] = CommitQueue(flaky)
    with pytest.raises(OSError, match="disk gone"):
        queue.submit(1)
    assert queue.submit(2) == 2


def test_a_writer_returning_the_wrong_number_of_outcomes_fails_the_batch() -> None:
    queue: CommitQueue[int, int] = CommitQueue(lambda requests: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 requests"):
        queue.submit(1)


class CountingStore:
    """A store whose transactions are counted (every other call goes to the real store)."""

    def __init__(self, store: AnyStore) -> None:
        self._store = store
        self.transactions = 0

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        self.transactions += 1
        return self._store.transaction()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_concurrent_appends_share_transactions_and_keep_chains(
    store: AnyStore, key: SigningKey
) -> None:
    counting = CountingStore(store)
    log = AuditLog(counting, key)  # a RecordStore by delegation
    barrier = threading.Barrier(8)

    def session(name: str) -> None:
        barrier.wait()
        for n in range(20):
            log.append(name, POLICY, [event(n)])

    threads = [threading.Thread(target=session, args=(f"s{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trusted = {key.public_key.keyid: key.public_key}
    records = [decode_record(r.line, trusted) for r in store.records()]
    assert [r.seq for r in records] == list(range(1, 161))
    for i in range(8):
        chain = [r for r in records if r.session_id == f"s{i}"]
        assert [r.session_seq for r in chain] == list(range(20))
        assert [r.event["turn"] for r in chain] == list(range(20))
    assert counting.transactions < 160  # some appends were grouped


def test_an_invalid_append_fails_alone_when_grouped(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key)
    gate = threading.Event()
    real_transaction = store.transaction

    def slow_transaction() -> AbstractContextManager[StoreTransaction]:
        gate.wait(10)
        return real_transaction()

    store.transaction = slow_transaction  # type: ignore[method-assign,assignment]
    results: dict[str, object] = {}

    def append(name: str, events: list[dict[str, object]]) -> None:
        try:
            results[name] = log.append(name, POLICY, events)
        except AuditWriteError as error:
            results[name] = error

    leader = threading.Thread(target=append, args=("lead", [event(0)]))
    leader.start()
    followers = [
        threading.Thread(target=append, args=("good", [event(1), event(2)])),
        threading.Thread(target=append, args=("bad", [{"type": "X", "value": float("nan")}])),
        threading.Thread(target=append, args=("also-good", [event(3)])),
    ]
    for thread in followers:
        thread.start()
    while len(log._commits._queue) < 3:
        threading.Event().wait(0.001)
    gate.set()
    for thread in [leader, *followers]:
        thread.join(10)
    assert isinstance(results["bad"], AuditWriteError)
    assert "'bad'" in str(results["bad"])
    assert [r.session_seq for r in results["good"]] == [0, 1]  # type: ignore[attr-defined]
    written = {r.session_id for r in store.records()}
    assert written == {"lead", "good", "also-good"}
    assert store.head() == 4
