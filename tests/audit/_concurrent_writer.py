"""Worker for the multi-process append tests (a module, so spawned processes can import it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from audit import AuditLog, PostgresRecordStore, SigningKey, SQLiteRecordStore
from tests.audit.helpers import POLICY, AnyStore, event


def batch_sizes(rounds: int) -> list[int]:
    """Batch sizes one writer uses: 1, 2, 3, 1, 2, 3, ..."""
    return [1 + n % 3 for n in range(rounds)]


def open_patient(location: str) -> AnyStore:
    """The store at `location` (a file path or a postgresql:// URL), waiting long for locks:
    the test measures correctness under contention, not how fast a writer gives up."""
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresRecordStore(location, lock_timeout=30.0)
    return SQLiteRecordStore(Path(location), busy_timeout=30.0)


def append_many(location: str, key_file: str, writer: int, rounds: int, start: Any) -> None:
    """After `start` (a barrier) releases, append batches to shared and own sessions."""
    key = SigningKey.load_or_create(Path(key_file))
    with open_patient(location) as store:
        log = AuditLog(store, key)
        start.wait()
        for n, size in enumerate(batch_sizes(rounds)):
            session = f"shared-{n % 3}" if n % 2 == 0 else f"own-{writer}"
            batch = [dict(event(n * 10 + i), writer=writer) for i in range(size)]
            log.append(session, POLICY, batch)
            # Sessions append as people speak, not back to back. Without a pause, SQLite's
            # sleeping busy handler lets one hammering writer starve the other.
            time.sleep(0.002)
