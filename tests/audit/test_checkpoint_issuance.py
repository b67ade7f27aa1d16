"""Checkpoints issued by the log: when, what they sign, and what the log refuses to sign.

Runs on SQLite and PostgreSQL (the `store`/`log` fixtures are parametrised)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from audit import (
    AuditLog,
    AuditWriteError,
    CheckpointError,
    SigningKey,
    StoreError,
    export_bundle,
    open_checkpoint,
    root,
    verify_bundle,
)
from audit.issuer import DEFAULT_ORIGIN, issue_checkpoint
from audit.note import NoteSigner
from audit.store import StoredCheckpoint
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, AnyStore, StepClock, event

ENDED = {"type": "session.ended", "reason": "completed"}


def lines_of(store: AnyStore) -> list[bytes]:
    return [record.line for record in store.records()]


def check_signed(store: AnyStore, key: SigningKey, stored: StoredCheckpoint) -> None:
    """The note verifies under the origin, and its root is that of the first `size` lines."""
    verifier = NoteSigner(stored.origin, key).verifier
    checkpoint = open_checkpoint(stored.note, [verifier], stored.origin)
    assert (checkpoint.size, checkpoint.root) == (stored.size, stored.root)
    assert stored.root == root(lines_of(store)[: stored.size])


def test_a_checkpoint_at_every_session_close(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key, clock=StepClock())
    log.append("a", POLICY, [event(1), event(2)])
    log.append("b", POLICY, [event(3)])
    assert store.checkpoints(DEFAULT_ORIGIN) == []  # no session closed, far from N
    log.append("a", POLICY, [event(4), ENDED])
    log.append("b", POLICY, [event(5)])
    log.append("b", POLICY, [ENDED])
    sizes = [c.size for c in store.checkpoints(DEFAULT_ORIGIN)]
    assert sizes == [5, 7]
    for stored in store.checkpoints(DEFAULT_ORIGIN):
        check_signed(store, key, stored)
    assert log.origin == DEFAULT_ORIGIN


def test_a_checkpoint_every_n_records(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key, clock=StepClock(), origin="example.org/log", checkpoint_every=4)
    for n in range(11):
        log.append(f"s{n % 3}", POLICY, [event(n)])
    assert [c.size for c in store.checkpoints("example.org/log")] == [4, 8]
    log.append("s0", POLICY, [event(20), event(21), event(22)])  # 14: crosses 12 in one batch
    sizes = [c.size for c in store.checkpoints("example.org/log")]
    assert sizes == [4, 8, 14]
    for stored in store.checkpoints("example.org/log"):
        check_signed(store, key, stored)
    assert store.checkpoints(DEFAULT_ORIGIN) == []


def test_writers_sharing_a_store_keep_one_consistent_tree(
    record_store_factory: StoreFactory, key: SigningKey
) -> None:
    first = AuditLog(record_store_factory(), key, checkpoint_every=3)
    second = AuditLog(record_store_factory(), key, checkpoint_every=3)
    for n in range(10):
        (first if n % 3 else second).append(f"s{n % 2}", POLICY, [event(n)])
    first.append("s0", POLICY, [ENDED])
    reader = record_store_factory()
    stored = reader.checkpoints(DEFAULT_ORIGIN)
    assert [c.size for c in stored][-1] == 11
    for checkpoint in stored:
        check_signed(reader, key, checkpoint)


def test_the_store_keeps_checkpoints_append_only_and_growing(
    store: AnyStore, key: SigningKey
) -> None:
    log = AuditLog(store, key, checkpoint_every=2)
    log.append("s", POLICY, [event(1), event(2)])
    [stored] = store.checkpoints(DEFAULT_ORIGIN)
    smaller = StoredCheckpoint(DEFAULT_ORIGIN, 1, stored.root, b"", stored.note, stored.issued_at)
    beyond = StoredCheckpoint(DEFAULT_ORIGIN, 3, stored.root, b"", stored.note, stored.issued_at)
    for refused in (stored, smaller, beyond):
        with pytest.raises(StoreError, match="checkpoint"), store.transaction() as tx:
            tx.add_checkpoint(refused)
    assert store.checkpoints(DEFAULT_ORIGIN) == [stored]


def test_update_and_delete_are_refused_by_the_database(
    record_store_factory: StoreFactory, key: SigningKey
) -> None:
    store = record_store_factory()
    AuditLog(store, key, checkpoint_every=1).append("s", POLICY, [event(1)])
    if record_store_factory.backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(store.path, isolation_level=None)  # type: ignore[union-attr]
        for statement in ("UPDATE checkpoints SET size = 5", "DELETE FROM checkpoints"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(str(record_store_factory.location), autocommit=True) as conn:
            for statement in (
                "UPDATE checkpoints SET size = 5",
                "DELETE FROM checkpoints",
                "TRUNCATE checkpoints",
            ):
                with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
                    conn.execute(statement)
    assert [c.size for c in store.checkpoints(DEFAULT_ORIGIN)] == [1]


def test_the_log_refuses_to_sign_over_a_checkpoint_it_cannot_extend(
    store: AnyStore, key: SigningKey
) -> None:
    log = AuditLog(store, key, checkpoint_every=1000)
    log.append("s", POLICY, [event(1), event(2), ENDED])
    [genuine] = store.checkpoints(DEFAULT_ORIGIN)
    # Another writer (or an intruder with database access) stores a checkpoint for size 3
    # under another origin whose signed root is not the root of the stored records.
    forged_root = bytes(32)
    from audit import Checkpoint, sign_checkpoint

    other = "intruder.example/log"
    note = sign_checkpoint(Checkpoint(other, 3, forged_root), NoteSigner(other, key))
    with store.transaction() as tx:
        tx.add_checkpoint(
            StoredCheckpoint(other, 3, forged_root, genuine.frontier, note, genuine.issued_at)
        )
    head = store.head()
    with pytest.raises(AuditWriteError, match="does not lead to its root"):
        log.append("s2", POLICY, [event(3), ENDED])
    assert store.head() == head  # failed closed: the batch was not written either
    assert [c.size for c in store.checkpoints(DEFAULT_ORIGIN)] == [3]
    with pytest.raises(CheckpointError, match="does not lead to its root"):
        issue_checkpoint(store, key, "third.example/log")


def test_issue_checkpoint_for_an_export(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key)
    log.append("s", POLICY, [event(1), event(2)])
    issued = issue_checkpoint(store, key, "export.example/log")
    assert issued.size == 2
    check_signed(store, key, issued)
    assert issue_checkpoint(store, key, "export.example/log") == issued  # already there
    log.append("s", POLICY, [ENDED])  # the log's own origin still issues: 3 >= 2
    assert [c.size for c in store.checkpoints(DEFAULT_ORIGIN)] == [3]
    with pytest.raises(CheckpointError, match="key name"):
        AuditLog(store, key, origin="has space")


def test_checkpoint_every_must_be_positive(store: AnyStore, key: SigningKey) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AuditLog(store, key, checkpoint_every=0)


class ReadCountingStore:
    """The real store, noting which record ranges its write transactions read back."""

    def __init__(self, store: AnyStore) -> None:
        self._store = store
        self.reads: list[tuple[int, int]] = []

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._store.transaction() as tx:
            outer = self

            class Counting:
                def __getattr__(self, name: str) -> Any:
                    return getattr(tx, name)

                def record_lines(self, first: int, last: int) -> Iterator[bytes]:
                    outer.reads.append((first, last))
                    return tx.record_lines(first, last)

            yield Counting()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_log_from_before_checkpoints_is_read_outside_the_write_transaction(
    store: AnyStore, key: SigningKey
) -> None:
    old = AuditLog(store, key, checkpoint_every=10**9)
    for n in range(30):
        old.append(f"s{n % 4}", POLICY, [event(n)])
    assert store.latest_checkpoint() is None  # a log that predates checkpoints
    counting = ReadCountingStore(store)
    log = AuditLog(counting, key)  # type: ignore[arg-type]  # a RecordStore by delegation
    old.append("s0", POLICY, [event(99)])
    log.append("s1", POLICY, [event(100), ENDED])
    [first] = store.checkpoints(DEFAULT_ORIGIN)
    assert first.size == 33
    check_signed(store, key, first)
    assert counting.reads == []  # warmed from committed records, nothing re-read under lock
    old.append("s2", POLICY, [event(101)])  # another writer appends in between
    log.append("s3", POLICY, [event(102), ENDED])
    assert counting.reads == [(34, 34)]  # only the other writer's record is read back
    second = store.latest_checkpoint(DEFAULT_ORIGIN)
    assert second is not None and second.size == 36
    check_signed(store, key, second)


def test_bundles_from_either_store_carry_the_logs_checkpoints(
    store: AnyStore, key: SigningKey, tmp_path: Path
) -> None:
    log = AuditLog(store, key, clock=StepClock(), origin="proctor.test/log", checkpoint_every=5)
    for n in range(12):
        events = [event(n), ENDED] if n % 4 == 3 else [event(n)]
        log.append(f"s{n // 4}", POLICY, events)
    stored = store.checkpoints("proctor.test/log")
    whole = export_bundle(store, key, tmp_path / "whole", "proctor.test/log").path
    notes = sorted(int(p.stem) for p in (whole / "log" / "checkpoints").iterdir())
    assert notes == [c.size for c in store.checkpoints("proctor.test/log")]
    assert notes[-1] == store.head()
    subset = export_bundle(
        store, key, tmp_path / "subset", "proctor.test/log", sessions=["s1"]
    ).path
    assert len(list((subset / "proofs" / "inclusion").iterdir())) == 5
    for earlier in stored:
        report = verify_bundle(whole, workers=1, trusted_checkpoint=earlier.note)
        assert report.ok, report.problems
    # A subset carries the checkpoints at its own records (s1 closed at seq 10) and the
    # anchor; an auditor's checkpoint among them is checked, any other needs the whole log.
    in_subset = sorted(int(p.stem) for p in (subset / "log" / "checkpoints").iterdir())
    assert in_subset == [10, store.head()]
    for earlier in stored:
        report = verify_bundle(subset, workers=1, trusted_checkpoint=earlier.note)
        expected = set() if earlier.size in in_subset else {"proof-missing"}
        assert {p.code for p in report.problems} == expected, report.problems
