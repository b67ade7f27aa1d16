"""The transparency-log part of an export bundle: checkpoints, proofs and verifier keys.

A bundle's records are worth more with the log's signed checkpoints beside them: an
auditor who kept a checkpoint from an earlier export (or had one published to them) can
then prove that the log they hold now extends it, with nothing rewritten. So every export
carries, next to ``log/records.jsonl``:

- ``log/checkpoints/<size>.note``: the log's checkpoints (of the export's origin) that
  cover the exported range, up to the *anchor*, the smallest one covering the export's
  last record (an export of chosen sessions: the anchor and those issued at its
  records). If the log has none that far, a fresh one is signed at the log's head through
  `audit.issuer` (stored, checked against the newest stored one); a read-only store
  cannot store it, so the export then signs one at its last record after checking every
  stored checkpoint against the records;
- ``proofs/consistency/<old>-<new>.proof``: a consistency proof between each pair of
  consecutive bundled checkpoints and, when a whole-log export ends before the anchor,
  from the export's record count to the anchor;
- ``proofs/inclusion/<seq>.tlog-proof``: for exports that do not start at seq 1 or that
  hold chosen sessions only, a C2SP tlog-proof per record against the anchor, since the
  verifier cannot recompute the tree from such a records file;
- ``keys/<keyid>.vkey``: the signed-note verifier key (name = origin) of each key that
  signed a bundled checkpoint, next to the same key's securesystemslib JSON.

Leaf i of the tree is the record line of seq i + 1 exactly as stored and as written to
records.jsonl, without its newline. Before writing anything the exporter recomputes the
tree from the stored lines and refuses to export a log whose records no longer match a
checkpoint it signed: that log has been altered and needs investigating, not exporting.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Final

from audit.checkpoint import Checkpoint, CheckpointError, sign_checkpoint
from audit.errors import BundleError, StoreError
from audit.fsutil import fsync_dir, write_all
from audit.issuer import issue_checkpoint
from audit.keys import PublicKey, SigningKey
from audit.merkle import leaf_hash
from audit.merkle_index import MerkleIndex
from audit.note import NoteError, NoteSigner, NoteVerifier, open_note
from audit.proof_files import (
    ConsistencyProof,
    InclusionProof,
    render_consistency,
    render_inclusion,
)
from audit.store import RecordStore

CHECKPOINTS_DIR: Final = "log/checkpoints"
CONSISTENCY_DIR: Final = "proofs/consistency"
INCLUSION_DIR: Final = "proofs/inclusion"
VKEY_SUFFIX: Final = ".vkey"


def checkpoint_file(size: int) -> str:
    return f"{CHECKPOINTS_DIR}/{size}.note"


def consistency_file(old_size: int, new_size: int) -> str:
    return f"{CONSISTENCY_DIR}/{old_size}-{new_size}.proof"


def inclusion_file(seq: int) -> str:
    return f"{INCLUSION_DIR}/{seq}.tlog-proof"


@dataclass(frozen=True, slots=True)
class _Head:
    """A checkpoint to bundle: its size, root and signed note."""

    size: int
    root: bytes
    note: str


@dataclass(slots=True)
class LogEvidence:
    """What `write_log_evidence` wrote: files (path -> SHA-256) and the keys it needs."""

    files: dict[str, str] = field(default_factory=dict)
    signers: set[str] = field(default_factory=set)  # key ids whose JSON keys go in keys/
    vkeys: dict[str, str] = field(default_factory=dict)  # key id -> verifier key line
    anchor_size: int = 0  # the checkpoint the proofs lead to; the log matched every one up to it


def write_log_evidence(
    out_dir: Path,
    store: RecordStore,
    key: SigningKey,
    origin: str,
    *,
    first_seq: int,
    last_seq: int,
    exported: Sequence[int] | None,
    keys: Mapping[str, PublicKey],
    index: MerkleIndex | None = None,
    matched_size: int = 0,
) -> LogEvidence:
    """Write checkpoints, proofs and verifier keys for an export of records up to
    `last_seq`; `exported` lists the seqs written when the bundle is not the whole log
    from seq 1 (those get inclusion proofs). `index` may hold the leaves of the first
    records already (the exporter read them anyway); the rest are read from the store.
    Every stored checkpoint is compared with the leaves, except those of at most
    `matched_size`, which a caller keeping `index` has already compared with these leaves.
    Raises `BundleError`."""
    stored, fresh_needed = _stored_heads(store, key, origin, last_seq)
    anchor_size = min((h.size for h in stored if h.size >= last_seq), default=last_seq)
    index = _index(store, anchor_size, index if index is not None else MerkleIndex())
    for head in stored:
        if matched_size < head.size <= anchor_size and index.root(head.size) != head.root:
            raise BundleError(
                f"the log's records no longer match its checkpoint of size {head.size} "
                f"({origin!r}): the stored log was altered; refusing to export it"
            )
    # A subset bundle carries the checkpoints issued at its own records (its sessions'
    # closes) and the anchor, not the log's every checkpoint: a learner's export must not
    # grow with the number of other sessions.
    chosen = None if exported is None else set(exported)
    heads = [
        h
        for h in stored
        if first_seq <= h.size <= anchor_size
        and (chosen is None or h.size in chosen or h.size == anchor_size)
    ]
    if fresh_needed:
        checkpoint = Checkpoint(origin, last_seq, index.root(last_seq))
        note = sign_checkpoint(checkpoint, _signer(key, origin))
        heads.append(_Head(last_seq, checkpoint.root, note))
    anchor = heads[-1]
    evidence = LogEvidence(anchor_size=anchor_size)
    evidence.vkeys[key.public_key.keyid] = _signer(key, origin).verifier.vkey
    verifiers = _verifiers(keys, origin)
    writer = _Writer(out_dir, evidence.files)
    for head in heads:
        keyid = _signed_by(head, verifiers)
        evidence.signers.add(keyid)
        evidence.vkeys[keyid] = verifiers[keyid].vkey
        writer.write(checkpoint_file(head.size), head.note.encode("utf-8"))
    links = [(a.size, b.size) for a, b in pairwise(heads)]
    if exported is None and last_seq < anchor.size:
        links.append((last_seq, anchor.size))  # the records file's tree to the anchor
    for old, new in links:
        proof = ConsistencyProof(old, new, tuple(index.consistency_proof(old, new)))
        writer.write(consistency_file(old, new), render_consistency(proof))
    for seq in exported or ():
        hashes = tuple(index.inclusion_proof(seq - 1, anchor.size))
        included = InclusionProof(seq - 1, hashes, anchor.note)
        writer.write(inclusion_file(seq), render_inclusion(included))
    writer.sync()
    return evidence


def _signer(key: SigningKey, origin: str) -> NoteSigner:
    try:
        return NoteSigner(origin, key)
    except NoteError as exc:
        raise BundleError(f"origin {origin!r} cannot name a checkpoint key: {exc}") from exc


def _stored_heads(
    store: RecordStore,
    key: SigningKey,
    origin: str,
    last_seq: int,
) -> tuple[list[_Head], bool]:
    """The origin's stored checkpoints, after making sure one covers `last_seq` if the
    store lets us; True as well if none does and the export must sign one itself."""

    def listed() -> list[_Head]:
        return [_Head(c.size, c.root, c.note) for c in store.checkpoints(origin)]

    heads = listed()
    if any(h.size >= last_seq for h in heads):
        return heads, False
    try:
        issue_checkpoint(store, key, origin)
    except StoreError:
        return heads, True  # read-only (or busy) store: sign one for the export alone
    except CheckpointError as exc:
        raise BundleError(f"the log refused to sign a checkpoint for the export: {exc}") from exc
    heads = listed()
    if not any(h.size >= last_seq for h in heads):  # pragma: no cover - the head only grows
        raise BundleError(f"no checkpoint of {origin!r} covers seq {last_seq}")
    return heads, False


def _index(store: RecordStore, size: int, index: MerkleIndex) -> MerkleIndex:
    """`index` extended with the leaves of the records after it, up to seq `size`."""
    if index.size > size:
        raise BundleError(f"{index.size} records were indexed, a checkpoint covers {size}")
    if index.size < size:
        for record in store.records(index.size + 1, size):
            if record.seq != index.size + 1:
                raise BundleError(f"store returned seq {record.seq} where {index.size + 1} was due")
            index.append(leaf_hash(record.line))
    if index.size != size:
        raise BundleError(f"store ended at seq {index.size}, a checkpoint covers {size}")
    return index


def _verifiers(keys: Mapping[str, PublicKey], origin: str) -> dict[str, NoteVerifier]:
    return {keyid: NoteVerifier(origin, public) for keyid, public in keys.items()}


def _signed_by(head: _Head, verifiers: Mapping[str, NoteVerifier]) -> str:
    """The key id of a supplied key whose signature on the checkpoint verifies."""
    for keyid, verifier in verifiers.items():
        try:
            open_note(head.note, [verifier])
        except NoteError:
            continue
        return keyid
    raise BundleError(
        f"the log's checkpoint of size {head.size} is not signed by any supplied key "
        "(pass the public key it was signed with in record_keys)"
    )


class _Writer:
    """Creates bundle files (never overwriting) and makes them durable together.

    An export may hold thousands of small proof files. Writing them all first and syncing
    them afterwards lets the file system commit their metadata in few journal commits,
    where a sync after each write would pay for one commit per file. Durability is the
    same when `sync` returns, and the manifest, which makes the bundle complete, is
    written only after that.
    """

    def __init__(self, out_dir: Path, files: dict[str, str]) -> None:
        self._out_dir = out_dir
        self._files = files
        self._dirs: set[Path] = set()
        self._written: list[Path] = []

    def write(self, name: str, data: bytes) -> None:
        path = self._out_dir / name
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        self._written.append(path)
        self._files[name] = hashlib.sha256(data).hexdigest()

    def sync(self) -> None:
        for path in self._written:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for directory in sorted(self._dirs | {d.parent for d in self._dirs}):
            fsync_dir(directory)


def vkey_files(vkeys: Iterable[tuple[str, str]]) -> dict[str, bytes]:
    """keys/<keyid>.vkey file names and contents for the given (key id, vkey) pairs."""
    return {f"keys/{keyid}{VKEY_SUFFIX}": (vkey + "\n").encode("utf-8") for keyid, vkey in vkeys}
