"""Policy drafts and published versions, in the service database.

An officer saves drafts (the YAML text as written, validated with located errors) and
publishes one: from then on that (policy id, version) is immutable, enforced by the database,
and addressable by id and version or by its digest. Sessions pin the published version they
started with, so editing a new draft never changes a running or past session.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from policies import Policy, parse_policy, policy_digest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (
    policy_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    published_by TEXT,
    published_at TEXT,
    PRIMARY KEY (policy_id, version)
);
CREATE TRIGGER IF NOT EXISTS published_policies_are_immutable
BEFORE UPDATE ON policies WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published policy version is immutable'); END;
CREATE TRIGGER IF NOT EXISTS published_policies_are_kept
BEFORE DELETE ON policies WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published policy version is kept forever'); END;
"""


class PolicyConflictError(Exception):
    """The (policy id, version) is already published, or not in the state asked for."""


class PolicyNotFoundError(Exception):
    pass


@dataclass(frozen=True)
class StoredPolicy:
    policy_id: str
    version: int
    status: str
    digest: str
    source: str
    author: str
    saved_at: str
    published_by: str | None
    published_at: str | None

    @property
    def policy(self) -> Policy:
        return parse_policy(self.source, f"{self.policy_id}@{self.version}")

    @property
    def published(self) -> bool:
        return self.status == "published"


_COLUMNS = (
    "policy_id, version, status, digest, source, author, saved_at, published_by, published_at"
)


class PolicyRegistry:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.executescript(_SCHEMA)

    def save_draft(self, source: str, author: str) -> StoredPolicy:
        """Validate `source` (raises policies.DocumentError, located) and store it as the draft
        of its (policy, version); a published version cannot be overwritten."""
        policy = parse_policy(source, "policy.yaml")
        now = datetime.now(UTC).isoformat()
        with self._lock:
            existing = self._row(policy.policy, policy.version)
            if existing is not None and existing.published:
                raise PolicyConflictError(
                    f"{policy.policy} version {policy.version} is published and immutable; "
                    "save the change as a new version"
                )
            self._connection.execute(
                "INSERT INTO policies (policy_id, version, status, digest, source, author, "
                "saved_at) VALUES (?, ?, 'draft', ?, ?, ?, ?) "
                "ON CONFLICT (policy_id, version) DO UPDATE SET digest = excluded.digest, "
                "source = excluded.source, author = excluded.author, saved_at = excluded.saved_at",
                (policy.policy, policy.version, policy_digest(policy), source, author, now),
            )
            stored = self._row(policy.policy, policy.version)
        assert stored is not None
        return stored

    def publish(self, policy_id: str, version: int, officer: str) -> StoredPolicy:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            existing = self._row(policy_id, version)
            if existing is None:
                raise PolicyNotFoundError(f"no draft {policy_id} version {version}")
            if existing.published:
                raise PolicyConflictError(f"{policy_id} version {version} is already published")
            self._connection.execute(
                "UPDATE policies SET status = 'published', published_by = ?, published_at = ? "
                "WHERE policy_id = ? AND version = ?",
                (officer, now, policy_id, version),
            )
            stored = self._row(policy_id, version)
        assert stored is not None
        return stored

    def get(self, policy_id: str, version: int) -> StoredPolicy:
        with self._lock:
            stored = self._row(policy_id, version)
        if stored is None:
            raise PolicyNotFoundError(f"no policy {policy_id} version {version}")
        return stored

    def latest_published(self, policy_id: str) -> StoredPolicy:
        with self._lock:
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM policies WHERE policy_id = ? AND status = 'published' "
                "ORDER BY version DESC LIMIT 1",
                (policy_id,),
            ).fetchone()
        if row is None:
            raise PolicyNotFoundError(f"no published version of policy {policy_id}")
        return StoredPolicy(*row)

    def by_digest(self, digest: str) -> StoredPolicy:
        with self._lock:
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM policies WHERE digest = ? AND status = 'published'",
                (digest,),
            ).fetchone()
        if row is None:
            raise PolicyNotFoundError(f"no published policy with digest {digest}")
        return StoredPolicy(*row)

    def all(self) -> list[StoredPolicy]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM policies ORDER BY policy_id, version"
            ).fetchall()
        return [StoredPolicy(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _row(self, policy_id: str, version: int) -> StoredPolicy | None:
        row = self._connection.execute(
            f"SELECT {_COLUMNS} FROM policies WHERE policy_id = ? AND version = ?",
            (policy_id, version),
        ).fetchone()
        return StoredPolicy(*row) if row else None
