"""The log's Merkle tree kept between exports, so exporting one session does not re-read the log.

An export proves each of its records' inclusion in the log, which needs every leaf of the
log's tree: read from the store, that is a pass over the whole log per export, however small
the export. A service that opens sessions one at a time keeps the tree here instead and
extends it with the records appended since the last export (`export_bundle(log_tree=...)`).
The tree costs about 64 bytes per record of memory (`audit.merkle_index`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from audit.errors import StoreError
from audit.merkle import leaf_hash
from audit.merkle_index import MerkleIndex
from audit.store import RecordStore


@dataclass
class KeptTree:
    """A log's leaves, and how far the log's checkpoints have been compared with them: an
    export compares only the checkpoints issued since (the older ones matched these very
    leaves before, and the leaves do not change)."""

    index: MerkleIndex = field(default_factory=MerkleIndex)
    matched_size: int = 0


class LogTreeCache:
    """One log's tree, shared by threads: one export uses it at a time."""

    def __init__(self) -> None:
        self._tree = KeptTree()
        self._lock = threading.Lock()

    @contextmanager
    def up_to_date(self, store: RecordStore) -> Iterator[KeptTree]:
        """The tree of every record in `store` now, held for the caller alone until the block
        ends (an export may extend it further, to the checkpoint it anchors to)."""
        with self._lock:
            index = self._tree.index
            for record in store.records(index.size + 1):
                if record.seq != index.size + 1:
                    raise StoreError(
                        f"store returned seq {record.seq} where {index.size + 1} was due"
                    )
                index.append(leaf_hash(record.line))
            yield self._tree
