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
several writers sharing one store each pick up what the others wrote, reading back only
their records. It is first built from committed data before the write transaction
(`warm`), so a log that predates checkpoints is read once without holding other writers.

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
    """The newest stored checkpoint (of any origin), the tree now, and the leaf hashes
    written since that checkpoint (for the consistency proof from it; with no checkpoint
    yet there is nothing to prove, and they are not kept)."""

    base: StoredCheckpoint | None
    base_range: CompactRange
    current: CompactRange
    leaves: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.current.size

    def extend(self, lines: Iterable[bytes]) -> None:
        for line in lines:
            leaf = leaf_hash(line)
            self.current.append(leaf)
            if self.base is not None:
                self.leaves.append(leaf)


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

    def warm(self, store: RecordStore) -> None:
        """Build the cached state from committed data, outside any write transaction.

        Only a log that has no checkpoint yet (one that predates them) needs this to be
        quick: its first checkpoint covers every record, and reading them all inside an
        append's write transaction would hold every other writer up meanwhile. The
        transaction then reads only what was appended after this.
        """
        if self._state is not None:
            return
        latest = store.latest_checkpoint()
        base_range = CompactRange() if latest is None else _checked_range(latest)
        state = _TreeState(latest, base_range, base_range.copy())
        state.extend(record.line for record in store.records(base_range.size + 1))
        self._state = state

    def observe(self, tx: StoreTransaction, first_seq: int, lines: Iterable[bytes]) -> None:
        """Take note of the records first_seq, first_seq + 1, ... just appended in `tx`."""
        state = self._state
        if state is None:
            return  # built from the store when a checkpoint is due, these lines included
        if state.size > first_seq - 1:
            self._state = None  # cannot happen unless the store went back: rebuild later
            return
        if state.size < first_seq - 1:  # another writer appended meanwhile
            state.extend(tx.record_lines(state.size + 1, first_seq - 1))
        state.extend(lines)

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
        new_range = state.current.copy()
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
        self._state = _TreeState(stored, new_range, new_range.copy())
        self._latest_own = head
        return stored

    def _synced(self, tx: StoreTransaction, head: int) -> _TreeState:
        """The cached state brought up to `head` if its checkpoint is still the newest
        stored one, else one rebuilt from the newest stored checkpoint."""
        latest = tx.latest_checkpoint()
        state = self._state
        if state is not None and state.size <= head and _same(state.base, latest):
            if state.size < head:  # another writer appended since this state was built
                state.extend(tx.record_lines(state.size + 1, head))
        else:
            state = _load(tx, latest, head)
        if state.size != head:
            raise CheckpointError(
                "inconsistent", f"the store returned records up to {state.size}, expected {head}"
            )
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
    state = _TreeState(latest, base_range, base_range.copy())
    state.extend(tx.record_lines(base_range.size + 1, head))
    return state


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
    issuer.warm(store)
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
