"""The record stores: atomic batches and reads on both backends; SQLite's own mechanics.

Tests taking `store` or `record_store_factory` run against SQLite and PostgreSQL; the
PostgreSQL-only mechanics are in test_postgres_store.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit import SessionHead, SQLiteRecordStore, StoredRecord, StoreError
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import AnyStore


def row(seq: int, session: str = "s", session_seq: int | None = None) -> StoredRecord:
    return StoredRecord(
        seq=seq,
        session_id=session,
        session_seq=seq - 1 if session_seq is None else session_seq,
        digest=f"{seq:064x}",
        line=b'{"line":%d}' % seq,
        recorded_at="2026-11-22T04:50:09.123456Z",
    )


def test_wal_and_full_sync(sqlite_store: SQLiteRecordStore) -> None:
    raw = sqlite3.connect(sqlite_store.path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()
    conn = sqlite_store._connection()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_append_and_read_back(store: AnyStore) -> None:
    assert store.head() == 0
    assert store.session_head("a") is None
    with store.transaction() as tx:
        tx.append([row(1, "a", 0), row(2, "b", 0), row(3, "a", 1)])
        assert tx.head() == 3  # visible inside the transaction
    assert store.head() == 3
    assert store.session_head("a") == SessionHead(session_seq=1, digest=f"{3:064x}")
    assert store.session_ids() == ["a", "b"]
    assert [r.seq for r in store.records()] == [1, 2, 3]
    assert [r.seq for r in store.records(2, 2)] == [2]
    assert next(iter(store.records(1, 1))) == row(1, "a", 0)


def test_records_are_paged_in_seq_order(store: AnyStore) -> None:
    with store.transaction() as tx:
        tx.append([row(seq) for seq in range(1, 2501)])
    assert [r.seq for r in store.records(3, 2500)] == list(range(3, 2501))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records SET line = x'00' WHERE seq = 1",
        "UPDATE records SET session_id = 'other'",
        "DELETE FROM records WHERE seq = 2",
        "DELETE FROM records",
        "INSERT OR REPLACE INTO records VALUES (1, 's', 0, '%s', x'00', 't')" % ("0" * 64),
        "INSERT INTO records VALUES (4, 's', 3, '%s', x'00', 't')" % ("0" * 64),  # gap
        "INSERT INTO records VALUES (3, 's', 5, '%s', x'00', 't')" % ("0" * 64),  # session gap
        "INSERT INTO records VALUES (3, 'new', 1, '%s', x'00', 't')" % ("0" * 64),  # no start
    ],
)
def test_database_itself_refuses_changes(sqlite_store: SQLiteRecordStore, statement: str) -> None:
    with sqlite_store.transaction() as tx:
        tx.append([row(1), row(2)])
    raw = sqlite3.connect(sqlite_store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match=r"append-only|contiguous"):
            raw.execute(statement)
        raw.rollback()
        lines = raw.execute("SELECT seq, session_id, line FROM records ORDER BY seq").fetchall()
    finally:
        raw.close()
    assert lines == [(1, "s", b'{"line":1}'), (2, "s", b'{"line":2}')]


def test_failing_batch_leaves_no_row(store: AnyStore) -> None:
    with store.transaction() as tx:
        tx.append([row(1)])
    with pytest.raises(StoreError, match="contiguous"), store.transaction() as tx:
        tx.append([row(2), row(3), row(5)])  # the third row leaves a gap
    assert store.head() == 1
    with pytest.raises(StoreError, match=r"UNIQUE|unique|contiguous"), store.transaction() as tx:
        tx.append([row(2), row(3, "s", 1)])  # duplicate session_seq
    assert [r.seq for r in store.records()] == [1]


def test_exception_in_caller_rolls_back(store: AnyStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append([row(1)])
        raise RuntimeError("signing failed")
    assert store.head() == 0
    with store.transaction() as tx:  # the store is still usable
        tx.append([row(1)])
    assert store.head() == 1


def test_transaction_handle_dies_with_the_transaction(store: AnyStore) -> None:
    with store.transaction() as tx:
        pass
    with pytest.raises(StoreError, match="ended"):
        tx.append([row(1)])


def test_closed_store_refuses_everything(record_store_factory: StoreFactory) -> None:
    store = record_store_factory()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.head()
    with pytest.raises(StoreError, match="closed"), store.transaction():
        pass
    with pytest.raises(StoreError, match="closed"):
        list(store.records())
    with pytest.raises(StoreError, match="closed"):
        store.session_ids()
    store.close()  # closing twice is harmless


def test_second_writer_waits_then_fails_when_locked(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    SQLiteRecordStore(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with SQLiteRecordStore(path, busy_timeout=0.05) as store:
            with pytest.raises(StoreError, match="locked"), store.transaction():
                pass
            assert store.head() == 0  # WAL: readers are not blocked by the writer
    finally:
        blocker.rollback()
        blocker.close()


def test_read_only_store_reads_but_cannot_write(record_store_factory: StoreFactory) -> None:
    with record_store_factory() as writer, writer.transaction() as tx:
        tx.append([row(1)])
    with record_store_factory(read_only=True) as reader:
        assert [r.seq for r in reader.records()] == [1]
        with pytest.raises(StoreError, match=r"readonly|read-only"), reader.transaction() as tx:
            tx.append([row(2)])
        assert reader.head() == 1
    with record_store_factory() as writer:
        assert [r.seq for r in writer.records()] == [1]


def test_read_only_open_of_missing_or_foreign_file_fails(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot"):
        SQLiteRecordStore(tmp_path / "missing.db", read_only=True)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError, match="not an audit store"):
        SQLiteRecordStore(foreign, read_only=True)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    SQLiteRecordStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteRecordStore(path)


def test_reopening_keeps_records(record_store_factory: StoreFactory) -> None:
    with record_store_factory() as store, store.transaction() as tx:
        tx.append([row(1), row(2)])
    with record_store_factory() as store:
        assert store.head() == 2
        assert store.session_head("s") == SessionHead(1, f"{2:064x}")
