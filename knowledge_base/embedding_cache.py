"""Embedding caches keyed by the SHA-256 of the text.

A text's embedding never changes for a given model, so the digest is a safe key. The memory
cache is a bounded LRU; the disk cache is a SQLite file (WAL, so several Proctor processes can
share it) whose rows are also keyed by model, so a different model never reads stale vectors.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_SQL_BATCH = 500  # stay far below SQLite's bound-parameter limit


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class MemoryCache:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._rows: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, NDArray[np.float32]]:
        found = {}
        with self._lock:
            for key in keys:
                row = self._rows.get(key)
                if row is not None:
                    self._rows.move_to_end(key)
                    found[key] = row
        return found

    def put_many(self, rows: Mapping[str, NDArray[np.float32]]) -> None:
        with self._lock:
            for key, row in rows.items():
                self._rows[key] = row
                self._rows.move_to_end(key)
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)


class DiskCache:
    def __init__(self, path: Path, model: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._model = model
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            # A cache: a row lost in a power cut is recomputed, so commits need not wait for
            # the disk (in WAL mode, NORMAL skips the fsync at commit).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS embedding ("
                " model TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, text_sha256))"
            )

    def get_many(self, keys: list[str]) -> dict[str, NDArray[np.float32]]:
        import numpy as np

        found: dict[str, NDArray[np.float32]] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for offset in range(0, len(unique), _SQL_BATCH):
                batch = unique[offset : offset + _SQL_BATCH]
                marks = ",".join("?" * len(batch))
                query = (
                    "SELECT text_sha256, vector FROM embedding"
                    f" WHERE model = ? AND text_sha256 IN ({marks})"
                )
                for key, blob in self._db.execute(query, [self._model, *batch]):
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, rows: Mapping[str, NDArray[np.float32]]) -> None:
        import numpy as np

        values = [
            (self._model, key, np.asarray(row, dtype=np.float32).tobytes())
            for key, row in rows.items()
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR IGNORE INTO embedding VALUES (?, ?, ?)", values)
