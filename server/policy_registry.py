"""Policy drafts and published versions, in the service database (SQLite or PostgreSQL).

An officer saves drafts (the YAML text as written, validated with located errors) and
publishes one: from then on that (policy id, version) is immutable, enforced by the database,
and addressable by id and version or by its digest. Sessions pin the published version they
started with, so editing a new draft never changes a running or past session.

"Enforced by the database" holds on both backends: SQLite triggers and PostgreSQL plpgsql
triggers refuse any UPDATE or DELETE of a published row, whoever issues it (this class, another
service process, an operator at a SQL prompt). The statements here are also written so that two
processes racing cannot overwrite a published version: a draft is saved and published only
`WHERE status = 'draft'`, and a statement that touched no row is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from policies import Policy, parse_policy, policy_digest
from server.service_db import Dialect, IntegrityViolation, InvalidValue, ServiceDatabase

_SQLITE_SCHEMA = [
    """
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
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS published_policies_are_immutable
    BEFORE UPDATE ON policies WHEN OLD.status = 'published'
    BEGIN SELECT RAISE(ABORT, 'a published policy version is immutable'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS published_policies_are_kept
    BEFORE DELETE ON policies WHEN OLD.status = 'published'
    BEGIN SELECT RAISE(ABORT, 'a published policy version is kept forever'); END
    """,
]

# The same rules in PostgreSQL (14 or later, for CREATE OR REPLACE TRIGGER). `version` is BIGINT
# because routes accept versions up to 2**31, one past INTEGER. The triggers raise with SQLSTATE
# 23000 so that drivers report an integrity error, as SQLite's RAISE(ABORT) does. TRUNCATE skips
# row triggers, so a statement trigger refuses it outright: it would drop published rows.
_POSTGRES_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS policies (
        policy_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
        digest TEXT NOT NULL,
        source TEXT NOT NULL,
        author TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        published_by TEXT,
        published_at TEXT,
        PRIMARY KEY (policy_id, version)
    )
    """,
    """
    CREATE OR REPLACE FUNCTION proctor_refuse_published_policy_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'a published policy version is immutable'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RAISE EXCEPTION 'a published policy version is kept forever'
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$
    """,
    """
    CREATE OR REPLACE TRIGGER published_policies_are_immutable
    BEFORE UPDATE ON policies FOR EACH ROW WHEN (OLD.status = 'published')
    EXECUTE FUNCTION proctor_refuse_published_policy_change()
    """,
    """
    CREATE OR REPLACE TRIGGER published_policies_are_kept
    BEFORE DELETE ON policies FOR EACH ROW WHEN (OLD.status = 'published')
    EXECUTE FUNCTION proctor_refuse_published_policy_change()
    """,
    """
    CREATE OR REPLACE TRIGGER published_policies_are_not_truncated
    BEFORE TRUNCATE ON policies FOR EACH STATEMENT
    EXECUTE FUNCTION proctor_refuse_published_policy_change()
    """,
]

_SCHEMA: Mapping[Dialect, Sequence[str]] = {
    "sqlite": _SQLITE_SCHEMA,
    "postgres": _POSTGRES_SCHEMA,
}


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


def _immutable(policy_id: str, version: int) -> PolicyConflictError:
    return PolicyConflictError(
        f"{policy_id} version {version} is published and immutable; "
        "save the change as a new version"
    )


class PolicyRegistry:
    """Policy versions in the service database: a SQLite path or a PostgreSQL URL."""

    def __init__(self, location: str | Path) -> None:
        self._db = ServiceDatabase.open(location)
        self._db.create_schema(_SCHEMA)

    @classmethod
    def open(cls, location: str | Path) -> PolicyRegistry:
        return cls(location)

    def save_draft(self, source: str, author: str) -> StoredPolicy:
        """Validate `source` (raises policies.DocumentError, located) and store it as the draft
        of its (policy, version); a published version cannot be overwritten."""
        policy = parse_policy(source, "policy.yaml")
        now = datetime.now(UTC).isoformat()
        with self._db.lock:
            existing = self._row(policy.policy, policy.version)
            if existing is not None and existing.published:
                raise _immutable(policy.policy, policy.version)
            try:
                # `WHERE policies.status = 'draft'`: if another process published this version
                # since the read above, nothing is written and the conflict is reported below.
                result = self._db.execute(
                    "INSERT INTO policies (policy_id, version, status, digest, source, author, "
                    "saved_at) VALUES (?, ?, 'draft', ?, ?, ?, ?) "
                    "ON CONFLICT (policy_id, version) DO UPDATE SET digest = excluded.digest, "
                    "source = excluded.source, author = excluded.author, "
                    "saved_at = excluded.saved_at WHERE policies.status = 'draft'",
                    (policy.policy, policy.version, policy_digest(policy), source, author, now),
                )
            except IntegrityViolation:
                raise _immutable(policy.policy, policy.version) from None
            if result.rowcount != 1:
                raise _immutable(policy.policy, policy.version)
            stored = self._row(policy.policy, policy.version)
        assert stored is not None
        return stored

    def publish(self, policy_id: str, version: int, officer: str) -> StoredPolicy:
        now = datetime.now(UTC).isoformat()
        with self._db.lock:
            try:
                result = self._db.execute(
                    "UPDATE policies SET status = 'published', published_by = ?, "
                    "published_at = ? WHERE policy_id = ? AND version = ? AND status = 'draft'",
                    (officer, now, policy_id, version),
                )
            except InvalidValue:
                raise PolicyNotFoundError(f"no draft {policy_id} version {version}") from None
            except IntegrityViolation:
                raise PolicyConflictError(
                    f"{policy_id} version {version} is already published"
                ) from None
            if result.rowcount != 1:
                # Nothing was a draft: either there is no such version, or it is published
                # (perhaps a moment ago, by another officer or another process).
                if self._row(policy_id, version) is None:
                    raise PolicyNotFoundError(f"no draft {policy_id} version {version}")
                raise PolicyConflictError(f"{policy_id} version {version} is already published")
            stored = self._row(policy_id, version)
        assert stored is not None
        return stored

    def get(self, policy_id: str, version: int) -> StoredPolicy:
        stored = self._row(policy_id, version)
        if stored is None:
            raise PolicyNotFoundError(f"no policy {policy_id} version {version}")
        return stored

    def latest_published(self, policy_id: str) -> StoredPolicy:
        row = self._first(
            f"SELECT {_COLUMNS} FROM policies WHERE policy_id = ? AND status = 'published' "
            "ORDER BY version DESC LIMIT 1",
            (policy_id,),
        )
        if row is None:
            raise PolicyNotFoundError(f"no published version of policy {policy_id}")
        return row

    def by_digest(self, digest: str) -> StoredPolicy:
        row = self._first(
            f"SELECT {_COLUMNS} FROM policies WHERE digest = ? AND status = 'published'",
            (digest,),
        )
        if row is None:
            raise PolicyNotFoundError(f"no published policy with digest {digest}")
        return row

    def all(self) -> list[StoredPolicy]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM policies ORDER BY policy_id, version").rows
        return [StoredPolicy(*row) for row in rows]

    def close(self) -> None:
        self._db.close()

    def _row(self, policy_id: str, version: int) -> StoredPolicy | None:
        return self._first(
            f"SELECT {_COLUMNS} FROM policies WHERE policy_id = ? AND version = ?",
            (policy_id, version),
        )

    def _first(self, sql: str, params: Sequence[object]) -> StoredPolicy | None:
        """The first row, or None; a value the database cannot even compare (NUL in
        PostgreSQL text, an integer beyond 64 bits) names no row, so it is not found either."""
        try:
            row = self._db.execute(sql, params).one()
        except InvalidValue:
            return None
        return StoredPolicy(*row) if row else None
