"""The service database (API keys, policy registry) on SQLite or PostgreSQL, behind one interface.

A single-machine deployment keeps everything in a SQLite file under the Proctor home; a
deployment with several service processes points them at one PostgreSQL database instead, so
they share keys and published policies. The stores above this module write plain SQL that both
dialects accept (`ON CONFLICT ... DO UPDATE`, `?` placeholders) and so stay one class each; what
really differs is kept here:

* how a location opens: a `postgresql://` or `postgres://` URL is PostgreSQL, anything else a
  SQLite path;
* placeholder style: stores write `?`, which is rewritten to psycopg's `%s`;
* schema creation: each store hands over its DDL per dialect, and PostgreSQL runs it in one
  transaction holding an advisory lock, because `CREATE ... IF NOT EXISTS` is not safe against a
  second process doing the same at the same moment (it can fail on the catalogue's unique index);
* errors: driver exceptions become `IntegrityViolation` (a constraint or trigger refused the
  write), `InvalidValue` (a value the database cannot hold, such as NUL in PostgreSQL text or an
  integer out of range) or `ServiceDatabaseError` (anything else, e.g. the server is down), with
  a one-line message, so callers map them onto their own exceptions and no driver traceback
  reaches an HTTP client.

No ORM: two tables and a handful of statements do not need one, and the PostgreSQL triggers that
keep published policies immutable are written by hand either way.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

Dialect = Literal["sqlite", "postgres"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")

# One fixed key for every Proctor schema change, so that concurrent opens of the service
# database (two processes starting together) run their DDL one after the other.
_SCHEMA_LOCK_KEY = 0x50524F43544F52  # "PROCTOR"


class ServiceDatabaseError(Exception):
    """The service database failed; the message is one line, without driver internals."""


class IntegrityViolation(ServiceDatabaseError):
    """A constraint or trigger refused the write (a duplicate key, a published row...)."""


class InvalidValue(ServiceDatabaseError):
    """A value the database cannot store or compare (NUL in text, an integer out of range)."""


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(_POSTGRES_SCHEMES)


@dataclass(frozen=True)
class Result:
    """What a statement returned, fetched while the connection was held."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def one(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


def _postgres_placeholders(sql: str) -> str:
    """`?` placeholders as psycopg's `%s`; a literal `%` is doubled so psycopg keeps it."""
    return sql.replace("%", "%%").replace("?", "%s")


def _one_line(error: BaseException) -> str:
    if isinstance(error, psycopg.Error) and error.diag.message_primary:
        return error.diag.message_primary
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _use_write_ahead_log(connection: sqlite3.Connection, attempts: int = 50) -> None:
    """WAL, so readers never wait for a writer. Switching needs the file to itself, and SQLite
    answers "database is locked" at once rather than waiting when another connection is opening
    it at the same moment (two services starting together), so the switch is retried."""
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


class ServiceDatabase:
    """One connection to the service database, shared by threads under a lock.

    The lock is re-entrant and public (`lock`) so that a store can hold it across a read and the
    write that depends on it; `execute` takes it too. Statements run in autocommit mode, each its
    own transaction, as the stores did on SQLite before; `transaction()` groups several.
    """

    def __init__(self, location: str | Path) -> None:
        self._location = location
        self.lock = threading.RLock()
        self._closed = False
        self._postgres: psycopg.Connection[tuple[Any, ...]] | None = None
        self._sqlite: sqlite3.Connection | None = None
        if is_postgres_url(location):
            self.dialect: Dialect = "postgres"
            self._postgres = self._connect_postgres()
        else:
            self.dialect = "sqlite"
            with self._translated_errors():
                self._sqlite = sqlite3.connect(
                    location, check_same_thread=False, isolation_level=None
                )
                _use_write_ahead_log(self._sqlite)

    @classmethod
    def open(cls, location: str | Path) -> ServiceDatabase:
        return cls(location)

    def create_schema(self, ddl: Mapping[Dialect, Sequence[str]]) -> None:
        """Run this dialect's DDL (idempotent statements) atomically, one opener at a time."""
        statements = ddl[self.dialect]
        with self.lock, self.transaction():
            if self.dialect == "postgres":
                self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK_KEY,))
            for statement in statements:
                self.execute(statement)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement with `?` placeholders; rows are fetched before the lock is let go."""
        with self.lock, self._translated_errors():
            if self.dialect == "postgres":
                connection = self._postgres_connection()
                if params:
                    cursor = connection.execute(_postgres_placeholders(sql), tuple(params))
                else:
                    cursor = connection.execute(sql)
                rows = cursor.fetchall() if cursor.description is not None else []
                return Result(rows, cursor.rowcount)
            if self._sqlite is None or self._closed:
                raise ServiceDatabaseError("the service database is closed")
            sqlite_cursor = self._sqlite.execute(sql, tuple(params))
            return Result(sqlite_cursor.fetchall(), sqlite_cursor.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside commit together or not at all; the lock is held throughout."""
        if self.dialect == "postgres":
            with self.lock, self._translated_errors(), self._postgres_connection().transaction():
                yield
            return
        with self.lock:
            self.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.execute("ROLLBACK")
                raise
            self.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self._closed = True
            if self._postgres is not None:
                self._postgres.close()
            if self._sqlite is not None:
                self._sqlite.close()

    def _connect_postgres(self) -> psycopg.Connection[tuple[Any, ...]]:
        with self._translated_errors():
            return psycopg.connect(str(self._location), autocommit=True)

    def _postgres_connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        """The connection, opened again if the server dropped it (a restart, a failover)."""
        if self._closed:
            raise ServiceDatabaseError("the service database is closed")
        if self._postgres is None or self._postgres.closed or self._postgres.broken:
            self._postgres = self._connect_postgres()
        return self._postgres

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except ServiceDatabaseError:
            raise
        except (sqlite3.IntegrityError, psycopg.errors.IntegrityError) as error:
            raise IntegrityViolation(_one_line(error)) from error
        except (psycopg.errors.DataError, OverflowError) as error:
            raise InvalidValue(_one_line(error)) from error
        except psycopg.OperationalError as error:
            raise ServiceDatabaseError(
                f"the service database is unavailable: {_one_line(error)}"
            ) from error
        except (sqlite3.Error, psycopg.Error) as error:
            raise ServiceDatabaseError(f"service database error: {_one_line(error)}") from error
