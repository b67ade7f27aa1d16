"""AuditLog: numbering, chaining, atomic batches, and failing closed.

Tests taking `store`, `log` or `record_store_factory` run on SQLite and PostgreSQL; the rest
provoke failures particular to one backend (file modes, a full disk, a held lock).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from audit import (
    AuditLog,
    AuditWriteError,
    SigningKey,
    SQLiteRecordStore,
    decode_record,
    export_bundle,
    record_digest,
    verify_bundle,
)
from tests.audit._concurrent_writer import append_many, batch_sizes, open_patient
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, AnyStore, StepClock, event


def test_append_numbers_and_chains_records(log: AuditLog, store: AnyStore) -> None:
    first = log.append("a", POLICY, [event(1), event(2)])
    second = log.append("b", POLICY, [event(3)])
    third = log.append("a", POLICY, [event(4)])
    assert [(r.seq, r.session_seq) for r in first + second + third] == [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 2),
    ]
    trusted = {log.key.public_key.keyid: log.key.public_key}
    stored = list(store.records())
    payloads = [decode_record(r.line, trusted) for r in stored]
    assert [p.prev for p in payloads] == [None, first[0].digest, None, first[1].digest]
    assert [record_digest(r.line) for r in stored] == [r.digest for r in first + second + third]
    assert payloads[3].event == event(4)
    assert payloads[0].policy == POLICY
    assert payloads[0].timestamp == "2026-11-22T04:50:09.124456Z"  # StepClock's first tick
    assert [p.session_id for p in payloads] == ["a", "a", "b", "a"]


def test_empty_batch_writes_nothing(log: AuditLog, store: AnyStore) -> None:
    assert log.append("a", POLICY, []) == []
    assert store.head() == 0


def test_two_logs_on_one_store_share_numbering(
    record_store_factory: StoreFactory, key: SigningKey
) -> None:
    with record_store_factory() as one, record_store_factory() as two:
        AuditLog(one, key).append("s", POLICY, [event(1)])
        appended = AuditLog(two, key).append("s", POLICY, [event(2)])
        assert [(r.seq, r.session_seq) for r in appended] == [(2, 1)]


def _assert_nothing_written(path: Path, expected_head: int) -> None:
    with SQLiteRecordStore(path) as store:
        assert store.head() == expected_head


def test_invalid_event_fails_closed(log: AuditLog, store: AnyStore) -> None:
    log.append("a", POLICY, [event(1)])
    with pytest.raises(AuditWriteError, match=r"'a'.*ValidationError"):
        log.append("a", POLICY, [event(2), {"no": "type"}])
    # NaN and bytes have no JSON form: refused, never silently turned into null or text.
    with pytest.raises(AuditWriteError, match="CanonicalizationError"):
        log.append("a", POLICY, [event(3), {"type": "X", "value": float("nan")}])
    with pytest.raises(AuditWriteError, match="CanonicalizationError"):
        log.append("a", POLICY, [{"type": "X", "audio": b"\x00"}])
    assert store.head() == 1
    assert log.append("a", POLICY, [event(4)])[0].session_seq == 1  # chain continues


def test_naive_clock_fails_closed(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(AuditWriteError, match="no timezone"):
        log.append("a", POLICY, [event(1)])
    assert store.head() == 0


def test_closed_store_fails_closed(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key)
    store.close()
    with pytest.raises(AuditWriteError, match="closed"):
        log.append("a", POLICY, [event(1)])


def test_read_only_database_fails_closed(
    record_store_factory: StoreFactory, key: SigningKey
) -> None:
    with record_store_factory() as store:
        AuditLog(store, key).append("a", POLICY, [event(1)])
    with (
        record_store_factory(read_only=True) as store,
        pytest.raises(AuditWriteError, match=r"readonly|read-only"),
    ):
        AuditLog(store, key).append("a", POLICY, [event(2)])
    with record_store_factory() as store:
        assert store.head() == 1


_APPEND_SCRIPT = """
import sys
import threading
from pathlib import Path
from audit import AuditLog, AuditWriteError, SigningKey, SQLiteRecordStore
from tests.audit.helpers import POLICY, event
with SQLiteRecordStore(Path(sys.argv[1])) as store:
    try:
        AuditLog(store, SigningKey.generate()).append("a", POLICY, [event(2)])
    except AuditWriteError as exc:
        print("AuditWriteError:", exc)
    else:
        print("written")
"""


def test_read_only_file_fails_closed(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "a.db"
    with SQLiteRecordStore(path) as store:
        AuditLog(store, key).append("a", POLICY, [event(1)])
    path.chmod(0o444)
    command = [sys.executable, "-c", _APPEND_SCRIPT, str(path)]
    if os.geteuid() == 0:  # root ignores permission bits unless it gives up that capability
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is not available to drop CAP_DAC_OVERRIDE")
        caps = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(command, capture_output=True, text=True, cwd=repo, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("AuditWriteError:"), result.stdout
    assert "readonly" in result.stdout
    path.chmod(0o644)
    _assert_nothing_written(path, 1)


def test_full_disk_fails_closed_and_writes_nothing(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "a.db"
    with SQLiteRecordStore(path) as store:
        log = AuditLog(store, key)
        log.append("a", POLICY, [event(1)])
        conn = store._connection()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk full"
        big = [dict(event(n), text="x" * 4000) for n in range(20)]
        with pytest.raises(AuditWriteError, match="full"):
            log.append("a", POLICY, big)
        assert store.head() == 1
    _assert_nothing_written(path, 1)


def test_locked_database_fails_closed(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "a.db"
    SQLiteRecordStore(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (
            SQLiteRecordStore(path, busy_timeout=0.05) as store,
            pytest.raises(AuditWriteError, match="locked"),
        ):
            AuditLog(store, key).append("a", POLICY, [event(1)])
    finally:
        blocker.rollback()
        blocker.close()
    _assert_nothing_written(path, 0)


def test_concurrent_processes_keep_seq_gap_free_and_chains_intact(
    record_store_factory: StoreFactory, tmp_path: Path
) -> None:
    # Several replicas on PostgreSQL; two processes on one SQLite file, whose sleeping busy
    # handler makes more of them slow (not wrong) on a loaded machine.
    writers = 4 if record_store_factory.backend == "postgres" else 2
    location, key_file = str(record_store_factory.location), tmp_path / "keys" / "audit.pem"
    key = SigningKey.load_or_create(key_file)
    record_store_factory().close()  # create the schema before the writers race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(writers)
    rounds = 120
    workers = [
        context.Process(target=append_many, args=(location, str(key_file), w, rounds, start))
        for w in range(writers)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * writers
    written = writers * sum(batch_sizes(rounds))

    trusted = {key.public_key.keyid: key.public_key}
    with open_patient(location) as store:
        records = list(store.records())
        assert [r.seq for r in records] == list(range(1, written + 1))
        last: dict[str, tuple[int, str]] = {}
        writers_in_order = []
        for stored in records:
            payload = decode_record(stored.line, trusted)
            assert payload.seq == stored.seq
            before = last.get(payload.session_id)
            assert payload.session_seq == (0 if before is None else before[0] + 1)
            assert payload.prev == (None if before is None else before[1])
            last[payload.session_id] = (payload.session_seq, stored.digest)
            writers_in_order.append(payload.event["writer"])
        assert set(last) == {"shared-0", "shared-1", "shared-2"} | {
            f"own-{w}" for w in range(writers)
        }
        switches = sum(a != b for a, b in itertools.pairwise(writers_in_order))
        assert switches > writers, "the writers never interleaved; the test proved nothing"
        report = verify_bundle(export_bundle(store, key, tmp_path / "bundle", "t").path)
    assert report.ok, report.problems
    assert report.records_checked == written


def test_clock_is_used_for_timestamps(store: AnyStore, key: SigningKey) -> None:
    clock = StepClock()
    AuditLog(store, key, clock=clock).append("a", POLICY, [event(1), event(2)])
    stamps = [r.recorded_at for r in store.records()]
    assert stamps == ["2026-11-22T04:50:09.124456Z", "2026-11-22T04:50:09.125456Z"]


def test_threads_sharing_one_log_keep_numbering(store: AnyStore, key: SigningKey) -> None:
    log = AuditLog(store, key)

    def session(name: str) -> None:
        for n in range(25):
            log.append(name, POLICY, [event(n), event(n + 100)])

    threads = [threading.Thread(target=session, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trusted = {key.public_key.keyid: key.public_key}
    records = [decode_record(r.line, trusted) for r in store.records()]
    assert [r.seq for r in records] == list(range(1, 201))
    for name in ("t0", "t1", "t2", "t3"):
        assert [r.session_seq for r in records if r.session_id == name] == list(range(50))
