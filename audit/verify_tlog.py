"""Offline checks of a bundle's transparency-log evidence: checkpoints and Merkle proofs.

Record signatures and hash chains show that each record is genuine and that a session
was not cut; they cannot show that the log as a whole was not rewritten and re-signed by
whoever holds the key. The log's checkpoints can, for anyone who kept an earlier one: the
verifier ties the bundle's records to the checkpoints it carries, and those to the
auditor's own trusted checkpoint if one is given.

- Whole-log bundles (starting at seq 1, no session selection): line i of records.jsonl is
  leaf i (the line without its newline). The tree is recomputed while the lines are read
  (a compact range: O(log n) memory, one SHA-256 per line plus about one node hash), and
  every bundled checkpoint must sign exactly the root of the first `size` lines; one
  larger than the records file needs a consistency proof from the records' tree.
- Other bundles (chosen sessions, or a range not starting at seq 1) cannot rebuild the
  tree, so every record must come with a tlog-proof that its line is leaf seq - 1 of a
  signed checkpoint.
- Consistency proofs between the bundled checkpoints are checked in both cases, and every
  checkpoint must be a signed note by a bundle key (``keys/<keyid>.vkey``, whose key must
  be the bundle key of that id, named after the bundle's origin).
- With a trusted checkpoint: the same size with another root is a fork, a bundle that
  ends before it a rollback, and a root at its size that the bundle's records do not
  reproduce a rewritten history.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Final

from audit.bundle_tlog import (
    CHECKPOINTS_DIR,
    CONSISTENCY_DIR,
    VKEY_SUFFIX,
    checkpoint_file,
    consistency_file,
    inclusion_file,
)
from audit.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from audit.keys import PublicKey
from audit.manifest import KEYS_DIR, RECORDS_PATH, Manifest
from audit.merkle import EMPTY_ROOT, HASH_SIZE
from audit.merkle_blocks import AlignedRange, Node
from audit.merkle_verify import ProofError, verify_consistency, verify_inclusion
from audit.note import NoteError, NoteVerifier
from audit.problems import Code, ProblemList
from audit.proof_files import parse_consistency, parse_inclusion
from audit.verify_facts import LineOutcome, RecordFacts

_CHECKPOINT_NAME_RE: Final = re.compile(r"(0|[1-9][0-9]{0,19})\.note")
_CONSISTENCY_NAME_RE: Final = re.compile(r"([1-9][0-9]{0,19})-([1-9][0-9]{0,19})\.proof")
TRUSTED_NAME: Final = "the trusted checkpoint"


@dataclass(frozen=True, slots=True)
class _Proof:
    name: str
    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]


class TlogChecker:
    """Checks one bundle's checkpoints and proofs; fed every line as it is read."""

    def __init__(
        self,
        root: Path,
        problems: ProblemList,
        keys: Mapping[str, PublicKey],
        manifest: Manifest,
        trusted_checkpoint: bytes | None,
    ) -> None:
        self._root = root
        self._problems = problems
        self._keys = keys
        self._origin = manifest.origin
        self._whole = manifest.selection is None and manifest.range.first_seq == 1
        self._declared = manifest.range.last_seq
        self._trusted_raw = trusted_checkpoint
        self._verifiers: list[NoteVerifier] = []
        self._checkpoints: dict[int, Checkpoint] = {}
        self._proofs: list[_Proof] = []
        self._trusted: Checkpoint | None = None
        # whole-log bundles: the tree of the lines read so far, and roots at wanted sizes
        self._tree = AlignedRange()
        self._wanted: set[int] = set()
        self._roots: dict[int, bytes] = {0: EMPTY_ROOT}
        # other bundles: leaf hashes waiting for their line's outcome, verified notes
        self._pending: deque[bytes] = deque()
        self._notes: dict[str, Checkpoint | None] = {}

    # -- before the records --------------------------------------------------------------

    def load(self) -> None:
        self._verifiers = self._load_vkeys()
        self._load_checkpoints()
        self._load_consistency_proofs()
        self._trusted = self._load_trusted()
        if self._whole:
            self._wanted = set(self._checkpoints) | {p.old_size for p in self._proofs}
            self._wanted |= {p.new_size for p in self._proofs}
            if self._trusted is not None:
                self._wanted.add(self._trusted.size)

    def _load_vkeys(self) -> list[NoteVerifier]:
        verifiers = []
        directory = self._root / KEYS_DIR
        entries = sorted(directory.iterdir()) if directory.is_dir() else []
        for entry in entries:
            if not entry.name.endswith(VKEY_SUFFIX) or not entry.is_file() or entry.is_symlink():
                continue
            name = f"{KEYS_DIR}/{entry.name}"
            keyid = entry.name.removesuffix(VKEY_SUFFIX)
            try:
                text = entry.read_bytes().decode("utf-8")
                if not text.endswith("\n") or "\n" in text[:-1]:
                    raise NoteError("verifier-key", "a verifier key file is one line")
                verifier = NoteVerifier.from_vkey(text[:-1])
            except (OSError, UnicodeDecodeError, NoteError) as exc:
                self._problems.add(Code.KEY_MALFORMED, f"{name}: not a usable verifier key: {exc}")
                continue
            public = self._keys.get(keyid)
            if verifier.public_key.keyid != keyid:
                self._problems.add(
                    Code.KEY_ID_MISMATCH,
                    f"{name} holds key {verifier.public_key.keyid}, not key {keyid}",
                )
            elif verifier.name != self._origin:
                self._problems.add(
                    Code.KEY_MALFORMED,
                    f"{name} is named {verifier.name!r}, not the bundle's origin {self._origin!r}",
                )
            elif public is not None:  # else: untrusted or absent, reported with keys/*.json
                verifiers.append(verifier)
        return verifiers

    def _load_checkpoints(self) -> None:
        directory = self._root / CHECKPOINTS_DIR
        entries = sorted(directory.iterdir()) if directory.is_dir() else []
        for entry in entries:
            name = f"{CHECKPOINTS_DIR}/{entry.name}"
            match = _CHECKPOINT_NAME_RE.fullmatch(entry.name)
            if match is None or not entry.is_file() or entry.is_symlink():
                self._problems.add(Code.CHECKPOINT_MALFORMED, f"{name} is not a <size>.note file")
                continue
            checkpoint = self._open(entry.read_bytes(), name)
            if checkpoint is None:
                continue
            if checkpoint.size != int(match.group(1)):
                self._problems.add(
                    Code.CHECKPOINT_MALFORMED,
                    f"{name} holds a checkpoint of size {checkpoint.size}",
                )
                continue
            self._checkpoints[checkpoint.size] = checkpoint
        if not self._checkpoints:
            self._problems.add(
                Code.CHECKPOINT_MISSING,
                f"the bundle has no valid checkpoint in {CHECKPOINTS_DIR}/: nothing ties its "
                "records to the log",
            )

    def _open(self, note: bytes | str, name: str) -> Checkpoint | None:
        """The checkpoint in a signed note, or None after reporting why it is unusable."""
        try:
            return open_checkpoint(note, self._verifiers, self._origin)
        except NoteError as exc:
            code = (
                Code.CHECKPOINT_MALFORMED
                if exc.reason == "malformed"
                else (Code.CHECKPOINT_SIGNATURE)
            )
            self._problems.add(code, f"{name}: {exc}")
        except CheckpointError as exc:
            self._problems.add(Code.CHECKPOINT_MALFORMED, f"{name}: {exc}")
        return None

    def _load_consistency_proofs(self) -> None:
        directory = self._root / CONSISTENCY_DIR
        entries = sorted(directory.iterdir()) if directory.is_dir() else []
        for entry in entries:
            name = f"{CONSISTENCY_DIR}/{entry.name}"
            match = _CONSISTENCY_NAME_RE.fullmatch(entry.name)
            try:
                if match is None or not entry.is_file() or entry.is_symlink():
                    raise ValueError("not a <old>-<new>.proof file")
                proof = parse_consistency(entry.read_bytes())
                if (proof.old_size, proof.new_size) != (int(match[1]), int(match[2])):
                    raise ValueError(
                        f"it proves size {proof.old_size} to {proof.new_size}, not what its "
                        "name says"
                    )
            except (OSError, ValueError) as exc:
                self._problems.add(Code.PROOF_INVALID, f"{name}: {exc}")
                continue
            self._proofs.append(_Proof(name, proof.old_size, proof.new_size, proof.hashes))

    def _load_trusted(self) -> Checkpoint | None:
        if self._trusted_raw is None:
            return None
        try:
            return open_checkpoint(self._trusted_raw, self._verifiers, self._origin)
        except (NoteError, CheckpointError) as exc:
            self._problems.add(
                Code.TRUSTED_CHECKPOINT_INVALID,
                f"{TRUSTED_NAME} cannot be used with this bundle: {exc} (a checkpoint of "
                f"another log, or the bundle's keys are not the ones that signed it)",
            )
            return None

    # -- the records, line by line -------------------------------------------------------

    @property
    def whole(self) -> bool:
        """Whether the records are the whole log, so that its tree is rebuilt (`subtrees`);
        else each line's leaf hash is needed with its outcome (`leaves`)."""
        return self._whole

    @property
    def wanted(self) -> tuple[int, ...]:
        """The tree sizes whose roots the checks compare, in order."""
        return tuple(sorted(self._wanted))

    def leaves(self, hashes: bytes) -> None:
        """The leaf hashes of the next lines of records.jsonl (32 bytes each, in order)."""
        for start in range(0, len(hashes), HASH_SIZE):
            leaf = hashes[start : start + HASH_SIZE]
            if not self._whole:
                self._pending.append(leaf)
                continue
            self._tree.add(((0, leaf),))
            if self._tree.size in self._wanted:
                self._roots[self._tree.size] = self._tree.root()

    def subtrees(self, nodes: tuple[Node, ...], prefixes: Mapping[int, tuple[Node, ...]]) -> None:
        """The next lines of a whole log as their aligned subtrees (`audit.merkle_blocks`),
        with, for each wanted size among them, the subtrees of the lines up to it."""
        if not self._whole:
            raise ValueError("only a whole log's tree is rebuilt from subtrees")
        for size, upto in prefixes.items():
            if size in self._wanted:
                tree = self._tree.copy()
                tree.add(upto)
                self._roots[size] = tree.root()
        self._tree.add(nodes)

    def outcome(self, outcome: LineOutcome, line: int) -> None:
        """The checked outcome of the next line (in order), for inclusion proofs."""
        if self._whole:
            return
        leaf = self._pending.popleft()
        if isinstance(outcome, RecordFacts):
            self._check_inclusion(outcome.seq, leaf, line)

    def _check_inclusion(self, seq: int, leaf: bytes, line: int) -> None:
        name = inclusion_file(seq)
        where = f"line {line} (seq {seq})"
        try:
            proof = parse_inclusion((self._root / name).read_bytes())
        except FileNotFoundError:
            self._problems.add(
                Code.PROOF_MISSING, f"{where}: {name} is missing", seq=seq, line=line
            )
            return
        except (OSError, ValueError) as exc:
            self._problems.add(Code.PROOF_INVALID, f"{name}: {exc}", seq=seq, line=line)
            return
        if proof.checkpoint not in self._notes:
            checkpoint = self._open(proof.checkpoint, name)
            self._notes[proof.checkpoint] = checkpoint
            if checkpoint is not None:
                self._same_as_bundled(checkpoint, name)
        checkpoint = self._notes[proof.checkpoint]
        if checkpoint is None:
            return
        if proof.index != seq - 1:
            self._problems.add(
                Code.PROOF_INVALID,
                f"{name} proves leaf {proof.index}, but {where} is leaf {seq - 1}",
                seq=seq,
                line=line,
            )
            return
        try:
            verify_inclusion(leaf, proof.index, checkpoint.size, proof.hashes, checkpoint.root)
        except ProofError as exc:
            self._problems.add(
                Code.PROOF_INVALID,
                f"{where} is not leaf {seq - 1} of the log's checkpoint of size "
                f"{checkpoint.size} ({name}): {exc}",
                seq=seq,
                line=line,
            )

    def _same_as_bundled(self, checkpoint: Checkpoint, name: str) -> None:
        bundled = self._checkpoints.get(checkpoint.size)
        if bundled is not None and bundled.root != checkpoint.root:
            self._problems.add(
                Code.CHECKPOINT_FORK,
                f"{name} and {checkpoint_file(checkpoint.size)} sign two different roots for "
                f"tree size {checkpoint.size}",
            )

    # -- after the records ---------------------------------------------------------------

    def finish(self, lines: int) -> None:
        """Compare roots, check consistency proofs and the trusted checkpoint."""
        if self._whole:
            self._check_against_records(lines)
        self._check_proofs(lines)
        if self._trusted is not None:
            self._check_trusted(lines)

    def _root_at(self, size: int) -> bytes | None:
        """The root the bundle commits to at `size`: from its records or its checkpoints."""
        if size in self._roots:
            return self._roots[size]
        checkpoint = self._checkpoints.get(size)
        return None if checkpoint is None else checkpoint.root

    def _check_against_records(self, lines: int) -> None:
        if self._checkpoints and max(self._checkpoints) < max(lines, self._declared):
            covered = max(self._checkpoints)
            self._problems.add(
                Code.CHECKPOINT_MISMATCH,
                f"{RECORDS_PATH} has {lines} lines (the manifest says {self._declared}) but "
                f"the bundle's checkpoints cover only {covered}: records after line {covered} "
                "are not in the log's signed tree",
            )
        for size, checkpoint in sorted(self._checkpoints.items()):
            if size > lines:
                continue  # tied to the records by a consistency proof, checked below
            computed = self._roots[size]
            if computed != checkpoint.root:
                self._problems.add(
                    Code.CHECKPOINT_MISMATCH,
                    f"{checkpoint_file(size)} signs a root that lines 1..{size} of "
                    f"{RECORDS_PATH} do not give: records before seq {size + 1} were altered, "
                    "dropped, added or reordered",
                )

    def _check_proofs(self, lines: int) -> None:
        sizes = sorted(self._checkpoints)
        required = set(pairwise(sizes))
        beyond = False  # a checkpoint covers more records than the file holds
        if self._whole and sizes and sizes[-1] > lines:
            if self._declared < sizes[-1]:
                required.add((self._declared, sizes[-1]))
            if self._declared > lines:
                beyond = True
                self._problems.add(
                    Code.CHECKPOINT_MISMATCH,
                    f"{checkpoint_file(sizes[-1])} covers {sizes[-1]} records; "
                    f"{RECORDS_PATH} has only {lines} of the {self._declared} it should hold",
                )
        present = {(p.old_size, p.new_size) for p in self._proofs}
        for old, new in sorted(required - present):
            if self._root_at(old) is not None and self._root_at(new) is not None:
                self._problems.add(
                    Code.PROOF_MISSING,
                    f"{consistency_file(old, new)} is missing: nothing shows that the "
                    f"checkpoint of size {new} extends the tree of size {old}",
                )
        for proof in self._proofs:
            old_root, new_root = self._root_at(proof.old_size), self._root_at(proof.new_size)
            if old_root is None or new_root is None:
                if beyond:
                    continue  # the records it would start from are missing: reported above
                self._problems.add(
                    Code.PROOF_INVALID,
                    f"{proof.name} links tree sizes {proof.old_size} and {proof.new_size}, "
                    "which the bundle's checkpoints and records do not both give a root for",
                )
                continue
            try:
                verify_consistency(proof.old_size, proof.new_size, old_root, new_root, proof.hashes)
            except ProofError as exc:
                self._problems.add(
                    Code.PROOF_INVALID,
                    f"{proof.name}: the tree of size {proof.new_size} does not extend the tree "
                    f"of size {proof.old_size}: {exc}",
                )

    def _check_trusted(self, lines: int) -> None:
        trusted = self._trusted
        assert trusted is not None
        size = trusted.size
        heads = sorted(self._checkpoints)
        newest = max([*heads, lines if self._whole else 0])
        if size > newest:
            self._problems.add(
                Code.CHECKPOINT_ROLLBACK,
                f"rollback: {TRUSTED_NAME} covers {size} records, the bundle's log only "
                f"{newest}: records the auditor already saw are gone",
            )
            return
        bundled = self._checkpoints.get(size)
        if bundled is not None and bundled.root != trusted.root:
            self._problems.add(
                Code.CHECKPOINT_FORK,
                f"fork: {checkpoint_file(size)} and {TRUSTED_NAME} sign different roots for "
                f"tree size {size}",
            )
            return
        if self._whole and size <= lines:
            if self._roots[size] != trusted.root:
                code = Code.CHECKPOINT_FORK if size == lines else Code.CHECKPOINT_INCONSISTENT
                self._problems.add(
                    code,
                    f"{'fork' if size == lines else 'rewritten history'}: lines 1..{size} of "
                    f"{RECORDS_PATH} do not give the root {TRUSTED_NAME} signed for size "
                    f"{size}: the log was changed after the auditor's checkpoint",
                )
            return
        if bundled is None:
            self._problems.add(
                Code.PROOF_MISSING,
                f"the bundle holds no checkpoint of size {size} and no proof from "
                f"{TRUSTED_NAME} to its own checkpoints; export the whole log to check it",
            )
