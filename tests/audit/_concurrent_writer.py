"""Worker for the multi-process append test (a module, so spawned processes can import it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from audit import AuditLog, SigningKey, SQLiteRecordStore
from tests.audit.helpers import POLICY, event


def batch_sizes(rounds: int) -> list[int]:
    """Batch sizes one writer uses: 1, 2, 3, 1, 2, 3, ..."""
    return [1 + n % 3 for n in range(rounds)]


def append_many(db: str, key_file: str, writer: int, rounds: int, start: Any) -> None:
    """After `start` (a barrier) releases, append batches to shared and own sessions."""
    key = SigningKey.load_or_create(Path(key_file))
    with SQLiteRecordStore(Path(db), busy_timeout=30.0) as store:
        log = AuditLog(store, key)
        start.wait()
        for n, size in enumerate(batch_sizes(rounds)):
            session = f"shared-{n % 3}" if n % 2 == 0 else f"own-{writer}"
            batch = [dict(event(n * 10 + i), writer=writer) for i in range(size)]
            log.append(session, POLICY, batch)
            # Sessions append as people speak, not back to back. Without a pause, SQLite's
            # sleeping busy handler lets one hammering writer starve the other.
            time.sleep(0.002)
