"""RFC 6962 Merkle tree over the audit log's record lines: hashes, roots and proofs.

The log is a Merkle tree so that an auditor who holds one signed checkpoint (a tree size
and its root) can be convinced with a logarithmic number of hashes that a record is in
the log (inclusion proof) and that a later checkpoint extends an earlier one without
rewriting it (consistency proof). The hashing is exactly RFC 6962 section 2.1 (restated
in RFC 9162 section 2.1), so that tools nobody here wrote (transparency-dev, C2SP
tlog-proof verifiers) compute the same roots and accept the same proofs.

The functions take the leaves themselves (record lines) and hash them; `MerkleTree` keeps
leaf hashes and serves the same roots and proofs as the log grows. Checking a proof is in
`audit.merkle_verify`, which an offline verifier can use without building a tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
"""Bytes in every leaf, node and root hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree is the hash of the empty string (RFC 6962 2.1)."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data).

    The 0x00 prefix (0x01 for interior nodes) separates the two domains, so that nobody
    can present two concatenated child hashes as a leaf of another tree (a second
    preimage on the tree structure).
    """
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(leaves), the Merkle Tree Hash of RFC 6962 section 2.1, computed from scratch.

    This is the definition, written out recursively on purpose: `MerkleTree` computes the
    same value incrementally, and the tests hold the two against each other.
    """
    return _mth([leaf_hash(data) for data in leaves], 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves) of RFC 9162 section 2.1.3.1: sibling hashes, leaf level first.

    The proof is for the tree of all `leaves`; `verify_inclusion` checks it against that
    tree's `root`.
    """
    return _inclusion([leaf_hash(data) for data in leaves], index, len(leaves))


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, leaves[:new_size]) of RFC 9162 section 2.1.4.1.

    It shows that the tree of the first `old_size` leaves is a prefix of the tree of the
    first `new_size`; equal sizes give the empty proof. A proof from the empty tree is
    refused, as `verify_consistency` refuses it: it would prove nothing.
    """
    _check_sizes(old_size, new_size, len(leaves))
    return _consistency([leaf_hash(data) for data in leaves[:new_size]], old_size, new_size)


class MerkleTree:
    """An append-only Merkle tree over leaf hashes: the audit log's view of its records.

    The current root comes from the compact range, the roots of the perfect subtrees that
    the leaves split into (one per set bit of the size, largest first): an append costs
    amortised one hash and the root O(log n) hashes, so a checkpoint at every session
    close does not rehash the whole log. Proofs and older roots are computed from the
    stored leaf hashes, which are all kept in memory for now.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._leaves: list[bytes] = []
        self._range: list[bytes] = []
        for leaf in leaf_hashes:
            self.append(leaf)

    def __len__(self) -> int:
        return len(self._leaves)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._leaves)

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash (`leaf_hash(line)`, not the line itself); return its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, got {len(leaf)}")
        index = len(self._leaves)
        self._leaves.append(leaf)
        # Each trailing one bit of the old size is a perfect subtree as tall as the node
        # being carried up: merge them, like carries in a binary increment.
        node, carry = leaf, index
        while carry & 1:
            node = node_hash(self._range.pop(), node)
            carry >>= 1
        self._range.append(node)
        return index

    def root(self) -> bytes:
        """The root of the tree of all leaves appended so far."""
        if not self._range:
            return EMPTY_ROOT
        # RFC 6962 puts the largest perfect subtree on the left at every split, so the
        # root folds the compact range from the right.
        node = self._range[-1]
        for left in reversed(self._range[:-1]):
            node = node_hash(left, node)
        return node

    def root_at(self, size: int) -> bytes:
        """The root the tree had when it held `size` leaves (for an earlier checkpoint)."""
        _check_sizes(size, size, len(self._leaves), allow_empty=True)
        return _mth(self._leaves, 0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The proof that leaf `index` is in the tree of `size` leaves (default: all)."""
        size = len(self._leaves) if size is None else size
        _check_sizes(size, size, len(self._leaves), allow_empty=True)
        return _inclusion(self._leaves, index, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The proof that the tree of `old_size` leaves is a prefix of `new_size` (all)."""
        new_size = len(self._leaves) if new_size is None else new_size
        _check_sizes(old_size, new_size, len(self._leaves))
        return _consistency(self._leaves, old_size, new_size)


def _check_sizes(old: int, new: int, available: int, *, allow_empty: bool = False) -> None:
    """Refuse sizes for which no proof exists, before recursing on them."""
    if not (0 if allow_empty else 1) <= old <= new <= available:
        low = "0" if allow_empty else "1"
        raise ValueError(f"need {low} <= {old} <= {new} <= {available} (the number of leaves)")


def _split(n: int) -> int:
    """The largest power of two below n (n >= 2), where RFC 6962 splits a tree.

    The left part is then a perfect subtree that never changes as the log grows, which is
    what makes consistency proofs short.
    """
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH of the leaf hashes hashes[lo:hi] (indices rather than slices: no copies)."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def _inclusion(hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _path(hashes, index, 0, size)


def _path(hashes: Sequence[bytes], m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]): the proof of the subtree below, then this level's sibling."""
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(hashes, m, lo, lo + k), _mth(hashes, lo + k, hi)]
    return [*_path(hashes, m - k, lo + k, hi), _mth(hashes, lo, lo + k)]


def _consistency(hashes: Sequence[bytes], old: int, new: int) -> list[bytes]:
    return [] if old == new else _subproof(hashes, old, 0, new, complete=True)


def _subproof(hashes: Sequence[bytes], m: int, lo: int, hi: int, *, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], complete) of RFC 9162 section 2.1.4.1.

    `complete` says whether D[lo:lo+m] is the whole old tree, whose root the verifier
    already has and so is left out of the proof.
    """
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(hashes, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(hashes, m, lo, lo + k, complete=complete), _mth(hashes, lo + k, hi)]
    return [*_subproof(hashes, m - k, lo + k, hi, complete=False), _mth(hashes, lo, lo + k)]
