"""The sealed-content tables of the SQLite store (see `audit.content_store` for the rules).

Kept apart from `audit.sqlite_store` so the store only calls in: `ensure_tables` when it
opens a file, the row functions from its transactions and reads. Triggers enforce the rules
inside SQLite: content rows are fixed, belong to a record of the log, and can be deleted
only after an erasure naming them was recorded; erasures are append-only and name a record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from audit.content_store import ContentRow, Erasure

_TABLES: Final = (
    """
    CREATE TABLE IF NOT EXISTS content (
        commitment TEXT PRIMARY KEY
            CHECK (length(commitment) = 71 AND commitment GLOB 'sha256:*'),
        session_id TEXT NOT NULL,
        record_seq INTEGER NOT NULL,
        salt BLOB NOT NULL CHECK (length(salt) = 16),
        text TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS content_by_session ON content (session_id, record_seq)",
    """
    CREATE TABLE IF NOT EXISTS content_erased (
        commitment TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        erased_by INTEGER NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS content_erased_by_session ON content_erased (session_id)",
    """
    CREATE TRIGGER IF NOT EXISTS content_of_a_record BEFORE INSERT ON content
    WHEN NOT EXISTS (
        SELECT 1 FROM records WHERE seq = NEW.record_seq AND session_id = NEW.session_id)
    BEGIN
        SELECT RAISE(ABORT, 'sealed content must belong to a record of its session');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_not_erased BEFORE INSERT ON content
    WHEN EXISTS (SELECT 1 FROM content_erased WHERE commitment = NEW.commitment)
    BEGIN
        SELECT RAISE(ABORT, 'erased content cannot be stored again');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_fixed BEFORE UPDATE ON content
    BEGIN
        SELECT RAISE(ABORT, 'sealed content is fixed: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_deleted_by_erasure BEFORE DELETE ON content
    WHEN NOT EXISTS (SELECT 1 FROM content_erased WHERE commitment = OLD.commitment)
    BEGIN
        SELECT RAISE(ABORT, 'sealed content is deleted only by an erasure recorded in the log');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_erased_by_a_record BEFORE INSERT ON content_erased
    WHEN NOT EXISTS (
        SELECT 1 FROM records WHERE seq = NEW.erased_by AND session_id = NEW.session_id)
    BEGIN
        SELECT RAISE(ABORT, 'an erasure must name the record of its session announcing it');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_erased_no_update BEFORE UPDATE ON content_erased
    BEGIN
        SELECT RAISE(ABORT, 'content erasures are append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS content_erased_no_delete BEFORE DELETE ON content_erased
    BEGIN
        SELECT RAISE(ABORT, 'content erasures are append-only: DELETE refused');
    END
    """,
)


def has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('content', 'content_erased')"
    ).fetchone()
    return int(row[0]) == 2


def ensure_tables(conn: sqlite3.Connection) -> None:
    """Create the content tables if the file lacks them (under the write lock)."""
    if has_tables(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _TABLES:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def insert_rows(conn: sqlite3.Connection, rows: Sequence[ContentRow]) -> None:
    conn.executemany(
        "INSERT INTO content (commitment, session_id, record_seq, salt, text) "
        "VALUES (?, ?, ?, ?, ?)",
        [(r.commitment, r.session_id, r.record_seq, r.salt, r.text) for r in rows],
    )


def erase(conn: sqlite3.Connection, erasures: Sequence[Erasure]) -> None:
    conn.executemany(
        "INSERT INTO content_erased (commitment, session_id, erased_by) VALUES (?, ?, ?)",
        [(e.commitment, e.session_id, e.erased_by) for e in erasures],
    )
    deleted = sum(
        conn.execute(
            "DELETE FROM content WHERE commitment = ? AND session_id = ?",
            (e.commitment, e.session_id),
        ).rowcount
        for e in erasures
    )
    if deleted != len(erasures):
        raise sqlite3.IntegrityError("an erasure names content its session does not hold")


def select_rows(conn: sqlite3.Connection, session_id: str) -> list[ContentRow]:
    if not has_tables(conn):
        return []  # a read-only handle on a log written before sealed content
    return [
        ContentRow(str(row[0]), str(row[1]), int(row[2]), bytes(row[3]), str(row[4]))
        for row in conn.execute(
            "SELECT commitment, session_id, record_seq, salt, text FROM content "
            "WHERE session_id = ? ORDER BY record_seq, commitment",
            (session_id,),
        )
    ]


def select_erasures(conn: sqlite3.Connection, session_id: str) -> list[Erasure]:
    if not has_tables(conn):
        return []
    return [
        Erasure(str(row[0]), str(row[1]), int(row[2]))
        for row in conn.execute(
            "SELECT commitment, session_id, erased_by FROM content_erased "
            "WHERE session_id = ? ORDER BY erased_by, commitment",
            (session_id,),
        )
    ]
