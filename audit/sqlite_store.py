"""SQLite record store: the embedded default, one file, no server.

WAL journal with ``synchronous=FULL`` makes each commit durable when it returns (the WAL is
fsynced at commit) while readers never block the writer. ``BEGIN IMMEDIATE`` takes the
write lock before the heads are read, so several processes appending to one file are
serialised and cannot hand out the same seq. Triggers make the table append-only and
gap-free inside SQLite itself, so no other program (or bug) using the file can edit,
delete or skip a record without first dropping the triggers.

The same file holds the webhook outbox (`audit.outbox`), so queuing a message and writing
the record it announces are one transaction. Only an outbox row's delivery columns
(attempts, next attempt, last error, delivered at) may change; triggers refuse editing what
a message says, un-delivering it, deleting it before delivery and announcing a record that
does not exist. Schema version 2 added the outbox, version 3 the checkpoints table (the
log's signed tree heads, append-only and never shrinking, enforced by triggers as well); an
older file is upgraded on open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from audit import content_sqlite
from audit.content_store import ContentRow, Erasure
from audit.errors import StoreError
from audit.outbox import OUTBOX_COLUMNS, OutboxMessage, message_from_row, short_error
from audit.store import SessionHead, StoredCheckpoint, StoredRecord
from audit.timefmt import format_timestamp

SCHEMA_VERSION: Final = 3
# version 1: records only; version 2: and the outbox; version 3: and checkpoints
_READABLE_VERSIONS: Final = frozenset({1, 2, SCHEMA_VERSION})
_PAGE: Final = 1024

_SCHEMA: Final = (
    """
    CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        session_id TEXT NOT NULL CHECK (length(session_id) >= 1),
        session_seq INTEGER NOT NULL CHECK (session_seq >= 0),
        digest TEXT NOT NULL CHECK (length(digest) = 64),
        line BLOB NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (session_id, session_seq)
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
    BEGIN
        SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
    BEGIN
        SELECT RAISE(ABORT, 'audit records are append-only: DELETE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS records_contiguous BEFORE INSERT ON records
    WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM records)
      OR NEW.session_seq IS NOT (
          SELECT coalesce(max(session_seq) + 1, 0) FROM records
          WHERE session_id = NEW.session_id)
    BEGIN
        SELECT RAISE(ABORT, 'audit records must be appended with contiguous seq and session_seq');
    END
    """,
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY CHECK (id GLOB 'msg_?*'),
        channel TEXT NOT NULL CHECK (length(channel) >= 1),
        event_type TEXT NOT NULL CHECK (length(event_type) >= 1),
        payload TEXT NOT NULL,
        record_seq INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        delivered_at TEXT
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL
    """,
    """
    CREATE TRIGGER IF NOT EXISTS outbox_announces_a_record BEFORE INSERT ON outbox
    WHEN NOT EXISTS (SELECT 1 FROM records WHERE seq = NEW.record_seq)
    BEGIN
        SELECT RAISE(ABORT, 'outbox messages must announce a record of the log');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS outbox_message_fixed
    BEFORE UPDATE OF id, channel, event_type, payload, record_seq, created_at ON outbox
    BEGIN
        SELECT RAISE(ABORT, 'outbox messages are fixed once queued: only delivery may change');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS outbox_delivery_final BEFORE UPDATE ON outbox
    WHEN OLD.delivered_at IS NOT NULL OR NEW.attempts < OLD.attempts
    BEGIN
        SELECT RAISE(ABORT, 'outbox delivery is final and attempts only grow');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS outbox_no_drop BEFORE DELETE ON outbox
    WHEN OLD.delivered_at IS NULL
    BEGIN
        SELECT RAISE(ABORT, 'undelivered outbox messages cannot be deleted');
    END
    """,
    """
    CREATE TABLE IF NOT EXISTS checkpoints (
        origin TEXT NOT NULL CHECK (length(origin) >= 1),
        size INTEGER NOT NULL CHECK (size >= 1),
        root BLOB NOT NULL CHECK (length(root) = 32),
        frontier BLOB NOT NULL CHECK (length(frontier) % 32 = 0),
        note TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        PRIMARY KEY (origin, size)
    )
    """,
    "CREATE INDEX IF NOT EXISTS checkpoints_by_size ON checkpoints (size)",
    """
    CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN
        SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN
        SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS checkpoints_grow BEFORE INSERT ON checkpoints
    WHEN NEW.size > (SELECT coalesce(max(seq), 0) FROM records)
      OR NEW.size < (SELECT coalesce(max(size), 0) FROM checkpoints)
      OR NEW.size <= (SELECT coalesce(max(size), 0) FROM checkpoints
                      WHERE origin = NEW.origin)
    BEGIN
        SELECT RAISE(ABORT, 'checkpoints must grow and cover only stored records');
    END
    """,
)

_COLUMNS: Final = "seq, session_id, session_seq, digest, line, recorded_at"
_CHECKPOINT_COLUMNS: Final = "origin, size, root, frontier, note, issued_at"


class SQLiteRecordStore:
    """A `RecordStore` in one SQLite file.

    One connection per instance, guarded by a lock so an instance may be shared between
    threads; open one instance per process. `busy_timeout` is how long a writer waits for
    another process's transaction before failing with `StoreError`. `read_only=True` opens
    an existing file without write access (for exports from a live log); appends then fail.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 5.0, read_only: bool = False) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        # mode=ro asks SQLite for a read-only handle, whatever the file permissions say.
        target = f"{self._path.resolve().as_uri()}?mode=ro" if read_only else str(self._path)
        try:
            conn = sqlite3.connect(
                target,
                uri=read_only,
                timeout=busy_timeout,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,  # guarded by self._lock instead
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open audit store {self._path}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            self._configure(conn, read_only=read_only)
        except sqlite3.Error as exc:
            conn.close()
            self._conn = None
            raise StoreError(f"cannot initialise audit store {self._path}: {exc}") from exc

    def _configure(self, conn: sqlite3.Connection, *, read_only: bool) -> None:
        conn.execute("PRAGMA synchronous = FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if read_only:
            if version not in _READABLE_VERSIONS:
                raise sqlite3.DatabaseError(
                    f"not an audit store of schema version {SCHEMA_VERSION} (found {version})"
                )
            return
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.DatabaseError(f"journal_mode WAL not available (got {mode!r})")
        if version == SCHEMA_VERSION:
            content_sqlite.ensure_tables(conn)  # sealed content came later; see content_store
            return  # already set up: opening must not wait for another process's write lock
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != 0 and version not in _READABLE_VERSIONS:
                raise sqlite3.DatabaseError(
                    f"schema version {version} is not {SCHEMA_VERSION}; newer Proctor?"
                )
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        content_sqlite.ensure_tables(conn)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"audit store {self._path} is closed")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteTransaction]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: serialised against every other writer."""
        with self._write() as conn:
            tx = _SQLiteTransaction(conn, self._path)
            try:
                yield tx
            finally:
                tx.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The connection inside ``BEGIN IMMEDIATE``; committed if the block succeeds."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a write on {self._path}: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"write to {self._path} failed: {exc}") from exc
                raise

    def claim_due(
        self,
        now: datetime,
        *,
        lease: timedelta,
        limit: int,
        channels: Collection[str],
    ) -> list[OutboxMessage]:
        """See `audit.outbox.OutboxStore.claim_due`."""
        wanted = sorted(set(channels))
        if not wanted or limit < 1:
            return []
        marks = ", ".join("?" for _ in wanted)
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? "
                    f"AND channel IN ({marks}) ORDER BY next_attempt_at, rowid LIMIT ?",
                    (format_timestamp(now), *wanted, limit),
                )
            ]
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
                [(format_timestamp(now + lease), message_id) for message_id in ids],
            )
            claimed = {
                row[0]: message_from_row(row, str(row[3]).encode("utf-8"))
                for row in conn.execute(
                    f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id IN "
                    f"({', '.join('?' for _ in ids)})",
                    ids,
                )
            }
        return [claimed[message_id] for message_id in ids]

    def mark_delivered(self, message_id: str, at: datetime) -> bool:
        """See `audit.outbox.OutboxStore.mark_delivered`."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET delivered_at = ?, last_error = NULL "
                "WHERE id = ? AND delivered_at IS NULL",
                (format_timestamp(at), message_id),
            )
        return cursor.rowcount == 1

    def mark_failed(self, message_id: str, error: str, retry_at: datetime) -> None:
        """See `audit.outbox.OutboxStore.mark_failed`."""
        with self._write() as conn:
            conn.execute(
                "UPDATE outbox SET last_error = ?, next_attempt_at = ? "
                "WHERE id = ? AND delivered_at IS NULL",
                (short_error(error), format_timestamp(retry_at), message_id),
            )

    def outbox_messages(self, *, undelivered_only: bool = False) -> list[OutboxMessage]:
        """See `audit.outbox.OutboxStore.outbox_messages`."""
        where = " WHERE delivered_at IS NULL" if undelivered_only else ""
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute(f"SELECT {OUTBOX_COLUMNS} FROM outbox{where} ORDER BY rowid")
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the outbox of {self._path}: {exc}") from exc
        return [message_from_row(row, str(row[3]).encode("utf-8")) for row in rows]

    def outbox_backlog(self) -> dict[str, int]:
        """See `audit.outbox.OutboxStore.outbox_backlog`."""
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute(
                        "SELECT channel, count(*) FROM outbox WHERE delivered_at IS NULL "
                        "GROUP BY channel ORDER BY channel"
                    )
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the outbox of {self._path}: {exc}") from exc
        return {str(row[0]): int(row[1]) for row in rows}

    def head(self) -> int:
        with self._lock:
            return _head(self._connection(), self._path)

    def session_head(self, session_id: str) -> SessionHead | None:
        with self._lock:
            return _session_head(self._connection(), self._path, session_id)

    def records(self, first_seq: int = 1, last_seq: int | None = None) -> Iterator[StoredRecord]:
        """Records by seq, fetched in pages so no read transaction stays open between them."""
        upper = last_seq if last_seq is not None else self.head()
        cursor_seq = max(first_seq, 1)
        while cursor_seq <= upper:
            with self._lock:
                try:
                    rows = (
                        self._connection()
                        .execute(
                            f"SELECT {_COLUMNS} FROM records WHERE seq BETWEEN ? AND ? "
                            "ORDER BY seq LIMIT ?",
                            (cursor_seq, upper, _PAGE),
                        )
                        .fetchall()
                    )
                except sqlite3.Error as exc:
                    raise StoreError(f"cannot read records of {self._path}: {exc}") from exc
            if not rows:
                return
            yield from map(StoredRecord.from_row, rows)
            cursor_seq = rows[-1][0] + 1

    def session_records(self, session_id: str, last_seq: int) -> list[StoredRecord]:
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute(
                        f"SELECT {_COLUMNS} FROM records WHERE session_id = ? AND seq <= ? "
                        "ORDER BY session_seq",
                        (session_id, last_seq),
                    )
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read records of {self._path}: {exc}") from exc
        return [StoredRecord.from_row(row) for row in rows]

    def checkpoints(self, origin: str) -> list[StoredCheckpoint]:
        with self._lock:
            conn = self._connection()
            if not _has_checkpoints(conn):
                return []  # a read-only file of an older schema: no checkpoints yet
            try:
                rows = conn.execute(
                    f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE origin = ? ORDER BY size",
                    (origin,),
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read checkpoints of {self._path}: {exc}") from exc
        return [_checkpoint(row) for row in rows]

    def content_rows(self, session_id: str) -> list[ContentRow]:
        """See `audit.content_store.ContentStore.content_rows`."""
        with self._lock:
            try:
                return content_sqlite.select_rows(self._connection(), session_id)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read sealed content of {self._path}: {exc}") from exc

    def erasures(self, session_id: str) -> list[Erasure]:
        """See `audit.content_store.ContentStore.erasures`."""
        with self._lock:
            try:
                return content_sqlite.select_erasures(self._connection(), session_id)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read erasures of {self._path}: {exc}") from exc

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        with self._lock:
            conn = self._connection()
            if not _has_checkpoints(conn):
                return None
            return _latest_checkpoint(conn, self._path, origin)

    def session_ids(self) -> list[str]:
        with self._lock:
            try:
                rows = (
                    self._connection()
                    .execute("SELECT DISTINCT session_id FROM records ORDER BY session_id")
                    .fetchall()
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot list sessions of {self._path}: {exc}") from exc
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SQLiteRecordStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _SQLiteTransaction:
    """The `StoreTransaction` handed out by `SQLiteRecordStore.transaction`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path

    def close(self) -> None:
        self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("transaction has ended")
        return self._conn

    def head(self) -> int:
        return _head(self._connection(), self._path)

    def session_head(self, session_id: str) -> SessionHead | None:
        return _session_head(self._connection(), self._path, session_id)

    def append(self, records: Sequence[StoredRecord]) -> None:
        conn = self._connection()
        try:
            conn.executemany(
                f"INSERT INTO records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (r.seq, r.session_id, r.session_seq, r.digest, r.line, r.recorded_at)
                    for r in records
                ],
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot append to {self._path}: {exc}") from exc

    def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        conn = self._connection()
        try:
            conn.executemany(
                f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        m.id,
                        m.channel,
                        m.event_type,
                        m.body.decode("utf-8"),
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
        except sqlite3.Error as exc:
            raise StoreError(f"cannot queue outbox messages in {self._path}: {exc}") from exc

    def put_content(self, rows: Sequence[ContentRow]) -> None:
        try:
            content_sqlite.insert_rows(self._connection(), rows)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot store sealed content in {self._path}: {exc}") from exc

    def erase_content(self, erasures: Sequence[Erasure]) -> None:
        try:
            content_sqlite.erase(self._connection(), erasures)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot erase sealed content in {self._path}: {exc}") from exc

    def record_lines(self, first_seq: int, last_seq: int) -> Iterator[bytes]:
        conn = self._connection()
        try:
            cursor = conn.execute(
                "SELECT line FROM records WHERE seq BETWEEN ? AND ? ORDER BY seq",
                (first_seq, last_seq),
            )
            for (line,) in cursor:
                yield bytes(line)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read records of {self._path}: {exc}") from exc

    def latest_checkpoint(self, origin: str | None = None) -> StoredCheckpoint | None:
        return _latest_checkpoint(self._connection(), self._path, origin)

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        c = checkpoint
        try:
            self._connection().execute(
                f"INSERT INTO checkpoints ({_CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (c.origin, c.size, c.root, c.frontier, c.note, c.issued_at),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot store a checkpoint in {self._path}: {exc}") from exc


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo an open transaction; a failing ROLLBACK must not hide the original error."""
    if conn.in_transaction:
        # If ROLLBACK fails, SQLite has already rolled back (e.g. after an I/O error).
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


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


def _latest_checkpoint(
    conn: sqlite3.Connection, path: Path, origin: str | None
) -> StoredCheckpoint | None:
    where, params = ("WHERE origin = ? ", (origin,)) if origin is not None else ("", ())
    try:
        row = conn.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints {where}"
            "ORDER BY size DESC, origin LIMIT 1",
            params,
        ).fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read checkpoints of {path}: {exc}") from exc
    return None if row is None else _checkpoint(row)


def _has_checkpoints(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'"
    ).fetchone()
    return row is not None


def _head(conn: sqlite3.Connection, path: Path) -> int:
    try:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read head of {path}: {exc}") from exc
    return int(row[0])


def _session_head(conn: sqlite3.Connection, path: Path, session_id: str) -> SessionHead | None:
    try:
        row = conn.execute(
            "SELECT session_seq, digest FROM records WHERE session_id = ? "
            "ORDER BY session_seq DESC LIMIT 1",
            (session_id,),
        ).fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read session head of {path}: {exc}") from exc
    return None if row is None else SessionHead(session_seq=int(row[0]), digest=str(row[1]))
