"""The Merkle state a log needs to keep extending its tree: a compact range.

A tree of `size` leaves splits into one perfect subtree per set bit of `size` (largest
first); their roots, at most 64 hashes, determine the root and are all a log needs to
append more leaves. The log stores this range next to every checkpoint it signs, so the
next checkpoint is computed from the stored range and the leaves appended since, never
from the whole log: issuing a checkpoint costs O(log n) plus the new leaves.

`extension_proof` produces the RFC 6962 consistency proof from such a stored range to
the extended tree. Every hash of that proof is either a node of the old range or a
subtree of the new leaves (a property of how RFC 6962 splits trees), so the old leaves
are not needed; the log checks the proof against the checkpoint it signed before, which
is how it refuses to sign a history that does not extend the one it already published.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from audit.merkle import EMPTY_ROOT, HASH_SIZE, node_hash
from audit.merkle_index import consistency_path, subtree_from_hashes


class CompactRange:
    """The roots of the perfect subtrees covering leaves 0..size-1, largest first."""

    __slots__ = ("_nodes", "_size")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError(f"tree size {size} is negative")
        if len(nodes) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} range nodes, got {len(nodes)}"
            )
        if any(len(node) != HASH_SIZE for node in nodes):
            raise ValueError(f"range nodes are {HASH_SIZE}-byte hashes")
        self._size = size
        self._nodes = [bytes(node) for node in nodes]

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> CompactRange:
        """The range stored as its nodes' concatenation (`to_bytes`)."""
        if len(blob) != HASH_SIZE * size.bit_count():
            raise ValueError(
                f"a stored range of tree size {size} has {HASH_SIZE * size.bit_count()} bytes, "
                f"got {len(blob)}"
            )
        nodes = [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
        return cls(size, nodes)

    def to_bytes(self) -> bytes:
        return b"".join(self._nodes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._nodes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash: merge the subtrees it completes, like a binary carry."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, got {len(leaf)}")
        node, carry = bytes(leaf), self._size
        while carry & 1:
            node = node_hash(self._nodes.pop(), node)
            carry >>= 1
        self._nodes.append(node)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the covered leaves: the range folded from the right."""
        if not self._nodes:
            return EMPTY_ROOT
        node = self._nodes[-1]
        for left in reversed(self._nodes[:-1]):
            node = node_hash(left, node)
        return node

    def _spans(self) -> dict[tuple[int, int], bytes]:
        """Each node keyed by the leaf range (lo, hi) it is the root of."""
        spans: dict[tuple[int, int], bytes] = {}
        lo = 0
        nodes = iter(self._nodes)
        for bit in reversed(range(self._size.bit_length())):
            if self._size >> bit & 1:
                spans[(lo, lo + (1 << bit))] = next(nodes)
                lo += 1 << bit
        return spans


def extension_proof(old: CompactRange, new_leaves: Sequence[bytes]) -> list[bytes]:
    """The consistency proof from the tree `old` covers to that tree plus `new_leaves`."""
    m = old.size
    spans = old._spans()
    hashes = list(new_leaves)

    def subtree(lo: int, hi: int) -> bytes:
        if hi <= m:
            return spans[(lo, hi)]  # always a range node: see the module docstring
        if lo >= m:
            return subtree_from_hashes(hashes, lo - m, hi - m)
        raise AssertionError(f"subtree {lo}..{hi} straddles the old tree's end {m}")

    return consistency_path(subtree, m, m + len(hashes))
