"""The sealed-content tables of the PostgreSQL store (see `audit.content_store` for the rules).

Kept apart from `audit.postgres_store` so the store only calls in. The same triggers as on
SQLite, enforced by the server for every client: content rows are fixed, belong to a record
of their session, and can be deleted only after an erasure naming them was recorded (also
not by TRUNCATE); erasures are append-only and name a record of their session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import psycopg
from psycopg import sql

from audit.content_store import ContentRow, Erasure

_Connection: TypeAlias = "psycopg.Connection[tuple[Any, ...]]"

# pg_advisory_lock key guarding creation of these tables: "proccont" in ASCII.
_LOCK_KEY: Final = 0x70726F63_636F6E74

_TABLES: Final = (
    """
    CREATE TABLE {s}.content (
        commitment TEXT COLLATE "C" PRIMARY KEY
            CHECK (length(commitment) = 71 AND commitment LIKE 'sha256:%'),
        session_id TEXT COLLATE "C" NOT NULL,
        record_seq BIGINT NOT NULL,
        salt BYTEA NOT NULL CHECK (length(salt) = 16),
        text TEXT NOT NULL
    )
    """,
    "CREATE INDEX content_by_session ON {s}.content (session_id, record_seq)",
    """
    CREATE TABLE {s}.content_erased (
        commitment TEXT COLLATE "C" PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL,
        erased_by BIGINT NOT NULL
    )
    """,
    "CREATE INDEX content_erased_by_session ON {s}.content_erased (session_id)",
    """
    CREATE OR REPLACE FUNCTION {s}.audit_content_insert() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {s}.records
                       WHERE seq = NEW.record_seq AND session_id = NEW.session_id) THEN
            RAISE EXCEPTION 'sealed content must belong to a record of its session'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM {s}.content_erased WHERE commitment = NEW.commitment) THEN
            RAISE EXCEPTION 'erased content cannot be stored again'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER content_insert BEFORE INSERT ON {s}.content
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_content_insert()
    """,
    """
    CREATE OR REPLACE FUNCTION {s}.audit_content_change() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            RAISE EXCEPTION 'sealed content is deleted only by an erasure recorded in the log'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' AND EXISTS (
            SELECT 1 FROM {s}.content_erased WHERE commitment = OLD.commitment) THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'sealed content is fixed: UPDATE refused'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RAISE EXCEPTION 'sealed content is deleted only by an erasure recorded in the log'
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $proctor$
    """,
    """
    CREATE TRIGGER content_change BEFORE UPDATE OR DELETE ON {s}.content
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_content_change()
    """,
    """
    CREATE TRIGGER content_no_truncate BEFORE TRUNCATE ON {s}.content
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_content_change()
    """,
    """
    CREATE OR REPLACE FUNCTION {s}.audit_content_erased_insert() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {s}.records
                       WHERE seq = NEW.erased_by AND session_id = NEW.session_id) THEN
            RAISE EXCEPTION 'an erasure must name the record of its session announcing it'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $proctor$
    """,
    """
    CREATE TRIGGER content_erased_insert BEFORE INSERT ON {s}.content_erased
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_content_erased_insert()
    """,
    """
    CREATE OR REPLACE FUNCTION {s}.audit_content_erased_refuse() RETURNS trigger
    LANGUAGE plpgsql AS $proctor$
    BEGIN
        RAISE EXCEPTION 'content erasures are append-only: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $proctor$
    """,
    """
    CREATE TRIGGER content_erased_no_change BEFORE UPDATE OR DELETE ON {s}.content_erased
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_content_erased_refuse()
    """,
    """
    CREATE TRIGGER content_erased_no_truncate BEFORE TRUNCATE ON {s}.content_erased
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.audit_content_erased_refuse()
    """,
)


def has_tables(conn: _Connection) -> bool:
    """Whether the store's schema (the first of the search_path) has both tables; a table
    of the same name further down the search_path must not count."""
    row = conn.execute(
        "SELECT to_regclass(format('%I.content', current_schema())) IS NOT NULL "
        "AND to_regclass(format('%I.content_erased', current_schema())) IS NOT NULL"
    ).fetchone()
    return row is not None and bool(row[0])


def ensure_tables(conn: _Connection) -> None:
    """Create the content tables in the first schema of the search_path if they are absent.

    Under an advisory lock, taken before the transaction that checks (as for the store's own
    tables), so replicas opening an older store together create them once.
    """
    if has_tables(conn):
        return
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        with conn.transaction():
            if has_tables(conn):
                return
            row = conn.execute("SELECT current_schema()").fetchone()
            if row is None or row[0] is None:
                raise psycopg.ProgrammingError("no schema of the search_path exists")
            schema = sql.Identifier(str(row[0]))
            for statement in _TABLES:
                conn.execute(sql.SQL(statement).format(s=schema))
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def insert_rows(conn: _Connection, rows: Sequence[ContentRow]) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO content (commitment, session_id, record_seq, salt, text) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(r.commitment, r.session_id, r.record_seq, r.salt, r.text) for r in rows],
        )


def erase(conn: _Connection, erasures: Sequence[Erasure]) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO content_erased (commitment, session_id, erased_by) VALUES (%s, %s, %s)",
            [(e.commitment, e.session_id, e.erased_by) for e in erasures],
        )
        deleted = 0
        for erasure in erasures:
            cursor.execute(
                "DELETE FROM content WHERE commitment = %s AND session_id = %s",
                (erasure.commitment, erasure.session_id),
            )
            deleted += cursor.rowcount
    if deleted != len(erasures):
        raise psycopg.IntegrityError("an erasure names content its session does not hold")


def select_rows(conn: _Connection, session_id: str) -> list[ContentRow]:
    if not has_tables(conn):
        return []  # a read-only handle on a log written before sealed content
    return [
        ContentRow(str(row[0]), str(row[1]), int(row[2]), bytes(row[3]), str(row[4]))
        for row in conn.execute(
            "SELECT commitment, session_id, record_seq, salt, text FROM content "
            "WHERE session_id = %s ORDER BY record_seq, commitment",
            (session_id,),
        )
    ]


def select_erasures(conn: _Connection, session_id: str) -> list[Erasure]:
    if not has_tables(conn):
        return []
    return [
        Erasure(str(row[0]), str(row[1]), int(row[2]))
        for row in conn.execute(
            "SELECT commitment, session_id, erased_by FROM content_erased "
            "WHERE session_id = %s ORDER BY erased_by, commitment",
            (session_id,),
        )
    ]
