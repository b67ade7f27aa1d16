"""Where the service keeps its state and the limits it enforces, in one place.

Everything lives under one data folder (the Proctor home): the audit database, which also
holds the webhook outbox so that an escalation and its delivery are committed together, the
signing key, and the service database (API keys, policies, sessions). With `database_url`
(a PostgreSQL URL) the audit log, the outbox, API keys and policies live in that database
instead, so several service processes can share them; keys and knowledge bases stay in the
data folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from audit.keyring import retired_keys_dir
from server.service_db import is_postgres_url
from server.webhooks import WebhookEndpoint


@dataclass(frozen=True)
class Limits:
    """Per-request and per-session limits; exceeding one is a clear 4xx or socket error."""

    max_message_bytes: int = 16_384
    max_upload_bytes: int = 10 * 1024 * 1024
    utterances_per_second: float = 20.0
    open_sessions_per_key: int = 20
    # A running session that receives nothing from its learner for this long is ended as
    # abandoned, so a closed tab does not hold a session place and leaves a complete record.
    idle_session_seconds: float = 30 * 60
    # Threads that run session steps and other blocking work. Each busy session's step holds
    # one while it waits for the model or the audit log: with anyio's default of 40, quiet
    # sessions' partials queued behind busy finals (p99 wait 242 ms at 200 sessions). Many
    # more threads make every hand-over of the GIL slower: at 256 a partial's step took
    # 72 ms at p90 against 5.6 ms at 64 (bench/load_sessions.py, 2 cores).
    worker_threads: int = 64


@dataclass(frozen=True)
class ServerConfig:
    root: Path
    limits: Limits = Limits()
    # channel (a policy's `notify` target) -> where its escalation webhooks are delivered
    webhooks: Mapping[str, WebhookEndpoint] = field(default_factory=dict)
    database_url: str | None = None
    # "process": a child process signs and commits the audit records (`audit.writer_process`),
    # so appends do not queue for this process's GIL behind hundreds of sessions.
    # "in-process": the sessions' own threads do it (`audit.AuditLog`), for embedding the
    # service in a program that cannot start processes.
    audit_writer: Literal["process", "in-process"] = "process"

    def __post_init__(self) -> None:
        if self.database_url is not None and not is_postgres_url(self.database_url):
            raise ValueError(
                "the database URL must start with postgresql:// or postgres:// (without one, "
                "the service keeps SQLite files in its data folder)"
            )

    @property
    def audit_location(self) -> str | Path:
        """Where the audit log and outbox are stored: the database URL or the SQLite file."""
        return self.database_url or self.audit_db

    @property
    def service_location(self) -> str | Path:
        """Where API keys and policies are stored: the database URL or the SQLite file."""
        return self.database_url or self.service_db

    @property
    def audit_db(self) -> Path:
        return self.root / "audit.sqlite3"

    @property
    def service_db(self) -> Path:
        return self.root / "service.sqlite3"

    @property
    def signing_key(self) -> Path:
        return self.root / "keys" / "audit-signing.key"

    @property
    def retired_keys_dir(self) -> Path:
        """Public keys of rotated-out audit signing keys (see `audit.keyring`)."""
        return retired_keys_dir(self.signing_key)

    @property
    def knowledge_root(self) -> Path:
        return self.root / "knowledge_bases"

    def ensure(self) -> ServerConfig:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self
