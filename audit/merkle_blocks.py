"""RFC 6962 tree roots from blocks of leaves hashed in different processes.

The verifier rebuilds a whole log's Merkle tree from records.jsonl and needs its root at a
few sizes (the checkpoints'). Appending the leaves one by one in one process costs a
Python-level node hash and some bookkeeping per record in the process that also runs the
sequential checks. Instead, each worker reduces its block of lines (leaves ``first ..
first + n - 1``) to the *aligned* perfect subtrees covering it: starting at ``first``, the
largest subtree of ``2**h`` leaves whose start is a multiple of ``2**h`` and which fits,
and so on. Every such subtree is a node of the one RFC 6962 tree over the whole log, so
`AlignedRange` only merges about log2(n) nodes per block, in file order, like a binary
carry, and folds them into the root exactly as a compact range does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final

from audit.merkle import EMPTY_ROOT, node_hash

Node = tuple[int, bytes]  # (height, hash): the root of 2**height consecutive leaves

_NODE_PREFIX: Final = b"\x01"


def aligned_nodes(first: int, leaves: Sequence[bytes]) -> list[Node]:
    """The aligned perfect subtrees covering leaves ``first .. first + len(leaves) - 1``
    (`leaves` holds their leaf hashes), left to right."""
    nodes: list[Node] = []
    position, end = first, first + len(leaves)
    while position < end:
        height = (position & -position).bit_length() - 1 if position else 63
        while position + (1 << height) > end:
            height -= 1
        start = position - first
        nodes.append((height, _perfect_root(leaves[start : start + (1 << height)])))
        position += 1 << height
    return nodes


def _perfect_root(level: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree (a power-of-two count of leaf hashes), level by level."""
    sha256 = hashlib.sha256
    prefix = _NODE_PREFIX
    current = list(level)
    while len(current) > 1:
        current = [
            sha256(prefix + current[i] + current[i + 1]).digest() for i in range(0, len(current), 2)
        ]
    return current[0]


class AlignedRange:
    """The tree of the leaves seen so far, as a compact range built from aligned nodes."""

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._nodes: list[Node] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def add(self, nodes: Iterable[Node]) -> None:
        """Append aligned nodes, in order, each starting where the tree ends."""
        for height, node in nodes:
            if self._size & ((1 << height) - 1):
                raise ValueError(f"a subtree of height {height} cannot start at {self._size}")
            self._size += 1 << height
            stack = self._nodes
            while stack and stack[-1][0] == height:  # the carry: merge equal subtrees
                node = node_hash(stack.pop()[1], node)
                height += 1
            stack.append((height, node))

    def root(self) -> bytes:
        """MTH of the leaves seen so far: the range folded from the right."""
        if not self._nodes:
            return EMPTY_ROOT
        node = self._nodes[-1][1]
        for _, left in reversed(self._nodes[:-1]):
            node = node_hash(left, node)
        return node

    def copy(self) -> AlignedRange:
        other = AlignedRange()
        other._nodes = list(self._nodes)
        other._size = self._size
        return other
