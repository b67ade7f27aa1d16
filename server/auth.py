"""API keys and roles: who is calling, and what they may do.

A key is shown once, when it is created; only its SHA-256 is stored. Keys look like
`pk_<key id>_<secret>`: the id finds the row, the hash of the whole key is compared in constant
time. Roles: an officer writes policies and knowledge bases, a learner practises and reads
only their own sessions, an auditor reads and exports but writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


class Role(StrEnum):
    officer = "officer"
    learner = "learner"
    auditor = "auditor"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `subject` is the pseudonymous learner (or staff) id."""

    key_id: str
    role: Role
    subject: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyStore:
    """API keys in the service database (SQLite)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(_SCHEMA)

    def create(self, role: Role, subject: str) -> tuple[Principal, str]:
        """A new key for `subject`; the returned secret is never stored or shown again."""
        key_id = secrets.token_hex(6)
        key = f"pk_{key_id}_{secrets.token_urlsafe(24)}"
        with self._lock:
            self._connection.execute(
                "INSERT INTO api_keys (key_id, key_sha256, role, subject, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key_id, _digest(key), role.value, subject, datetime.now(UTC).isoformat()),
            )
        return Principal(key_id, role, subject), key

    def authenticate(self, key: str) -> Principal | None:
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "pk":
            return None
        with self._lock:
            row = self._connection.execute(
                "SELECT key_sha256, role, subject, revoked_at FROM api_keys WHERE key_id = ?",
                (parts[1],),
            ).fetchone()
        if row is None or row[3] is not None:
            return None
        if not hmac.compare_digest(row[0], _digest(key)):
            return None
        return Principal(parts[1], Role(row[1]), row[2])

    def revoke(self, key_id: str) -> bool:
        with self._lock:
            cursor = self._connection.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._connection.close()
