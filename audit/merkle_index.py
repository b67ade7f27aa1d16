"""RFC 6962 proofs over many leaves, fast enough to prove every record of an export.

`audit.merkle.MerkleTree` recomputes every subtree a proof needs from the leaves, which
costs O(n) hashes per proof: fine for one proof, far too slow for an export that proves
each of its records or links hundreds of checkpoints. `MerkleIndex` keeps every perfect
subtree's root instead (one flat buffer per level, about 64 bytes per leaf in all), so a
proof needs O(log n) lookups and only the subtrees on a tree's right border are hashed.

The proof shapes (RFC 9162 sections 2.1.3.1 and 2.1.4.1) are written once here over a
callable that returns MTH(D[lo:hi]); `audit.compact_range` uses them with another source
of subtree roots. The tests hold both against `audit.merkle`, the plain definition.
"""

from __future__ import annotations

from collections.abc import Callable

from audit.merkle import EMPTY_ROOT, HASH_SIZE, node_hash

SubtreeRoot = Callable[[int, int], bytes]
"""MTH of the leaves with index lo <= i < hi."""


def split_point(n: int) -> int:
    """The largest power of two below `n` (n >= 2): where RFC 6962 splits a tree of n."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_path(subtree: SubtreeRoot, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]): sibling hashes from the leaf's level up to the root's child."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo += k
    path.reverse()  # collected root-first; the proof starts at the leaf
    return path


def consistency_path(subtree: SubtreeRoot, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]): shows the old tree is a prefix of the new one."""
    if not 1 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == new_size:
        return []
    path: list[bytes] = []
    lo, hi, complete = 0, new_size, True
    # SUBPROOF walked iteratively: each level adds the sibling not descended into.
    while True:
        n, m = hi - lo, old_size - lo
        if m == n:
            if not complete:
                path.append(subtree(lo, hi))
            break
        k = split_point(n)
        if m <= k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, complete = lo + k, False
    path.reverse()  # SUBPROOF lists the deepest hash first
    return path


def subtree_from_hashes(hashes: list[bytes], lo: int, hi: int) -> bytes:
    """MTH of hashes[lo:hi] straight from the definition (for short runs of new leaves)."""
    if hi - lo == 0:
        return EMPTY_ROOT
    if hi - lo == 1:
        return hashes[lo]
    k = split_point(hi - lo)
    return node_hash(
        subtree_from_hashes(hashes, lo, lo + k), subtree_from_hashes(hashes, lo + k, hi)
    )


class MerkleIndex:
    """Leaf hashes plus the root of every perfect, aligned subtree, appended as they come."""

    def __init__(self) -> None:
        # _levels[h] holds the roots of the aligned subtrees of 2**h leaves, concatenated.
        self._levels: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash; complete every perfect subtree it closes."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, got {len(leaf)}")
        node = bytes(leaf)
        height = 0
        while True:
            level = self._levels[height]
            level += node
            count = len(level) // HASH_SIZE
            if count % 2:
                return
            node = node_hash(bytes(level[-2 * HASH_SIZE : -HASH_SIZE]), bytes(level[-HASH_SIZE:]))
            height += 1
            if height == len(self._levels):
                self._levels.append(bytearray())

    def leaf(self, index: int) -> bytes:
        """The hash of leaf `index`."""
        return self._node(0, index)

    def _node(self, height: int, position: int) -> bytes:
        start = position * HASH_SIZE
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for 0 <= lo <= hi <= size."""
        if not 0 <= lo <= hi <= self.size:
            raise ValueError(f"leaf range {lo}..{hi} is outside a tree of size {self.size}")
        width = hi - lo
        if width == 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and lo % width == 0:
            return self._node(width.bit_length() - 1, lo // width)
        k = split_point(width)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first `size` leaves (default: all)."""
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The proof that leaf `index` is in the tree of the first `size` leaves."""
        self._check_size(size)
        return inclusion_path(self.subtree, index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The proof that the tree of `old_size` leaves is a prefix of that of `new_size`."""
        self._check_size(new_size)
        return consistency_path(self.subtree, old_size, new_size)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} exceeds the {self.size} leaves indexed")
