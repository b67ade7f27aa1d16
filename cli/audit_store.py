"""Which audit store an `proctor audit` command works on: the home's SQLite file or a URL.

The service writes either to the SQLite file in the Proctor home or to PostgreSQL; the
offline commands (export, erase) must be able to read the same store, so they share one
``--database`` option and one way of refusing a home that has no log yet (rather than
creating an empty database and then reporting that it holds nothing).
"""

from __future__ import annotations

import argparse
import os

from audit import AuditError, open_record_store
from audit.stores import AnyRecordStore
from cli.home import ProctorHome


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get("PROCTOR_DATABASE_URL"),
        help="the service's PostgreSQL URL (default: the SQLite audit file in the Proctor "
        "home; env PROCTOR_DATABASE_URL)",
    )


def open_audit_store(database: str | None, home: ProctorHome) -> AnyRecordStore:
    """The store `database` names, else the home's SQLite log; `AuditError` if that has
    never been written."""
    if database is None and not home.audit_db.is_file():
        raise AuditError(f"no audit log at {home.audit_db}")
    return open_record_store(database or home.audit_db)
