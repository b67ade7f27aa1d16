"""The incremental Merkle state (compact range), the proof index and the proof file formats,
held against the plain RFC 6962 definitions in audit.merkle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.compact_range import CompactRange, extension_proof
from audit.merkle import consistency_proof, inclusion_proof, leaf_hash, root
from audit.merkle_index import MerkleIndex
from audit.merkle_verify import verify_consistency
from audit.proof_files import (
    ConsistencyProof,
    InclusionProof,
    parse_consistency,
    parse_inclusion,
    render_consistency,
    render_inclusion,
)

leaves_st = st.lists(st.binary(max_size=12), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(lines=leaves_st, data=st.data())
def test_index_roots_and_proofs_match_the_definition(
    lines: list[bytes], data: st.DataObject
) -> None:
    index = MerkleIndex()
    for line in lines:
        index.append(leaf_hash(line))
    size = data.draw(st.integers(1, len(lines)), label="size")
    leaf = data.draw(st.integers(0, size - 1), label="leaf")
    old = data.draw(st.integers(1, size), label="old")
    assert index.root(size) == root(lines[:size])
    assert index.inclusion_proof(leaf, size) == inclusion_proof(lines[:size], leaf)
    assert index.consistency_proof(old, size) == consistency_proof(lines, old, size)
    assert index.leaf(leaf) == leaf_hash(lines[leaf])


@settings(max_examples=150, deadline=None)
@given(lines=leaves_st, data=st.data())
def test_compact_range_extends_and_proves_like_the_definition(
    lines: list[bytes], data: st.DataObject
) -> None:
    hashes = [leaf_hash(line) for line in lines]
    old = data.draw(st.integers(1, len(lines)), label="old")
    state = CompactRange()
    state.extend(hashes[:old])
    assert state.root() == root(lines[:old])
    stored = CompactRange.from_bytes(state.size, state.to_bytes())
    assert stored.root() == state.root() and len(stored.nodes) == old.bit_count()
    proof = extension_proof(stored, hashes[old:])
    assert proof == consistency_proof(lines, old, len(lines))
    grown = stored.copy()
    grown.extend(hashes[old:])
    assert grown.root() == root(lines) and stored.size == old  # the copy, not the stored one
    if old < len(lines):
        verify_consistency(old, len(lines), stored.root(), grown.root(), proof)


def test_compact_range_refuses_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="3 range nodes"):
        CompactRange(7, [b"\0" * 32])
    with pytest.raises(ValueError, match="64 bytes"):
        CompactRange.from_bytes(3, b"\0" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")


def test_proof_files_round_trip() -> None:
    hashes = tuple(bytes([i]) * 32 for i in range(3))
    note = "o\n3\nAAAA\n\n\u2014 o sig\n"
    included = InclusionProof(5, hashes, note)
    text = render_inclusion(included)
    assert text.startswith(b"c2sp.org/tlog-proof@v1\nindex 5\n")
    assert text.endswith(b"\n\n" + note.encode())
    assert parse_inclusion(text) == included
    linked = ConsistencyProof(4, 9, hashes)
    assert parse_consistency(render_consistency(linked)) == linked
    assert parse_inclusion(render_inclusion(InclusionProof(0, (), note))).hashes == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"c2sp.org/tlog-proof@v2\nindex 1\n\nnote\n", "line 1"),
        (b"c2sp.org/tlog-proof@v1\nindex 01\n\nnote\n", "line 2"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nnote\n", "line 3: a hash of 3 bytes"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n", "no empty line"),
        (b"\xff\n\n", "not UTF-8"),
    ],
)
def test_malformed_inclusion_proofs_name_the_line(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_inclusion(data)


def test_malformed_consistency_proofs_name_the_line() -> None:
    good = render_consistency(ConsistencyProof(1, 2, (b"\1" * 32,)))
    with pytest.raises(ValueError, match="line 2"):
        parse_consistency(good.replace(b"old 1", b"old -1"))
    with pytest.raises(ValueError, match="line 4"):
        parse_consistency(good.replace(b"AQEB", b"!!!!", 1))
    with pytest.raises(ValueError, match="newline"):
        parse_consistency(good[:-1])
