"""C2SP tlog checkpoints (https://c2sp.org/tlog-checkpoint): signed Merkle tree heads.

A checkpoint commits the log to its first `size` records through their RFC 6962 root.
An auditor who saved one checkpoint can later demand a consistency proof to a newer one
and so detect any rewritten history; this module parses and writes the checkpoint text
exactly as the spec fixes it (so that other tlog tools accept ours and we cannot be fed
two spellings of one tree head) and names the two ways a log can lie about its history:
a rollback (a smaller tree than one it already signed) and a fork (another root for a
size it already signed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from audit.b64 import b64decode_strict, b64encode
from audit.errors import AuditError
from audit.merkle import EMPTY_ROOT, HASH_SIZE
from audit.merkle_verify import ProofError, verify_consistency
from audit.note import NoteSigner, NoteVerifier, open_note, sign_note

_SIZE_RE: Final = re.compile(r"0|[1-9][0-9]*")
_MAX_SIZE: Final = 2**64 - 1
_BAD_LINE_RE: Final = re.compile(r"[\x00-\x1f]")


class CheckpointError(AuditError, ValueError):
    """A checkpoint is malformed, from another log, or inconsistent with an earlier one.

    `reason` is one of ``malformed`` (the text or a field breaks the format), ``origin``
    (the checkpoint is for another log), ``rollback`` (the new tree is smaller than one
    already seen), ``fork`` (two roots for one tree size) and ``inconsistent`` (the
    consistency proof does not connect the two trees); the note's own failures surface
    as `audit.note.NoteError`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _check_line(what: str, value: str) -> None:
    if not value:
        raise CheckpointError("malformed", f"{what} must not be empty")
    match = _BAD_LINE_RE.search(value)
    if match:
        raise CheckpointError(
            "malformed", f"{what} contains the control character U+{ord(match.group()):04X}"
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's `origin`, its `size` in leaves and the Merkle `root`.

    Construction validates every field, so a `Checkpoint` always has a body that
    `parse_checkpoint` reads back to an equal object. `extensions` are the optional
    opaque lines after the root, which the spec discourages; they are kept so that a
    checkpoint from another log round-trips. A size-0 checkpoint must carry the empty
    tree's root (RFC 6962 fixes it), so an "empty" tree cannot hide a commitment.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("malformed", f"tree size must be an int, got {self.size!r}")
        if not 0 <= self.size <= _MAX_SIZE:
            raise CheckpointError("malformed", f"tree size {self.size} is out of range")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError("malformed", f"root hash must be {HASH_SIZE} bytes")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise CheckpointError("malformed", "the root of the empty tree is SHA-256('')")
        if not isinstance(self.extensions, tuple):
            raise CheckpointError("malformed", "extensions must be a tuple of lines")
        for line in self.extensions:
            _check_line("extension line", line)

    def body(self) -> str:
        """The note text: origin, size, base64 root and extension lines, each ending in LF."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly; raise `CheckpointError` for anything else.

    Exactly one spelling of each tree head is accepted (decimal size without sign, spaces
    or leading zeros, canonical base64 of 32 bytes), so equal checkpoints have equal text.
    """
    if not text.endswith("\n"):
        raise CheckpointError("malformed", "checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("malformed", f"checkpoint has {len(lines)} lines, needs 3")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE_RE.fullmatch(size_text):
        raise CheckpointError("malformed", f"tree size {size_text!r} is not a canonical decimal")
    try:
        root = b64decode_strict(root_text)
    except ValueError as exc:
        raise CheckpointError("malformed", f"root hash: {exc}") from exc
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a signed note.

    The spec says the log's key name SHOULD be the origin; ours always is, so a signer
    under another name is refused rather than producing a checkpoint auditors would have
    to be told about separately.
    """
    if signer.name != checkpoint.origin:
        raise CheckpointError(
            "origin",
            f"signer {signer.name!r} is not the log's origin {checkpoint.origin!r}",
        )
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[NoteVerifier], origin: str
) -> Checkpoint:
    """Verify the signed note, parse its text, and check it is a checkpoint of `origin`.

    The origin check matters even with a trusted key: the same key may sign several logs,
    and a valid checkpoint of one must not be taken for a tree head of another.
    """
    text, _ = open_note(note, verifiers)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != origin:
        raise CheckpointError(
            "origin", f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}"
        )
    return checkpoint


def check_consistent(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise `CheckpointError` unless `new` extends `old` (same log, RFC 6962 proof).

    A log must never sign a checkpoint inconsistent with an earlier one: a smaller tree
    is a rollback and another root for the same size is a fork, and both mean the
    history an auditor saw has been rewritten. Every tree extends the empty one, so from
    size 0 only an empty proof is accepted.
    """
    if old.origin != new.origin:
        raise CheckpointError(
            "origin", f"checkpoints of different logs: {old.origin!r} and {new.origin!r}"
        )
    if new.size < old.size:
        raise CheckpointError(
            "rollback", f"rollback: tree size {new.size} is smaller than {old.size} seen before"
        )
    if new.size == old.size and new.root != old.root:
        raise CheckpointError(
            "fork", f"fork: two different roots for tree size {new.size} of {new.origin!r}"
        )
    if old.size == 0:
        if proof:
            raise CheckpointError("inconsistent", "a proof from the empty tree must be empty")
        return
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofError as exc:
        raise CheckpointError(
            "inconsistent",
            f"tree size {new.size} does not extend tree size {old.size}: {exc}",
        ) from exc
