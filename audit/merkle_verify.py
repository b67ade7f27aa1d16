"""Checking RFC 6962 inclusion and consistency proofs, as an offline auditor does.

Both checks follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step: they walk the
proof once, steering with the bits of the leaf index and the tree size, and never need
the leaves. A failure raises `ProofError` whose `reason` tells the kind of failure, so
that a verifier can map it to its own problem codes, and whose message says what exactly
did not fit. Nothing is returned on success: a caller cannot forget to look at a result.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.errors import AuditError
from audit.merkle import HASH_SIZE, node_hash


class ProofError(AuditError, ValueError):
    """A Merkle inclusion or consistency proof does not verify.

    `reason` is one of ``size`` (index or tree sizes for which no proof can exist),
    ``hash-length`` (a hash that is not 32 bytes), ``proof-length`` (too many or too few
    proof hashes) and ``root-mismatch`` (the proof leads to another root: a different
    leaf, a different tree, or a forked log).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf hash `leaf` is leaf number `index` of the tree (`size`, `root`).

    `leaf` is the leaf *hash*, `leaf_hash(line)`, as proofs are exchanged (C2SP
    tlog-proof): the verifier need not hold the record to check where it sits.

    The proof binds the root, not the size: another size whose path has the same shape
    (leaf 0 of 7 leaves or of 8) checks the very same hashes. Take `size` and `root`
    from one signed checkpoint.
    """
    if not 0 <= index < size:
        raise ProofError("size", f"leaf index {index} is outside a tree of size {size}")
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    _check_proof_hashes(proof)
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise _inclusion_length_error(index, size, len(proof))
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            # On the right border the path skips levels where the node has no sibling.
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _inclusion_length_error(index, size, len(proof))
    if node != root:
        raise ProofError(
            "root-mismatch",
            f"the proof for leaf {index} leads to root {node.hex()}, "
            f"not to the tree's root {root.hex()}",
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`).

    This is what catches a rewritten history: a log that changed any of its first
    `old_size` leaves cannot produce this proof. Equal sizes need an empty proof and
    equal roots (two roots for one size are a fork). A proof from the empty tree is
    refused, as transparency-dev's verifier does: every tree extends the empty one, so
    an auditor whose trusted checkpoint has size 0 has nothing to check. As with
    inclusion, take each size from the checkpoint that signs its root.
    """
    if old_size > new_size:
        raise ProofError("size", f"the old size {old_size} exceeds the new size {new_size}")
    if old_size <= 0:
        raise ProofError("size", f"no consistency proof from a tree of size {old_size}")
    if old_size == new_size:
        if proof:
            raise ProofError(
                "proof-length", f"equal sizes need an empty proof, got {len(proof)} hashes"
            )
        if old_root != new_root:
            raise ProofError("root-mismatch", f"two different roots for tree size {old_size}")
        return
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof_hashes(proof)
    if not proof:
        raise _consistency_length_error(old_size, new_size, 0)
    # A power-of-two old tree is a perfect subtree of the new one: its root is the start.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old_node = new_node = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise _consistency_length_error(old_size, new_size, len(proof))
        if fn & 1 or fn == sn:
            old_node = node_hash(sibling, old_node)
            new_node = node_hash(sibling, new_node)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            # Hashes right of the old tree's border belong to the new tree only.
            new_node = node_hash(new_node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _consistency_length_error(old_size, new_size, len(proof))
    if old_node != old_root:
        raise ProofError(
            "root-mismatch",
            f"the proof leads to old root {old_node.hex()}, not {old_root.hex()} "
            f"(tree size {old_size})",
        )
    if new_node != new_root:
        raise ProofError(
            "root-mismatch",
            f"the proof leads to new root {new_node.hex()}, not {new_root.hex()} "
            f"(tree size {new_size})",
        )


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError("hash-length", f"the {what} has {len(value)} bytes, not {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        _check_hash(f"proof hash at position {position}", value)


def _inclusion_length(index: int, size: int) -> int:
    """Hashes in an inclusion proof: below the level where the paths to `index` and to
    the last leaf meet, one per level; above it, one per left sibling on the border."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _inclusion_length_error(index: int, size: int, got: int) -> ProofError:
    want = _inclusion_length(index, size)
    return ProofError(
        "proof-length",
        f"the proof has {got} hashes; leaf {index} of a tree of size {size} needs {want}",
    )


def _consistency_length_error(old_size: int, new_size: int, got: int) -> ProofError:
    # The proof is the inclusion proof of the old tree's last leaf, less the levels below
    # the old tree's lowest perfect subtree, plus that subtree's root unless it is the
    # whole old tree (whose root the verifier already has).
    shift = (old_size & -old_size).bit_length() - 1
    want = _inclusion_length(old_size - 1, new_size) - shift
    want += 0 if old_size == 1 << shift else 1
    return ProofError(
        "proof-length",
        f"the proof has {got} hashes; from size {old_size} to size {new_size} needs {want}",
    )
