"""The text files a bundle's Merkle proofs travel in.

Inclusion proofs use the C2SP tlog-proof format (https://c2sp.org/tlog-proof) so that other
tlog tools can check a single record without Proctor::

    c2sp.org/tlog-proof@v1
    index <zero-based leaf index>
    <base64 hash, from the leaf's sibling up to the root's child; one per line>
    <empty line>
    <the checkpoint, a signed note, verbatim>

No format is standardised for consistency proofs, so ours follows the same conventions
(a versioned first line, canonical decimals, standard base64 hashes one per line)::

    proctor.local/tlog-consistency@v1
    old <tree size>
    new <tree size>
    <base64 hash, in RFC 9162 section 2.1.4 order; one per line>

The sizes are inside the file, not only in its name, because they are what the proof is
about; the checkpoints that sign the two roots are separate files of the bundle. Parsing
is strict (one spelling of every value), and every failure is a `ValueError` whose
message says which line is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from audit.b64 import b64decode_strict, b64encode
from audit.merkle import HASH_SIZE

TLOG_PROOF_HEADER: Final = "c2sp.org/tlog-proof@v1"
CONSISTENCY_HEADER: Final = "proctor.local/tlog-consistency@v1"
_DECIMAL_RE: Final = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """A tlog-proof: leaf `index`, its audit path, and the signed checkpoint it leads to."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None  # opaque, unauthenticated; we never write it


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """A proof that the tree of `old_size` leaves is a prefix of that of `new_size`."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]


def render_inclusion(proof: InclusionProof) -> bytes:
    lines = [TLOG_PROOF_HEADER]
    if proof.extra is not None:
        lines.append(f"extra {b64encode(proof.extra)}")
    lines.append(f"index {proof.index}")
    lines.extend(b64encode(h) for h in proof.hashes)
    return ("\n".join(lines) + "\n\n" + proof.checkpoint).encode("utf-8")


def parse_inclusion(data: bytes) -> InclusionProof:
    """Parse a tlog-proof file; the checkpoint note is returned unchecked."""
    text = _decode(data)
    head, sep, checkpoint = text.partition("\n\n")
    if not sep or not checkpoint:
        raise ValueError("no empty line followed by a checkpoint")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise ValueError(f"line 1 is {lines[0]!r}, not {TLOG_PROOF_HEADER!r}")
    position = 1
    extra = None
    if len(lines) > position and lines[position].startswith("extra "):
        extra = _base64(lines[position][len("extra ") :], position + 1)
        position += 1
    if len(lines) <= position:
        raise ValueError(f"line {position + 1}: the 'index' line is missing")
    index = _field(lines[position], "index", position + 1)
    hashes = _hashes(lines[position + 1 :], position + 2)
    return InclusionProof(index, hashes, checkpoint, extra)


def render_consistency(proof: ConsistencyProof) -> bytes:
    lines = [CONSISTENCY_HEADER, f"old {proof.old_size}", f"new {proof.new_size}"]
    lines.extend(b64encode(h) for h in proof.hashes)
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_consistency(data: bytes) -> ConsistencyProof:
    text = _decode(data)
    if not text.endswith("\n"):
        raise ValueError("the file does not end with a newline")
    lines = text[:-1].split("\n")
    if lines[0] != CONSISTENCY_HEADER:
        raise ValueError(f"line 1 is {lines[0]!r}, not {CONSISTENCY_HEADER!r}")
    if len(lines) < 3:
        raise ValueError("the 'old' and 'new' size lines are missing")
    old = _field(lines[1], "old", 2)
    new = _field(lines[2], "new", 3)
    return ConsistencyProof(old, new, _hashes(lines[3:], 4))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc.reason}") from exc


def _field(line: str, name: str, number: int) -> int:
    label, sep, value = line.partition(" ")
    if label != name or not sep or not _DECIMAL_RE.fullmatch(value):
        raise ValueError(f"line {number}: expected '{name} <decimal>', got {line!r}")
    return int(value)


def _hashes(lines: list[str], first_number: int) -> tuple[bytes, ...]:
    hashes = []
    for offset, line in enumerate(lines):
        value = _base64(line, first_number + offset)
        if len(value) != HASH_SIZE:
            raise ValueError(
                f"line {first_number + offset}: a hash of {len(value)} bytes, not {HASH_SIZE}"
            )
        hashes.append(value)
    return tuple(hashes)


def _base64(text: str, number: int) -> bytes:
    try:
        return b64decode_strict(text)
    except ValueError as exc:
        raise ValueError(f"line {number}: {exc}") from exc
