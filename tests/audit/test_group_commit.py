"""Group commit: concurrent audit appends share transactions, each keeping its outcome."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from audit import AuditLog, AuditWriteError, SigningKey, decode_record
from audit.store import StoreTransaction
from tests.audit.helpers import POLICY, AnyStore, event


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
