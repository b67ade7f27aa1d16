"""The PostgreSQL store's own mechanics: what the server itself refuses, the writers' lock,
schema creation and versions, durability settings, reconnects, several dispatchers.

The behaviour both stores share is tested on both in test_store.py, test_outbox.py,
test_log.py and test_bundle.py; every test here needs a server and skips without one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from audit import (
    AuditLog,
    AuditWriteError,
    OutboxRequest,
    PostgresRecordStore,
    SigningKey,
    SQLiteRecordStore,
    StoredRecord,
    StoreError,
)
from audit.postgres_store import SCHEMA_VERSION
from tests.audit.helpers import POLICY, StepClock, event

T0 = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
ESCALATION: dict[str, object] = {"type": "escalation.triggered", "severity": "critical"}
Z64 = "0" * 64


def row(seq: int, session: str = "s", session_seq: int | None = None) -> StoredRecord:
    return StoredRecord(
        seq=seq,
        session_id=session,
        session_seq=seq - 1 if session_seq is None else session_seq,
        digest=f"{seq:064x}",
        line=b'{"line":%d}' % seq,
        recorded_at="2026-11-22T04:50:09.123456Z",
    )


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresRecordStore]:
    with PostgresRecordStore(postgres_url) as opened:
        yield opened


@pytest.fixture
def pg_log(pg: PostgresRecordStore, key: SigningKey) -> AuditLog:
    return AuditLog(pg, key, clock=StepClock())


@contextmanager
def raw(url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A second, ordinary client of the same schema: what another program could do."""
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def lines(url: str) -> list[tuple[Any, ...]]:
    with raw(url) as conn:
        return conn.execute("SELECT seq, session_id, line FROM records ORDER BY seq").fetchall()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records SET line = '\\x00'::bytea WHERE seq = 1",
        "UPDATE records SET session_id = 'other'",
        "DELETE FROM records WHERE seq = 2",
        "DELETE FROM records",
        "TRUNCATE records",
        "TRUNCATE records, outbox",
        f"INSERT INTO records VALUES (1, 's', 0, '{Z64}', '\\x00', 't') "
        "ON CONFLICT (seq) DO UPDATE SET line = EXCLUDED.line",
        f"INSERT INTO records VALUES (4, 's', 3, '{Z64}', '\\x00', 't')",  # seq gap
        f"INSERT INTO records VALUES (3, 's', 5, '{Z64}', '\\x00', 't')",  # session gap
        f"INSERT INTO records VALUES (3, 'new', 1, '{Z64}', '\\x00', 't')",  # no start
        f"INSERT INTO records VALUES (3, 's', 1, '{Z64}', '\\x00', 't')",  # session seq reused
        f"INSERT INTO records VALUES (0, 'new', 0, '{Z64}', '\\x00', 't')",  # before the start
        f"INSERT INTO records VALUES (NULL, 'new', 0, '{Z64}', '\\x00', 't')",
    ],
)
def test_database_itself_refuses_changes(
    pg: PostgresRecordStore, postgres_url: str, statement: str
) -> None:
    with pg.transaction() as tx:
        tx.append([row(1), row(2)])
    with raw(postgres_url) as conn, pytest.raises(psycopg.errors.IntegrityError) as refused:
        conn.execute(statement)
    assert "append-only" in str(refused.value) or "contiguous" in str(refused.value)
    assert lines(postgres_url) == [(1, "s", b'{"line":1}'), (2, "s", b'{"line":2}')]


def test_triggers_let_a_contiguous_raw_insert_through(
    pg: PostgresRecordStore, postgres_url: str
) -> None:
    """The guards refuse gaps, not appends: another client may continue the log correctly
    (and the store then continues after it)."""
    with pg.transaction() as tx:
        tx.append([row(1)])
    with raw(postgres_url) as conn:
        conn.execute(f"INSERT INTO records VALUES (2, 'other', 0, '{Z64}', '\\x02', 't')")
    with pg.transaction() as tx:
        assert tx.head() == 2
        tx.append([row(3, "s", 1)])
    assert [(r.seq, r.session_id, r.session_seq) for r in pg.records()] == [
        (1, "s", 0),
        (2, "other", 0),
        (3, "s", 1),
    ]


def test_triggers_check_the_right_table_whatever_the_search_path(
    pg: PostgresRecordStore, postgres_url: str
) -> None:
    """A client whose search_path does not include the audit schema still hits the guards,
    which name their tables with the schema spelled out."""
    with pg.transaction() as tx:
        tx.append([row(1)])
    with raw(postgres_url) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        conn.execute("SET search_path = public")
        with pytest.raises(psycopg.errors.IntegrityError, match="contiguous"):
            conn.execute(
                f"INSERT INTO \"{schema[0]}\".records VALUES (5, 's', 4, '{Z64}', '\\x00', 't')"
            )
    assert pg.head() == 1


def test_outbox_only_delivery_changes(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    pg_log.append("s", POLICY, [event(0), ESCALATION], outbox=[OutboxRequest(1, "ops")])
    (message,) = pg.outbox_messages()
    with raw(postgres_url) as conn:
        for statement in (
            "UPDATE outbox SET payload = '\\x7b7d'::bytea",
            "UPDATE outbox SET channel = 'elsewhere'",
            "UPDATE outbox SET record_seq = 1",
            "UPDATE outbox SET created_at = 'yesterday'",
            "DELETE FROM outbox",
            "TRUNCATE outbox",
            "UPDATE outbox SET attempts = -1",
        ):
            with pytest.raises(psycopg.errors.IntegrityError):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.IntegrityError, match="announce a record"):
            conn.execute(
                "INSERT INTO outbox (id, channel, event_type, payload, record_seq, created_at, "
                "next_attempt_at) VALUES ('msg_x', 'ops', 't', '\\x7b7d', 99, 'now', 'now')"
            )
        conn.execute("UPDATE outbox SET last_error = 'probe', attempts = attempts + 1")
    assert pg.outbox_messages()[0].attempts == 1
    assert pg.mark_delivered(message.id, T0)
    with raw(postgres_url) as conn:
        with pytest.raises(psycopg.errors.IntegrityError, match="final"):
            conn.execute("UPDATE outbox SET delivered_at = NULL")
        with pytest.raises(psycopg.errors.IntegrityError, match="final"):
            conn.execute("UPDATE outbox SET attempts = attempts + 1")
        conn.execute("DELETE FROM outbox")  # a delivered message may be pruned
    assert pg.outbox_messages() == []
    assert pg.head() == 2


def test_truncating_a_delivered_outbox_is_allowed(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    pg_log.append("s", POLICY, [ESCALATION], outbox=[OutboxRequest(0, "ops")])
    assert pg.mark_delivered(pg.outbox_messages()[0].id, T0)
    with raw(postgres_url) as conn:
        conn.execute("TRUNCATE outbox")
    assert pg.outbox_messages() == []


def test_a_failing_record_append_leaves_no_outbox_row(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    pg_log.append("session-0", POLICY, [event(0)])
    with raw(postgres_url) as conn:
        conn.execute(
            "CREATE FUNCTION doomed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.session_id = 'doomed' THEN RAISE EXCEPTION 'disk on fire'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_doomed BEFORE INSERT ON records "
            "FOR EACH ROW EXECUTE FUNCTION doomed()"
        )
    requests = [OutboxRequest(1, "ops")]
    with pytest.raises(AuditWriteError, match="disk on fire"):
        pg_log.append("doomed", POLICY, [event(1), ESCALATION], outbox=requests)
    assert pg.head() == 1
    assert pg.outbox_messages() == []


def test_a_failing_outbox_insert_leaves_no_record(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    with raw(postgres_url) as conn:
        conn.execute(
            "CREATE FUNCTION full_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.channel = 'legal' THEN RAISE EXCEPTION 'outbox full'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_legal BEFORE INSERT ON outbox "
            "FOR EACH ROW EXECUTE FUNCTION full_outbox()"
        )
    requests = [OutboxRequest(1, "compliance-team"), OutboxRequest(1, "legal")]
    with pytest.raises(AuditWriteError, match="outbox full"):
        pg_log.append("session-0", POLICY, [event(1), ESCALATION], outbox=requests)
    assert pg.head() == 0
    assert pg.outbox_messages() == []


def test_payload_is_stored_as_the_exact_bytes(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    pg_log.append("s", POLICY, [ESCALATION], outbox=[OutboxRequest(0, "ops")])
    with raw(postgres_url) as conn:
        stored = conn.execute("SELECT payload FROM outbox").fetchone()
    assert stored is not None
    assert stored[0] == pg.outbox_messages()[0].body


def test_writer_waits_for_the_lock_then_fails_closed(
    pg: PostgresRecordStore, postgres_url: str, key: SigningKey
) -> None:
    with raw(postgres_url) as blocker:
        with blocker.transaction():
            blocker.execute("LOCK TABLE records IN EXCLUSIVE MODE")
            with PostgresRecordStore(postgres_url, lock_timeout=0.05) as store:
                with pytest.raises(StoreError, match="lock timeout"), store.transaction():
                    pass
                with pytest.raises(AuditWriteError, match="lock timeout"):
                    AuditLog(store, key).append("a", POLICY, [event(1)])
                assert store.head() == 0  # readers are not blocked by the writer
                assert list(store.records()) == []
        with PostgresRecordStore(postgres_url, lock_timeout=0.05) as store:
            AuditLog(store, key).append("a", POLICY, [event(1)])  # lock released: works
            assert store.head() == 1


def test_a_second_writer_waits_for_the_first_and_continues_its_numbering(
    postgres_url: str,
) -> None:
    """The lock is taken before the heads are read: the waiting writer sees the first
    writer's records, so it numbers after them instead of failing on a duplicate seq."""
    first, second = PostgresRecordStore(postgres_url), PostgresRecordStore(postgres_url)
    entered, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def later_writer() -> None:
        entered.wait()
        with second.transaction() as tx:
            seen.append(tx.head())
            tx.append([row(tx.head() + 1)])
        done.set()

    thread = threading.Thread(target=later_writer)
    thread.start()
    try:
        with first.transaction() as tx:
            tx.append([row(1)])
            entered.set()
            assert not done.wait(0.3), "the second writer did not wait for the first"
    finally:
        thread.join(timeout=10)
        first.close()
        second.close()
    assert seen == [1]
    assert [r.seq for r in PostgresRecordStore(postgres_url).records()] == [1, 2]


def test_read_only_store_refuses_every_write(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    pg_log.append("s", POLICY, [ESCALATION], outbox=[OutboxRequest(0, "ops")])
    (message,) = pg.outbox_messages()
    with PostgresRecordStore(postgres_url, read_only=True) as reader:
        assert reader.read_only
        assert [r.seq for r in reader.records()] == [1]
        assert reader.outbox_backlog() == {"ops": 1}
        with pytest.raises(StoreError, match="read-only"), reader.transaction() as tx:
            tx.append([row(2, "s", 1)])
        with pytest.raises(StoreError, match="read-only"):
            reader.claim_due(T0, lease=timedelta(minutes=1), limit=5, channels=["ops"])
        with pytest.raises(StoreError, match="read-only"):
            reader.mark_delivered(message.id, T0)
    assert pg.head() == 1
    assert pg.outbox_messages() == [message]


def test_read_only_open_of_an_empty_schema_fails(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="not an audit store"):
        PostgresRecordStore(postgres_url, read_only=True)
    with raw(postgres_url) as conn:
        found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
        assert found.fetchone() == (0,), "a read-only open must not create tables"


def test_other_schema_version_is_refused(postgres_url: str) -> None:
    PostgresRecordStore(postgres_url).close()
    with raw(postgres_url) as conn:
        assert conn.execute("SELECT version FROM audit_schema_version").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        conn.execute("UPDATE audit_schema_version SET version = 99")
    with pytest.raises(StoreError, match=rf"schema version 99, not {SCHEMA_VERSION}"):
        PostgresRecordStore(postgres_url)
    with pytest.raises(StoreError, match=rf"schema version 99, not {SCHEMA_VERSION}"):
        PostgresRecordStore(postgres_url, read_only=True)


def test_a_foreign_records_table_is_not_taken_over(postgres_url: str) -> None:
    with raw(postgres_url) as conn:
        conn.execute("CREATE TABLE records (x integer)")
    with pytest.raises(StoreError, match="already exists"):
        PostgresRecordStore(postgres_url)


def test_replicas_opening_an_empty_schema_at_once_all_succeed(postgres_url: str) -> None:
    """Without the advisory lock the losers of the race fail on "already exists"."""
    openers = 6
    start = threading.Barrier(openers)
    results: list[object] = []

    def open_one() -> None:
        start.wait()
        try:
            with PostgresRecordStore(postgres_url) as store:
                results.append(store.head())
        except Exception as exc:  # collected, asserted below
            results.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [0] * openers


def test_commits_wait_for_the_wal_even_if_the_server_default_does_not(
    postgres_url: str,
) -> None:
    url = postgres_url.replace("options=", "options=-csynchronous_commit%3Doff%20", 1)
    with raw(url) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    with PostgresRecordStore(url) as store:
        assert store._connection().execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_errors_name_the_store_but_never_the_password() -> None:
    url = "postgresql://proctor:s3cr3t-pw@127.0.0.1:1/auditdb?connect_timeout=2"
    with pytest.raises(StoreError) as refused:
        PostgresRecordStore(url)
    message = str(refused.value)
    assert "proctor@127.0.0.1:1/auditdb" in message
    assert "s3cr3t-pw" not in message
    for unparseable in ("postgresql://proctor:s3cr3t-pw@[::1/db", "postgresql://p:s3cr3t-pw@h:x/"):
        with pytest.raises(StoreError, match="PostgreSQL audit store") as refused:
            PostgresRecordStore(unparseable)
        assert "s3cr3t-pw" not in str(refused.value)


def test_a_dropped_connection_fails_one_call_then_reconnects(
    pg: PostgresRecordStore, postgres_url: str
) -> None:
    with pg.transaction() as tx:
        tx.append([row(1)])
    pid = pg._connection().info.backend_pid
    with raw(postgres_url) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreError, match="PostgreSQL audit store"):
        pg.head()
    assert pg.head() == 1
    assert pg._connection().info.backend_pid != pid
    with pg.transaction() as tx:
        tx.append([row(2)])
    assert pg.head() == 2


def test_claim_skips_messages_another_dispatcher_holds(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    for n in range(3):
        pg_log.append(f"s{n}", POLICY, [ESCALATION], outbox=[OutboxRequest(0, "ops")])
    first, *rest = pg.outbox_messages()
    lease = timedelta(minutes=1)
    with raw(postgres_url) as other, other.transaction():
        other.execute("SELECT id FROM outbox WHERE id = %s FOR UPDATE", (first.id,))
        with PostgresRecordStore(postgres_url, lock_timeout=0.2) as dispatcher:
            claimed = dispatcher.claim_due(T0, lease=lease, limit=10, channels=["ops"])
    assert [m.id for m in claimed] == [m.id for m in rest]
    assert [m.id for m in pg.claim_due(T0, lease=lease, limit=10, channels=["ops"])] == [first.id]


def test_dispatchers_in_parallel_claim_each_message_once(
    pg: PostgresRecordStore, pg_log: AuditLog, postgres_url: str
) -> None:
    for n in range(60):
        pg_log.append(f"s{n % 7}", POLICY, [ESCALATION], outbox=[OutboxRequest(0, "ops")])
    dispatchers = 4
    start = threading.Barrier(dispatchers)
    claims: list[list[str]] = [[] for _ in range(dispatchers)]

    def dispatch(mine: list[str]) -> None:
        with PostgresRecordStore(postgres_url) as store:
            start.wait()
            while batch := store.claim_due(T0, lease=timedelta(hours=1), limit=2, channels=["ops"]):
                mine.extend(m.id for m in batch)

    threads = [threading.Thread(target=dispatch, args=(mine,)) for mine in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [message_id for mine in claims for message_id in mine]
    assert sorted(everything) == sorted(m.id for m in pg.outbox_messages())
    assert len(set(everything)) == 60
    assert all(m.attempts == 1 for m in pg.outbox_messages())


def test_both_stores_return_identical_objects(
    pg: PostgresRecordStore, tmp_path: Path, key: SigningKey
) -> None:
    """The same appends give the same records, heads, sessions (in the same order) and
    outbox messages from either backend: a log can move between them unchanged."""
    sessions = ["b", "B", "a", "Z", "é", "_x", "a b", "ä"]
    with SQLiteRecordStore(tmp_path / "audit.db") as lite:
        stores = (lite, pg)
        logs = [AuditLog(store, key, clock=StepClock()) for store in stores]
        for n, session in enumerate(sessions * 2):
            for log in logs:
                log.append(
                    session, POLICY, [event(n), ESCALATION], outbox=[OutboxRequest(1, "ops")]
                )
        for store in stores:
            claimed = store.claim_due(T0, lease=timedelta(minutes=1), limit=3, channels=["ops"])
            store.mark_delivered(claimed[0].id, T0)
            store.mark_failed(claimed[1].id, "HTTP 503", T0 + timedelta(seconds=5))
        assert list(lite.records()) == list(pg.records())
        assert lite.session_ids() == pg.session_ids() == sorted(sessions)
        assert lite.head() == pg.head() == 32
        assert lite.session_head("é") == pg.session_head("é")
        assert lite.session_head("missing") is pg.session_head("missing") is None
        assert lite.outbox_messages() == pg.outbox_messages()
        assert lite.outbox_messages(undelivered_only=True) == pg.outbox_messages(
            undelivered_only=True
        )
        assert lite.outbox_backlog() == pg.outbox_backlog() == {"ops": 15}
