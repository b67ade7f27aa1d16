"""The outbox in the audit database: queued with its records, both or neither, and guarded by
the database itself.

Tests taking `store`/`log` run against SQLite and PostgreSQL; the ones opening a raw
sqlite3 connection are SQLite's (their PostgreSQL twins are in test_postgres_store.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit import (
    AuditLog,
    AuditWriteError,
    OutboxRequest,
    SigningKey,
    SQLiteRecordStore,
    StoreError,
    canonical_json,
    message_id,
)
from audit.sqlite_store import SCHEMA_VERSION
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, AnyStore, StepClock, event

ESCALATION: dict[str, object] = {
    "type": "escalation.triggered",
    "trigger": "escalation[0]",
    "severity": "critical",
    "channels": ["compliance-team", "legal"],
}
T0 = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def batch() -> list[dict[str, object]]:
    return [event(1), ESCALATION, event(2)]


def both_channels() -> list[OutboxRequest]:
    return [OutboxRequest(1, "compliance-team"), OutboxRequest(1, "legal")]


@contextmanager
def raw(store: SQLiteRecordStore) -> Iterator[sqlite3.Connection]:
    """A second, ordinary connection to the same file: what another program could do."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def test_outbox_rows_are_written_with_their_records(store: AnyStore, log: AuditLog) -> None:
    log.append("session-0", POLICY, [event(0)])
    appended = log.append("session-0", POLICY, batch(), outbox=both_channels())
    messages = store.outbox_messages()
    assert [m.channel for m in messages] == ["compliance-team", "legal"]
    escalation = appended[1]
    record = next(store.records(escalation.seq, escalation.seq))
    for message in messages:
        assert message.id == message_id("session-0", escalation.session_seq, message.channel)
        assert message.record_seq == escalation.seq == 3
        assert message.event_type == "escalation.triggered"
        assert (message.attempts, message.last_error, message.delivered_at) == (0, None, None)
        assert message.created_at == message.next_attempt_at == record.recorded_at
        assert message.body == canonical_json(message.payload())
        assert message.payload() == {
            "type": "escalation.triggered",
            "timestamp": record.recorded_at,
            "data": {
                "session_id": "session-0",
                "policy": {"id": POLICY.id, "version": POLICY.version, "digest": POLICY.digest},
                "record": {"seq": 3, "session_seq": 2, "digest": escalation.digest},
                "event": ESCALATION,
            },
        }
    assert store.outbox_backlog() == {"compliance-team": 1, "legal": 1}


def test_a_failing_record_append_leaves_no_outbox_row(
    sqlite_store: SQLiteRecordStore, sqlite_log: AuditLog
) -> None:
    store, log = sqlite_store, sqlite_log
    log.append("session-0", POLICY, [event(0)])
    with raw(store) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_doomed BEFORE INSERT ON records "
            "WHEN NEW.session_id = 'doomed' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    with pytest.raises(AuditWriteError, match="disk on fire"):
        log.append("doomed", POLICY, batch(), outbox=both_channels())
    assert store.head() == 1
    assert store.outbox_messages() == []


def test_a_failing_outbox_insert_leaves_no_record(
    sqlite_store: SQLiteRecordStore, sqlite_log: AuditLog
) -> None:
    store, log = sqlite_store, sqlite_log
    with raw(store) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_legal BEFORE INSERT ON outbox "
            "WHEN NEW.channel = 'legal' BEGIN SELECT RAISE(ABORT, 'outbox full'); END"
        )
    with pytest.raises(AuditWriteError, match="outbox full"):
        log.append("session-0", POLICY, batch(), outbox=both_channels())
    assert store.head() == 0
    assert store.outbox_messages() == []
    appended = log.append("session-0", POLICY, batch(), outbox=[OutboxRequest(1, "ops")])
    assert [r.seq for r in appended] == [1, 2, 3]
    assert [(m.channel, m.record_seq) for m in store.outbox_messages()] == [("ops", 2)]


def test_bad_outbox_requests_write_nothing(store: AnyStore, log: AuditLog) -> None:
    with pytest.raises(AuditWriteError, match="event 3 of a batch of 3"):
        log.append("session-0", POLICY, batch(), outbox=[OutboxRequest(3, "ops")])
    with pytest.raises(AuditWriteError, match="empty channel"):
        log.append("session-0", POLICY, batch(), outbox=[OutboxRequest(1, "")])
    with pytest.raises(AuditWriteError, match="need records"):
        log.append("session-0", POLICY, [], outbox=[OutboxRequest(0, "ops")])
    assert store.head() == 0
    assert store.outbox_messages() == []


def test_a_repeated_request_is_one_message(store: AnyStore, log: AuditLog) -> None:
    log.append("session-0", POLICY, batch(), outbox=[OutboxRequest(1, "ops")] * 2)
    assert [m.channel for m in store.outbox_messages()] == ["ops"]


def test_message_ids_are_stable_and_distinct() -> None:
    first = message_id("session-0", 2, "ops")
    assert first == message_id("session-0", 2, "ops")
    assert first.startswith("msg_") and len(first) == 36
    others = {
        message_id("session-0", 3, "ops"),
        message_id("session-1", 2, "ops"),
        message_id("session-0", 2, "legal"),
    }
    assert first not in others and len(others) == 3


def test_only_delivery_columns_change_and_records_stay_append_only(
    sqlite_store: SQLiteRecordStore, sqlite_log: AuditLog
) -> None:
    store, log = sqlite_store, sqlite_log
    log.append("session-0", POLICY, batch(), outbox=[OutboxRequest(1, "ops")])
    (message,) = store.outbox_messages()
    with raw(store) as conn:
        for statement in (
            "UPDATE outbox SET payload = '{}'",
            "UPDATE outbox SET channel = 'elsewhere'",
            "UPDATE outbox SET record_seq = 1",
            "DELETE FROM outbox",
            "UPDATE outbox SET attempts = -1",
            "UPDATE records SET line = x'00'",
            "DELETE FROM records",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(statement)
        with pytest.raises(sqlite3.IntegrityError, match="announce a record"):
            conn.execute(
                "INSERT INTO outbox (id, channel, event_type, payload, record_seq, created_at, "
                "next_attempt_at) VALUES ('msg_x', 'ops', 't', '{}', 99, 'now', 'now')"
            )
    assert store.mark_delivered(message.id, T0)
    with raw(store) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="final"):
            conn.execute("UPDATE outbox SET delivered_at = NULL")
        conn.execute("DELETE FROM outbox")  # a delivered message may be pruned
    assert store.outbox_messages() == []
    assert store.head() == 3


def test_claims_lease_retry_and_deliver_once(store: AnyStore, log: AuditLog) -> None:
    log.append("s", POLICY, batch(), outbox=both_channels())
    log.append("s", POLICY, batch(), outbox=[OutboxRequest(1, "compliance-team")])
    minute = timedelta(minutes=1)
    assert store.claim_due(T0, lease=minute, limit=10, channels=["nowhere"]) == []
    first = store.claim_due(T0, lease=minute, limit=1, channels=["compliance-team"])
    assert [(m.record_seq, m.attempts) for m in first] == [(2, 1)]
    assert first[0].next_attempt_at == "2026-11-22T05:01:00.000000Z"
    rest = store.claim_due(T0, lease=minute, limit=10, channels=["compliance-team", "legal"])
    assert [(m.channel, m.record_seq) for m in rest] == [("legal", 2), ("compliance-team", 5)]
    assert store.claim_due(T0, lease=minute, limit=10, channels=["compliance-team"]) == []

    store.mark_failed(first[0].id, "HTTP 503 " + "x" * 1000, T0 + timedelta(seconds=2))
    failed = store.outbox_messages()[0]
    assert failed.last_error is not None and len(failed.last_error) == 500
    assert failed.last_error.startswith("HTTP 503")
    assert (
        store.claim_due(
            T0 + timedelta(seconds=1), lease=minute, limit=10, channels=["compliance-team"]
        )
        == []
    )
    again = store.claim_due(
        T0 + timedelta(seconds=2), lease=minute, limit=10, channels=["compliance-team"]
    )
    assert [(m.id, m.attempts) for m in again] == [(first[0].id, 2)]

    assert store.mark_delivered(first[0].id, T0 + timedelta(seconds=3))
    assert not store.mark_delivered(first[0].id, T0 + timedelta(seconds=4))
    store.mark_failed(first[0].id, "late failure report", T0)  # ignored: already delivered
    delivered = store.outbox_messages()[0]
    assert delivered.delivered_at == "2026-11-22T05:00:03.000000Z"
    assert delivered.last_error is None
    assert store.outbox_backlog() == {"compliance-team": 1, "legal": 1}
    later = store.claim_due(
        T0 + timedelta(days=1), lease=minute, limit=10, channels=["compliance-team"]
    )
    assert [m.record_seq for m in later] == [5], "a delivered message is never claimed again"


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "audit.db"
    with SQLiteRecordStore(path) as store:
        AuditLog(store, key, clock=StepClock()).append("s", POLICY, [event(0)])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE outbox")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with SQLiteRecordStore(path, read_only=True) as reader:
        assert reader.head() == 1, "a read-only open still reads a version 1 file"
    with SQLiteRecordStore(path) as store:
        assert store.outbox_messages() == []
        AuditLog(store, key, clock=StepClock()).append(
            "s", POLICY, batch(), outbox=[OutboxRequest(1, "ops")]
        )
        assert [m.record_seq for m in store.outbox_messages()] == [3]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()


def test_a_closed_store_refuses_outbox_work(record_store_factory: StoreFactory) -> None:
    store = record_store_factory()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.outbox_messages()
    with pytest.raises(StoreError, match="closed"):
        store.claim_due(T0, lease=timedelta(seconds=1), limit=1, channels=["ops"])
    with pytest.raises(StoreError, match="closed"):
        store.mark_delivered("msg_x", T0)
    with pytest.raises(StoreError, match="closed"):
        store.outbox_backlog()


def test_payload_json_round_trips_as_stored(
    sqlite_store: SQLiteRecordStore, sqlite_log: AuditLog
) -> None:
    store, log = sqlite_store, sqlite_log
    log.append("s", POLICY, batch(), outbox=[OutboxRequest(1, "ops")])
    with raw(store) as conn:
        (text,) = conn.execute("SELECT payload FROM outbox").fetchone()
    assert json.loads(text)["data"]["event"] == ESCALATION
    assert text.encode("utf-8") == store.outbox_messages()[0].body
