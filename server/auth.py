"""API keys and roles: who is calling, and what they may do.

A key is shown once, when it is created; only its SHA-256 is stored. Keys look like
`pk_<key id>_<secret>`: the id finds the row, the hash of the whole key is compared in constant
time. Roles: an officer writes policies and knowledge bases, a learner practises and reads
only their own sessions, an auditor reads and exports but writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from server.service_db import Dialect, ServiceDatabase


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


_TABLE = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""
# The same table on both: timestamps stay ISO-8601 text so rows read back identically.
_SCHEMA: Mapping[Dialect, Sequence[str]] = {"sqlite": [_TABLE], "postgres": [_TABLE]}

# What `create` issues: `secrets.token_hex(6)`. Anything else names no key, and is refused before
# it reaches the database (PostgreSQL rejects text with NUL in it, which a caller can send).
_KEY_ID = re.compile(r"[0-9a-f]{12}")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyStore:
    """API keys in the service database: a SQLite path or a PostgreSQL URL (see service_db)."""

    def __init__(self, location: str | Path) -> None:
        self._db = ServiceDatabase.open(location)
        self._db.create_schema(_SCHEMA)

    @classmethod
    def open(cls, location: str | Path) -> ApiKeyStore:
        return cls(location)

    def create(self, role: Role, subject: str) -> tuple[Principal, str]:
        """A new key for `subject`; the returned secret is never stored or shown again."""
        key_id = secrets.token_hex(6)
        key = f"pk_{key_id}_{secrets.token_urlsafe(24)}"
        self._db.execute(
            "INSERT INTO api_keys (key_id, key_sha256, role, subject, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key_id, _digest(key), role.value, subject, datetime.now(UTC).isoformat()),
        )
        return Principal(key_id, role, subject), key

    def authenticate(self, key: str) -> Principal | None:
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "pk" or not _KEY_ID.fullmatch(parts[1]):
            return None
        row = self._db.execute(
            "SELECT key_sha256, role, subject, revoked_at FROM api_keys WHERE key_id = ?",
            (parts[1],),
        ).one()
        if row is None or row[3] is not None:
            return None
        if not hmac.compare_digest(row[0], _digest(key)):
            return None
        return Principal(parts[1], Role(row[1]), row[2])

    def revoke(self, key_id: str) -> bool:
        if not _KEY_ID.fullmatch(key_id):
            return False
        result = self._db.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
            (datetime.now(UTC).isoformat(), key_id),
        )
        return result.rowcount == 1

    def close(self) -> None:
        self._db.close()
