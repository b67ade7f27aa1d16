"""PostgreSQL record store: one audit log shared by several API replicas.

The same contract as `audit.sqlite_store`, kept by the server rather than by one file:

- Writers are serialised across processes and machines by ``LOCK TABLE records IN EXCLUSIVE
  MODE`` at the start of every write transaction, before the heads are read, so two
  replicas can never hand out the same seq. EXCLUSIVE conflicts with every writer (and with
  itself) but not with plain SELECTs, so readers and exports never wait for a writer.
- Commits are durable when they return: the session runs with ``synchronous_commit`` on
  (raised to on if the server default turned it off), so COMMIT waits for the WAL flush.
- Triggers make ``records`` append-only and gap-free inside the database itself (UPDATE,
  DELETE and TRUNCATE refused; an INSERT must continue both seq and session_seq), so no
  other client, psql session or bug can edit, delete or skip a record without first
  dropping or disabling the triggers. Only the tables' owner can do that: run replicas as a
  role that does not own the schema for the strongest guarantee.
- The webhook outbox lives next to the records, so queuing a message and writing the
  record it announces are one transaction; triggers keep a message's content fixed,
  delivery final, attempts growing, undelivered messages undeletable (also by TRUNCATE),
  and refuse a message about a record that does not exist. ``claim_due`` takes rows with
  ``FOR UPDATE SKIP LOCKED`` so several dispatchers share one outbox without waiting on or
  double-claiming each other's messages.
- A connection the server drops fails the call in progress with `StoreError` and is
  replaced on the next call. If it drops during COMMIT the outcome is unknown to the client:
  the append is reported as failed (the session fails closed) although the records may have
  been written; the log stays gap-free and verifiable either way.

Times stay TEXT in the audit log's fixed RFC 3339 shape (`audit.timefmt`), and every text
column the store sorts or compares uses the "C" collation: byte order is the order SQLite
uses, so both stores return identical objects in identical order, and "due" remains a plain
string comparison that no locale can reorder.

The log's signed checkpoints (`audit.issuer`) sit in ``checkpoints``, append-only like the
records (UPDATE, DELETE, TRUNCATE refused) and never shrinking: an INSERT must cover only
stored records, must not be smaller than any checkpoint held, and must be larger than the
last one of its origin.

Tables are created on first open, under an advisory lock so that replicas starting together
do not race, in the first schema of the connection's ``search_path``.
The table ``audit_schema_version`` records the layout's version; version 1 (before
checkpoints) is upgraded in place, any other version is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final, TypeAlias

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from audit import content_postgres
from audit.content_store import ContentRow, Erasure
from audit.errors import StoreError
from audit.outbox import OUTBOX_COLUMNS, OutboxMessage, message_from_row, short_error
from audit.store import SessionHead, StoredCheckpoint, StoredRecord
from audit.timefmt import format_timestamp

SCHEMA_VERSION: Final = 2
_UPGRADABLE_VERSION: Final = 1  # records and outbox, no checkpoints
_PAGE: Final = 1024
_CONNECT_TIMEOUT: Final = 10  # seconds
# pg_advisory_lock key guarding schema creation: "procaudi" in ASCII, a fixed 64-bit number.
_SCHEMA_LOCK_KEY: Final = 0x70726F63_61756469

# The DDL runs once per schema, inside one transaction, with {s} the target schema. Trigger
# functions name their tables with the schema spelled out, so they check the right table
# whatever search_path the client that fires them uses.
_SCHEMA: Final = (
    """
    CREATE TABLE {s}.audit_schema_version (
        singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        version INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE {s}.records (
        seq BIGINT PRIMARY KEY CHECK (seq >= 1),
        session_id TEXT COLLATE "C" NOT NULL CHECK (length(session_id) >= 1),
        session_seq BIGINT NOT NULL CHECK (session_seq >= 0),
        digest TEXT COLLATE "C" NOT NULL CHECK (length(digest) = 64),
        line BYTEA NOT NULL,
        recorded_at TEXT COLLATE "C" NOT NULL,
        UNIQUE (session_id, session_seq)
    )
    """,
    """
    CREATE FUNCTION {s}.audit_records_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $proctor$
    """,
    """
    CREATE TRIGGER records_no_update_or_delete BEFORE UPDATE OR DELETE ON {s}.records
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_records_refuse_change()
    """,
    """
    CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON {s}.records
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_records_refuse_change()
    """,
    """
    CREATE FUNCTION {s}.audit_records_contiguous() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF NEW.seq IS DISTINCT FROM (SELECT coalesce(max(seq), 0) + 1 FROM {s}.records)
           OR NEW.session_seq IS DISTINCT FROM (
               SELECT coalesce(max(session_seq) + 1, 0) FROM {s}.records
               WHERE session_id = NEW.session_id)
        THEN
            RAISE EXCEPTION
                'audit records must be appended with contiguous seq and session_seq'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER records_contiguous BEFORE INSERT ON {s}.records
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_records_contiguous()
    """,
    """
    CREATE TABLE {s}.outbox (
        queued BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        id TEXT COLLATE "C" PRIMARY KEY CHECK (id LIKE 'msg\\__%'),
        channel TEXT COLLATE "C" NOT NULL CHECK (length(channel) >= 1),
        event_type TEXT COLLATE "C" NOT NULL CHECK (length(event_type) >= 1),
        payload BYTEA NOT NULL,
        record_seq BIGINT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at TEXT COLLATE "C" NOT NULL,
        last_error TEXT,
        delivered_at TEXT COLLATE "C"
    )
    """,
    """
    CREATE INDEX outbox_due ON {s}.outbox (next_attempt_at, queued)
    WHERE delivered_at IS NULL
    """,
    """
    CREATE FUNCTION {s}.audit_outbox_announces_a_record() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {s}.records WHERE seq = NEW.record_seq) THEN
            RAISE EXCEPTION 'outbox messages must announce a record of the log'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER outbox_announces_a_record BEFORE INSERT ON {s}.outbox
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_outbox_announces_a_record()
    """,
    """
    CREATE FUNCTION {s}.audit_outbox_only_delivery_changes() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF (NEW.queued, NEW.id, NEW.channel, NEW.event_type, NEW.payload, NEW.record_seq,
            NEW.created_at)
           IS DISTINCT FROM
           (OLD.queued, OLD.id, OLD.channel, OLD.event_type, OLD.payload, OLD.record_seq,
            OLD.created_at)
        THEN
            RAISE EXCEPTION 'outbox messages are fixed once queued: only delivery may change'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF OLD.delivered_at IS NOT NULL OR NEW.attempts < OLD.attempts THEN
            RAISE EXCEPTION 'outbox delivery is final and attempts only grow'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER outbox_only_delivery_changes BEFORE UPDATE ON {s}.outbox
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_outbox_only_delivery_changes()
    """,
    """
    CREATE FUNCTION {s}.audit_outbox_no_drop() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            IF EXISTS (SELECT 1 FROM {s}.outbox WHERE delivered_at IS NULL) THEN
                RAISE EXCEPTION 'undelivered outbox messages cannot be deleted'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END IF;
        IF OLD.delivered_at IS NULL THEN
            RAISE EXCEPTION 'undelivered outbox messages cannot be deleted'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER outbox_no_drop BEFORE DELETE ON {s}.outbox
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_outbox_no_drop()
    """,
    """
    CREATE TRIGGER outbox_no_truncate BEFORE TRUNCATE ON {s}.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_outbox_no_drop()
    """,
)

# Added by schema version 2; also run to upgrade a version 1 schema.
_CHECKPOINT_SCHEMA: Final = (
    """
    CREATE TABLE {s}.checkpoints (
        origin TEXT COLLATE "C" NOT NULL CHECK (length(origin) >= 1),
        size BIGINT NOT NULL CHECK (size >= 1),
        root BYTEA NOT NULL CHECK (length(root) = 32),
        frontier BYTEA NOT NULL CHECK (length(frontier) % 32 = 0),
        note TEXT NOT NULL,
        issued_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (origin, size)
    )
    """,
    "CREATE INDEX checkpoints_by_size ON {s}.checkpoints (size)",
    """
    CREATE FUNCTION {s}.audit_checkpoints_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        RAISE EXCEPTION 'checkpoints are append-only: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $proctor$
    """,
    """
    CREATE TRIGGER checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON {s}.checkpoints
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_checkpoints_refuse_change()
    """,
    """
    CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON {s}.checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_checkpoints_refuse_change()
    """,
    """
    CREATE FUNCTION {s}.audit_checkpoints_grow() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF NEW.size > (SELECT coalesce(max(seq), 0) FROM {s}.records)
           OR NEW.size < (SELECT coalesce(max(size), 0) FROM {s}.checkpoints)
           OR NEW.size <= (SELECT coalesce(max(size), 0) FROM {s}.checkpoints
                           WHERE origin = NEW.origin)
        THEN
            RAISE EXCEPTION 'checkpoints must grow and cover only stored records'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER checkpoints_grow BEFORE INSERT ON {s}.checkpoints
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_checkpoints_grow()
    """,
)

_COLUMNS: Final = "seq, session_id, session_seq, digest, line, recorded_at"
_CHECKPOINT_COLUMNS: Final = "origin, size, root, frontier, note, issued_at"

_Connection: TypeAlias = "psycopg.Connection[tuple[Any, ...]]"


def describe_url(url: str) -> str:
    """The store's name for messages: user, host, port and database, never the password.

    Raises `StoreError` if libpq cannot parse `url`, without libpq's message: it quotes the
    URL, password included.
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        raise StoreError(
            "cannot open a PostgreSQL audit store: its URL is not a valid libpq connection "
            "URL (details withheld: they would quote the URL, password included)"
        ) from None
    user = f"{params['user']}@" if params.get("user") else ""
    host = str(params.get("host") or "local socket")
    port = f":{params['port']}" if params.get("port") else ""
    return f"PostgreSQL audit store {user}{host}{port}/{params.get('dbname') or ''}"


class PostgresRecordStore:
    """A `RecordStore` (and `audit.outbox.OutboxStore`) in a PostgreSQL database.

    One connection per instance, guarded by a lock so an instance may be shared between
    threads (their writes are serialised anyway); open one instance per process.
    `lock_timeout` (seconds) is how long a writer waits for another writer's transaction
    before failing with `StoreError`. `read_only=True` opens an existing store in read-only
    transactions (for exports from a live log): the server itself refuses appends then.

    A connection the server dropped (restart, failover) fails the operation in progress
    with `StoreError` and is replaced on the next call, so a replica recovers without
    restarting; no operation is retried behind the caller's back.
    """

    def __init__(self, url: str, *, read_only: bool = False, lock_timeout: float = 5.0) -> None:
        self._url = url
        self._name = describe_url(url)
        self._read_only = read_only
        self._lock_timeout_ms = max(1, round(lock_timeout * 1000))
        self._lock = threading.RLock()
        self._closed = False
        self._conn: _Connection | None = None
        self._conn = self._connect()

    def _connect(self) -> _Connection:
        """A configured connection; the schema is checked (and created if absent) first."""
        try:
            # libpq waits forever for an unreachable server unless told otherwise; the
            # session must fail closed in bounded time, so a URL without a connect_timeout
            # gets one.
            if "connect_timeout" in conninfo_to_dict(self._url):
                conn = psycopg.connect(self._url, autocommit=True)
            else:
                conn = psycopg.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open {self._name}: {exc}") from exc
        try:
            self._configure(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"cannot initialise {self._name}: {exc}") from exc
            raise
        return conn

    def _configure(self, conn: _Connection) -> None:
        conn.execute(
            sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{self._lock_timeout_ms}ms"))
        )
        row = conn.execute("SELECT current_setting('synchronous_commit')").fetchone()
        if row is not None and row[0] == "off":
            # 'off' acknowledges a COMMIT before its WAL is flushed: a crash could lose
            # records the log already reported as written. Every other value waits.
            conn.execute("SET synchronous_commit = on")
        if self._read_only:
            conn.execute("SET default_transaction_read_only = on")
            version = _schema_version(conn)
            if version is None:
                raise StoreError(f"{self._name} is not an audit store (no audit tables)")
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self._name} has audit schema version {version}, not {SCHEMA_VERSION}; "
                    "newer Proctor?"
                )
            return
        if _schema_version(conn) == SCHEMA_VERSION:
            content_postgres.ensure_tables(conn)  # sealed content came later; see content_store
            return  # already set up: opening must not wait for other processes
        # Two replicas starting on an empty database: the second waits here, then finds the
        # tables the first committed instead of failing on "already exists". The lock is
        # taken before the transaction that checks, not inside it: a backend refreshes its
        # cached catalog lookups ("no such table") when a transaction starts, not when an
        # advisory lock is granted.
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
        try:
            with conn.transaction():
                version = _schema_version(conn)
                if version is None:
                    _create_schema(conn)
                elif version == _UPGRADABLE_VERSION:
                    _upgrade_schema(conn)
                elif version != SCHEMA_VERSION:
                    raise StoreError(
                        f"{self._name} has audit schema version {version}, "
                        f"not {SCHEMA_VERSION}; newer Proctor?"
                    )
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))
        content_postgres.ensure_tables(conn)

    @property
    def name(self) -> str:
        """What messages call this store: user, host, port, database (no password)."""
        return self._name

    @property
    def read_only(self) -> bool:
        return self._read_only

    def _connection(self) -> _Connection:
        """The open connection (reconnecting if the server dropped the last one)."""
        if self._closed:
            raise StoreError(f"{self._name} is closed")
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = None
            self._conn = conn = self._connect()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        """BEGIN; LOCK TABLE records ... COMMIT: serialised against every other writer."""
        with self._write(lock_records=True) as conn:
            tx = _PostgresTransaction(conn, self._name)
            try:
                yield tx
            finally:
                tx.close()

    @contextmanager
    def _write(self, *, lock_records: bool) -> Iterator[_Connection]:
        """The connection inside a transaction; committed if the block succeeds.

        `lock_records` takes the writers' lock first: needed before reading heads to append,
        not for outbox delivery updates, which row locks already keep apart.
        """
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    if lock_records:
                        conn.execute("LOCK TABLE records IN EXCLUSIVE MODE")
                    yield conn
            except psycopg.Error as exc:
                raise StoreError(f"write to {self._name} failed: {exc}") from exc

    def _fetch(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (its own snapshot; no transaction left open)."""
        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(query, params).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"cannot read {what} of {self._name}: {exc}") from exc

    def claim_due(
        self,
        now: datetime,
        *,
        lease: timedelta,
        limit: int,
        channels: Collection[str],
    ) -> list[OutboxMessage]:
        """See `audit.outbox.OutboxStore.claim_due`.

        ``FOR UPDATE SKIP LOCKED``: a message another dispatcher is claiming right now is
        skipped, not waited for, and once that claim commits the message is no longer due.
        """
        wanted = sorted(set(channels))
        if not wanted or limit < 1:
            return []
        with self._write(lock_records=False) as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= %s "
                    "AND channel = ANY(%s) ORDER BY next_attempt_at, queued LIMIT %s "
                    "FOR UPDATE SKIP LOCKED",
                    (format_timestamp(now), wanted, limit),
                )
            ]
            if not ids:
                return []
            claimed = {
                row[0]: message_from_row(row, bytes(row[3]))
                for row in conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = %s "
                    f"WHERE id = ANY(%s) RETURNING {OUTBOX_COLUMNS}",
                    (format_timestamp(now + lease), ids),
                )
            }
        return [claimed[message_id] for message_id in ids]

    def mark_delivered(self, message_id: str, at: datetime) -> bool:
        """See `audit.outbox.OutboxStore.mark_delivered`."""
        with self._write(lock_records=False) as conn:
            cursor = conn.execute(
                "UPDATE outbox SET delivered_at = %s, last_error = NULL "
                "WHERE id = %s AND delivered_at IS NULL",
                (format_timestamp(at), message_id),
            )
            return cursor.rowcount == 1

    def mark_failed(self, message_id: str, error: str, retry_at: datetime) -> None:
        """See `audit.outbox.OutboxStore.mark_failed`."""
        with self._write(lock_records=False) as conn:
            conn.execute(
                "UPDATE outbox SET last_error = %s, next_attempt_at = %s "
                "WHERE id = %s AND delivered_at IS NULL",
                (short_error(error), format_timestamp(retry_at), message_id),
            )

    def outbox_messages(self, *, undelivered_only: bool = False) -> list[OutboxMessage]:
        """See `audit.outbox.OutboxStore.outbox_messages`."""
        where = " WHERE delivered_at IS NULL" if undelivered_only else ""
        rows = self._fetch(
            "the outbox", f"SELECT {OUTBOX_COLUMNS} FROM outbox{where} ORDER BY queued"
        )
        return [message_from_row(row, bytes(row[3])) for row in rows]

    def outbox_backlog(self) -> dict[str, int]:
        """See `audit.outbox.OutboxStore.outbox_backlog`."""
        rows = self._fetch(
            "the outbox",
            "SELECT channel, count(*) FROM outbox WHERE delivered_at IS NULL "
            "GROUP BY channel ORDER BY channel",
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def head(self) -> int:
        with self._lock:
            return _head(self._connection(), self._name)

    def session_head(self, session_id: str) -> SessionHead | None:
        with self._lock:
            return _session_head(self._connection(), self._name, session_id)

    def records(self, first_seq: int = 1, last_seq: int | None = None) -> Iterator[StoredRecord]:
        """Records by seq, fetched in pages so no transaction stays open between them."""
        upper = last_seq if last_seq is not None else self.head()
        cursor_seq = max(first_seq, 1)
        while cursor_seq <= upper:
            rows = self._fetch(
                "records",
                f"SELECT {_COLUMNS} FROM records WHERE seq BETWEEN %s AND %s ORDER BY seq LIMIT %s",
                (cursor_seq, upper, _PAGE),
            )
            if not rows:
                return
            yield from map(StoredRecord.from_row, rows)
            cursor_seq = int(rows[-1][0]) + 1

    def session_records(self, session_id: str, last_seq: int) -> list[StoredRecord]:
        rows = self._fetch(
            "records",
            f"SELECT {_COLUMNS} FROM records WHERE session_id = %s AND seq <= %s "
            "ORDER BY session_seq",
            (session_id, last_seq),
        )
        return [StoredRecord.from_row(row) for row in rows]

    def checkpoints(self, origin: str) -> list[StoredCheckpoint]:
        rows = self._fetch(
            "checkpoints",
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE origin = %s ORDER BY size",
            (origin,),
        )
        return [_checkpoint(row) for row in rows]

    def content_rows(self, session_id: str) -> list[ContentRow]:
        """See `audit.content_store.ContentStore.content_rows`."""
        with self._lock:
            try:
                return content_postgres.select_rows(self._connection(), session_id)
            except psycopg.Error as exc:
                raise StoreError(f"cannot read sealed content of {self._name}: {exc}") from exc

    def erasures(self, session_id: str) -> list[Erasure]:
        """See `audit.content_store.ContentStore.erasures`."""
        with self._lock:
            try:
                return content_postgres.select_erasures(self._connection(), session_id)
            except psycopg.Error as exc:
                raise StoreError(f"cannot read erasures of {self._name}: {exc}") from exc

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        where, params = ("WHERE origin = %s ", (origin,)) if origin is not None else ("", ())
        rows = self._fetch(
            "checkpoints",
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints {where}"
            "ORDER BY size DESC, origin LIMIT 1",
            params,
        )
        return _checkpoint(rows[0]) if rows else None

    def session_ids(self) -> list[str]:
        rows = self._fetch(
            "sessions", "SELECT DISTINCT session_id FROM records ORDER BY session_id"
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> PostgresRecordStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _PostgresTransaction:
    """The `StoreTransaction` handed out by `PostgresRecordStore.transaction`."""

    def __init__(self, conn: _Connection, name: str) -> None:
        self._conn: _Connection | None = conn
        self._name = name

    def close(self) -> None:
        self._conn = None

    def _connection(self) -> _Connection:
        if self._conn is None:
            raise StoreError("transaction has ended")
        return self._conn

    def head(self) -> int:
        return _head(self._connection(), self._name)

    def session_head(self, session_id: str) -> SessionHead | None:
        return _session_head(self._connection(), self._name, session_id)

    def append(self, records: Sequence[StoredRecord]) -> None:
        conn = self._connection()
        try:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO records ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (r.seq, r.session_id, r.session_seq, r.digest, r.line, r.recorded_at)
                        for r in records
                    ],
                )
        except psycopg.Error as exc:
            raise StoreError(f"cannot append to {self._name}: {exc}") from exc

    def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        conn = self._connection()
        try:
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO outbox ({OUTBOX_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            m.id,
                            m.channel,
                            m.event_type,
                            m.body,
                            m.record_seq,
                            m.created_at,
                            m.attempts,
                            m.next_attempt_at,
                            m.last_error,
                            m.delivered_at,
                        )
                        for m in messages
                    ],
                )
        except psycopg.Error as exc:
            raise StoreError(f"cannot queue outbox messages in {self._name}: {exc}") from exc

    def put_content(self, rows: Sequence[ContentRow]) -> None:
        try:
            content_postgres.insert_rows(self._connection(), rows)
        except psycopg.Error as exc:
            raise StoreError(f"cannot store sealed content in {self._name}: {exc}") from exc

    def erase_content(self, erasures: Sequence[Erasure]) -> None:
        try:
            content_postgres.erase(self._connection(), erasures)
        except psycopg.Error as exc:
            raise StoreError(f"cannot erase sealed content in {self._name}: {exc}") from exc

    def record_lines(self, first_seq: int, last_seq: int) -> Iterator[bytes]:
        conn = self._connection()
        lower = first_seq
        while lower <= last_seq:  # in pages: a whole log must not land in memory at once
            try:
                rows = conn.execute(
                    "SELECT seq, line FROM records WHERE seq BETWEEN %s AND %s "
                    "ORDER BY seq LIMIT %s",
                    (lower, last_seq, _PAGE),
                ).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"cannot read records of {self._name}: {exc}") from exc
            if not rows:
                return
            for _, line in rows:
                yield bytes(line)
            lower = int(rows[-1][0]) + 1

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        where, params = ("WHERE origin = %s ", (origin,)) if origin is not None else ("", ())
        try:
            row = (
                self._connection()
                .execute(
                    f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints {where}"
                    "ORDER BY size DESC, origin LIMIT 1",
                    params,
                )
                .fetchone()
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot read checkpoints of {self._name}: {exc}") from exc
        return None if row is None else _checkpoint(row)

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        c = checkpoint
        try:
            self._connection().execute(
                f"INSERT INTO checkpoints ({_CHECKPOINT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                (c.origin, c.size, c.root, c.frontier, c.note, c.issued_at),
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot store a checkpoint in {self._name}: {exc}") from exc


def _schema_version(conn: _Connection) -> int | None:
    """The version in ``audit_schema_version`` (on the search_path), None if there is none."""
    row = conn.execute("SELECT to_regclass('audit_schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return None
    found = conn.execute("SELECT version FROM audit_schema_version").fetchone()
    return None if found is None else int(found[0])


def _create_schema(conn: _Connection) -> None:
    """Every table, trigger and function, in the first schema of the search_path.

    No IF NOT EXISTS: a ``records`` table that some other program left in the schema
    (without our version marker) makes this fail rather than get our triggers bolted on.
    """
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise StoreError("no schema of the search_path exists to create the audit tables in")
    schema = sql.Identifier(str(row[0]))
    for statement in (*_SCHEMA, *_CHECKPOINT_SCHEMA):
        conn.execute(sql.SQL(statement).format(s=schema))
    conn.execute(
        sql.SQL("INSERT INTO {s}.audit_schema_version (version) VALUES ({v})").format(
            s=schema, v=sql.Literal(SCHEMA_VERSION)
        )
    )


def _upgrade_schema(conn: _Connection) -> None:
    """Add what schema version 2 brought (checkpoints) to a version 1 schema."""
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise StoreError("no schema of the search_path exists to upgrade the audit tables in")
    schema = sql.Identifier(str(row[0]))
    for statement in _CHECKPOINT_SCHEMA:
        conn.execute(sql.SQL(statement).format(s=schema))
    conn.execute(
        sql.SQL("UPDATE {s}.audit_schema_version SET version = {v}").format(
            s=schema, v=sql.Literal(SCHEMA_VERSION)
        )
    )


def _checkpoint(row: tuple[Any, ...]) -> StoredCheckpoint:
    origin, size, root, frontier, note, issued_at = row
    return StoredCheckpoint(
        origin=str(origin),
        size=int(size),
        root=bytes(root),
        frontier=bytes(frontier),
        note=str(note),
        issued_at=str(issued_at),
    )


def _head(conn: _Connection, name: str) -> int:
    try:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()
    except psycopg.Error as exc:
        raise StoreError(f"cannot read head of {name}: {exc}") from exc
    return 0 if row is None else int(row[0])


def _session_head(conn: _Connection, name: str, session_id: str) -> SessionHead | None:
    try:
        row = conn.execute(
            "SELECT session_seq, digest FROM records WHERE session_id = %s "
            "ORDER BY session_seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
    except psycopg.Error as exc:
        raise StoreError(f"cannot read session head of {name}: {exc}") from exc
    return None if row is None else SessionHead(session_seq=int(row[0]), digest=str(row[1]))
