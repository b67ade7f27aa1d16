"""The log's signed checkpoints: issued as records are written, never contradicting each other.

A checkpoint (`audit.checkpoint`, a C2SP signed note) commits the log to its first `size`
records through their RFC 6962 root, leaf i being the line of the record with seq i + 1.
An auditor who keeps one can later prove that no record before it was changed, dropped or
reordered. `AuditLog` asks `CheckpointIssuer` for one at every session close and every N
records, inside the write transaction of the records it covers (so a checkpoint is never
visible without them), and an export asks for one at the head it exports.

Why it is cheap: the store keeps, with each checkpoint, the compact range of the tree at
that size (`audit.compact_range`), and the issuer keeps in memory the leaf hashes written
since the newest stored checkpoint. A new checkpoint extends that range by those leaves:
O(log n) hashes plus one per new record, one Ed25519 signature, no re-reading of the log.
The cache is checked against the store at every use (head and newest checkpoint), so
several writers sharing one store each pick up what the others wrote.

Why it is never inconsistent: before signing, the issuer checks that the stored range
folds to the root the stored checkpoint signed and that the checkpoint's text says the
same, builds the RFC 6962 consistency proof from that checkpoint to the new tree and
checks it with `check_consistent`; any mismatch raises `CheckpointError` and nothing is
signed (the store's triggers refuse a smaller checkpoint as well). Appends then fail
closed: a log whose stored history contradicts what it already published must stop.

A store may hold checkpoints under several origins (a log renamed, or exported under
another name); each origin's checkpoints grow, and all of them are over the same tree,
so every new checkpoint is checked against the newest one of any origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_consistent,
    parse_checkpoint,
    sign_checkpoint,
)
from audit.compact_range import CompactRange, extension_proof
from audit.keys import SigningKey
from audit.merkle import leaf_hash
from audit.note import NoteError, NoteSigner
from audit.store import RecordStore, StoredCheckpoint, StoreTransaction
from audit.timefmt import format_timestamp, utc_now

DEFAULT_ORIGIN: Final = "proctor.local/audit"
"""The log's name in its checkpoints (and the key name they are signed under)."""

DEFAULT_CHECKPOINT_EVERY: Final = 1000
"""Records between checkpoints when no session closes in between."""


@dataclass(slots=True)
class _TreeState:
    """The newest stored checkpoint (of any origin) and the leaf hashes written after it."""

    base: StoredCheckpoint | None
    base_range: CompactRange
    leaves: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.base_range.size + len(self.leaves)


class CheckpointIssuer:
    """Signs and stores checkpoints of one log under one origin, extending the Merkle tree
    incrementally. Not thread-safe: call it inside a store transaction, which serialises."""

    def __init__(self, signer: NoteSigner, clock: Callable[[], datetime] | None = None) -> None:
        self._signer = signer
        self._clock = clock if clock is not None else utc_now
        self._state: _TreeState | None = None
        self._latest_own: int | None = None  # size of our origin's newest checkpoint, if known

    @classmethod
    def for_key(
        cls, key: SigningKey, origin: str, clock: Callable[[], datetime] | None = None
    ) -> CheckpointIssuer:
        """An issuer signing with `key` under the key name `origin` (the spec's advice)."""
        try:
            return cls(NoteSigner(origin, key), clock)
        except NoteError as exc:
            raise CheckpointError(
                "origin", f"origin {origin!r} cannot name a checkpoint signer: {exc}"
            ) from exc

    @property
    def origin(self) -> str:
        return self._signer.name

    def forget(self) -> None:
        """Drop the cached state (after a transaction failed: it may not have committed)."""
        self._state = None
        self._latest_own = None

    def observe(self, tx: StoreTransaction, first_seq: int, lines: Iterable[bytes]) -> None:
        """Take note of the records first_seq, first_seq + 1, ... just appended in `tx`."""
        state = self._state
        if state is None or state.size != first_seq - 1:
            # Another writer appended since (or nothing is cached): catch up from the store,
            # which already holds these lines too.
            self._state = None
            return
        state.leaves.extend(leaf_hash(line) for line in lines)

    def due(self, tx: StoreTransaction, head: int, every: int) -> bool:
        """True if the log has grown by `every` records since our origin's last checkpoint."""
        if self._latest_own is None:
            latest = tx.latest_checkpoint(self.origin)
            self._latest_own = 0 if latest is None else latest.size
        return head - self._latest_own >= every

    def issue(self, tx: StoreTransaction, head: int) -> StoredCheckpoint | None:
        """Sign and store a checkpoint of the first `head` records, unless our origin has
        one of that size already (then None). Raises `CheckpointError` rather than sign a
        tree that does not extend the newest stored checkpoint."""
        own = tx.latest_checkpoint(self.origin)
        self._latest_own = 0 if own is None else own.size
        if own is not None and own.size >= head:
            return None
        state = self._synced(tx, head)
        new_range = state.base_range.copy()
        new_range.extend(state.leaves)
        new = Checkpoint(self.origin, head, new_range.root())
        if state.base is not None:
            old = Checkpoint(self.origin, state.base.size, state.base.root)
            check_consistent(old, new, extension_proof(state.base_range, state.leaves))
        stored = StoredCheckpoint(
            origin=self.origin,
            size=head,
            root=new.root,
            frontier=new_range.to_bytes(),
            note=sign_checkpoint(new, self._signer),
            issued_at=format_timestamp(self._clock()),
        )
        tx.add_checkpoint(stored)
        self._state = _TreeState(stored, new_range)
        self._latest_own = head
        return stored

    def _synced(self, tx: StoreTransaction, head: int) -> _TreeState:
        """The cached state if it still matches the store at `head`, else one rebuilt."""
        latest = tx.latest_checkpoint()
        state = self._state
        if state is not None and state.size == head and _same(state.base, latest):
            return state
        state = _load(tx, latest, head)
        self._state = state
        return state


def _same(a: StoredCheckpoint | None, b: StoredCheckpoint | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.origin, a.size, a.root) == (b.origin, b.size, b.root)


def _load(tx: StoreTransaction, latest: StoredCheckpoint | None, head: int) -> _TreeState:
    """The state from the newest stored checkpoint and the records after it, checked."""
    if latest is None:
        base_range = CompactRange()
    else:
        base_range = _checked_range(latest)
        if latest.size > head:
            raise CheckpointError(
                "rollback",
                f"the log holds {head} records but a checkpoint of size {latest.size} "
                f"({latest.origin!r}) was signed: records are missing",
            )
    leaves = [leaf_hash(line) for line in tx.record_lines(base_range.size + 1, head)]
    if base_range.size + len(leaves) != head:
        raise CheckpointError(
            "inconsistent",
            f"the store returned {len(leaves)} records after seq {base_range.size}, "
            f"expected {head - base_range.size}",
        )
    return _TreeState(latest, base_range, leaves)


def _checked_range(stored: StoredCheckpoint) -> CompactRange:
    """The stored compact range, refused unless it and the signed note agree on the root."""
    where = f"stored checkpoint {stored.origin!r} size {stored.size}"
    try:
        base_range = CompactRange.from_bytes(stored.size, stored.frontier)
        text = stored.note[: stored.note.rfind("\n\n") + 1]
        signed = parse_checkpoint(text)
    except (ValueError, CheckpointError) as exc:
        raise CheckpointError("inconsistent", f"{where} is unreadable: {exc}") from exc
    if (signed.size, signed.root) != (stored.size, stored.root):
        raise CheckpointError("inconsistent", f"{where}: its note signs another tree head")
    if base_range.root() != stored.root:
        raise CheckpointError(
            "inconsistent", f"{where}: its stored Merkle state does not lead to its root"
        )
    return base_range


def issue_checkpoint(
    store: RecordStore,
    key: SigningKey,
    origin: str,
    clock: Callable[[], datetime] | None = None,
) -> StoredCheckpoint:
    """Make sure `origin` has a checkpoint at the log's current head; return the newest.

    Used by exports: it takes the store's write lock, so the head cannot move meanwhile.
    """
    issuer = CheckpointIssuer.for_key(key, origin, clock)
    with store.transaction() as tx:
        head = tx.head()
        if head == 0:
            raise CheckpointError("malformed", "an empty log has nothing to checkpoint")
        issued = issuer.issue(tx, head)
        if issued is not None:
            return issued
        latest = tx.latest_checkpoint(origin)
    if latest is None:  # pragma: no cover - issue() returns None only when one exists
        raise CheckpointError("malformed", f"no checkpoint of {origin!r} after issuing one")
    return latest
