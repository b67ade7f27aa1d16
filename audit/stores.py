"""Open the record store a location names: a file path or URL for SQLite, a URL for PostgreSQL.

Configuration names the audit store with one string, so one machine can use its embedded
file and a set of replicas a shared server without any other change. The scheme decides:

- a plain path (``audit.db``, ``/var/lib/proctor/audit.db``) or ``sqlite:`` URL opens a
  `SQLiteRecordStore`; ``sqlite:///var/lib/proctor/audit.db`` names an absolute path, as
  ``file:`` URLs do, and ``sqlite:audit.db`` a relative one;
- ``postgresql://`` or ``postgres://`` (libpq's URL forms) opens a `PostgresRecordStore`;
- anything else is refused with a `StoreError` naming the scheme, rather than being taken
  for a file name and silently creating a new empty log.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias
from urllib.parse import unquote, urlsplit

from audit.errors import StoreError
from audit.sqlite_store import SQLiteRecordStore

if TYPE_CHECKING:
    # psycopg is imported only when a PostgreSQL store is opened: a process on SQLite (the
    # audit writer child, a verification tool) starts 0.1 s sooner without it.
    from audit.postgres_store import PostgresRecordStore

_SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_POSTGRES_SCHEMES: Final = frozenset({"postgresql", "postgres"})


#: Every store `open_record_store` may return: a RecordStore that is also an OutboxStore.
AnyRecordStore: TypeAlias = "SQLiteRecordStore | PostgresRecordStore"


def open_record_store(location: str | Path, *, read_only: bool = False) -> AnyRecordStore:
    """The store at `location`, opened (and set up if new, unless `read_only`)."""
    if isinstance(location, Path):
        return SQLiteRecordStore(location, read_only=read_only)
    match = _SCHEME.match(location)
    # A one-letter "scheme" is a Windows drive (C:\audit.db), not a URL.
    if match is None or len(match.group(1)) == 1:
        return SQLiteRecordStore(Path(location), read_only=read_only)
    scheme = match.group(1).lower()
    if scheme in _POSTGRES_SCHEMES:
        from audit.postgres_store import PostgresRecordStore

        return PostgresRecordStore(location, read_only=read_only)
    if scheme == "sqlite":
        return SQLiteRecordStore(_sqlite_path(location), read_only=read_only)
    raise StoreError(
        f"unknown audit store scheme {scheme!r}: use a file path, sqlite:///path, "
        "or postgresql://host/db"
    )


def _sqlite_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise StoreError(
            "a sqlite: audit store URL names a local file only (sqlite:///path/to/audit.db); "
            f"got host {parts.netloc!r}, query {parts.query!r}, fragment {parts.fragment!r}"
        )
    path = unquote(parts.path)
    if not path:
        raise StoreError("a sqlite: audit store URL needs a path (sqlite:///path/to/audit.db)")
    return Path(path)
