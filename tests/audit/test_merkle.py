"""RFC 6962 Merkle tree: upstream vectors, known roots, and properties over random logs."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from audit import (
    EMPTY_ROOT,
    AuditError,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from tests.audit.helpers import VECTORS

MERKLE_DIR = VECTORS / "merkle_rfc6962"
needs_vectors = pytest.mark.skipif(
    not MERKLE_DIR.is_dir(), reason=f"RFC 6962 test vectors not found at {MERKLE_DIR}"
)

# The eight leaves of the Certificate Transparency reference tests, and the roots of their
# first 1..8 leaves. The upstream vectors' happy paths are proofs over these leaves.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

hypothesis_settings = settings(max_examples=150, deadline=None)


def _cases(kind: str, name: str = "*.json") -> list[Path]:
    return sorted((MERKLE_DIR / kind).rglob(name)) if MERKLE_DIR.is_dir() else []


def _case_id(path: Path) -> str:
    return str(path.relative_to(MERKLE_DIR))


def _load(path: Path) -> tuple[dict[str, Any], list[bytes]]:
    case: dict[str, Any] = json.loads(path.read_text())
    # Upstream writes an empty proof as null.
    return case, [base64.b64decode(p) for p in case["proof"] or []]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


# --- upstream vectors (transparency-dev/merkle testdata) ------------------------------


@needs_vectors
def test_vectors_are_present() -> None:
    # Guards the parametrised tests below against silently running zero or few cases.
    for kind in ("inclusion", "consistency"):
        cases = _cases(kind)
        assert len(cases) >= 90, kind
        assert len(_cases(kind, "happy-path.json")) == 5, kind
        assert sum(json.loads(p.read_text())["wantErr"] for p in cases) >= 85, kind


@needs_vectors
@pytest.mark.parametrize("path", _cases("inclusion"), ids=_case_id)
def test_inclusion_vector(path: Path) -> None:
    case, proof = _load(path)
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@needs_vectors
@pytest.mark.parametrize("path", _cases("consistency"), ids=_case_id)
def test_consistency_vector(path: Path) -> None:
    case, proof = _load(path)
    args = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


@needs_vectors
@pytest.mark.parametrize("path", _cases("inclusion", "happy-path.json"), ids=_case_id)
def test_generated_inclusion_proof_equals_vector(path: Path) -> None:
    case, proof = _load(path)
    index, size = case["leafIdx"], case["treeSize"]
    assert leaf_hash(CT_LEAVES[index]) == _b64(case["leafHash"])
    assert root(CT_LEAVES[:size]) == _b64(case["root"])
    assert inclusion_proof(CT_LEAVES[:size], index) == proof
    assert MerkleTree(map(leaf_hash, CT_LEAVES)).inclusion_proof(index, size) == proof


@needs_vectors
@pytest.mark.parametrize("path", _cases("consistency", "happy-path.json"), ids=_case_id)
def test_generated_consistency_proof_equals_vector(path: Path) -> None:
    case, proof = _load(path)
    old, new = case["size1"], case["size2"]
    assert root(CT_LEAVES[:old]) == _b64(case["root1"])
    assert root(CT_LEAVES[:new]) == _b64(case["root2"])
    assert consistency_proof(CT_LEAVES, old, new) == proof
    assert MerkleTree(map(leaf_hash, CT_LEAVES)).consistency_proof(old, new) == proof


# --- known answers ----------------------------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    # A leaf whose data is two child hashes must not hash like the node above them.
    assert leaf_hash(left + right) != node_hash(left, right)


def test_empty_tree_root_is_hash_of_empty_string() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


def test_reference_roots() -> None:
    tree = MerkleTree()
    for size, expected in enumerate(CT_ROOTS, start=1):
        tree.append(leaf_hash(CT_LEAVES[size - 1]))
        assert root(CT_LEAVES[:size]).hex() == expected
        assert tree.root().hex() == expected


# --- argument errors --------------------------------------------------------------------


def test_proof_error_is_an_audit_error_with_a_reason() -> None:
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(b"x"), 1, 1, [], leaf_hash(b"x"))
    assert isinstance(caught.value, AuditError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.reason == "size"
    assert "leaf index 1 is outside a tree of size 1" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "reason"),
    [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, "size"),  # from the empty tree: refused, proves nothing
        (0, 3, EMPTY_ROOT, root(CT_LEAVES[:3]), "size"),
        (3, 2, root(CT_LEAVES[:3]), root(CT_LEAVES[:2]), "size"),
        (3, 3, root(CT_LEAVES[:3]), root(CT_LEAVES[1:4]), "root-mismatch"),  # a fork
    ],
)
def test_consistency_edge_cases_are_refused(
    old: int, new: int, old_root: bytes, new_root: bytes, reason: str
) -> None:
    with pytest.raises(ProofError) as caught:
        verify_consistency(old, new, old_root, new_root, [])
    assert caught.value.reason == reason


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    same = root(CT_LEAVES[:5])
    verify_consistency(5, 5, same, same, [])
    with pytest.raises(ProofError, match="empty proof") as caught:
        verify_consistency(5, 5, same, same, [same])
    assert caught.value.reason == "proof-length"


def test_hashes_of_the_wrong_length_are_refused() -> None:
    leaves = CT_LEAVES[:5]
    proof = inclusion_proof(leaves, 2)
    with pytest.raises(ProofError, match="leaf hash has 31 bytes") as caught:
        verify_inclusion(leaf_hash(leaves[2])[:31], 2, 5, proof, root(leaves))
    assert caught.value.reason == "hash-length"
    with pytest.raises(ProofError, match="proof hash at position 1 has 33 bytes"):
        verify_inclusion(leaf_hash(leaves[2]), 2, 5, [proof[0], proof[1] + b"\0"], root(leaves))
    with pytest.raises(ProofError, match="new root has 0 bytes"):
        verify_consistency(2, 5, root(leaves[:2]), b"", consistency_proof(leaves, 2, 5))


def test_proofs_that_cannot_exist_are_not_generated() -> None:
    with pytest.raises(ValueError, match="outside a tree of size 3"):
        inclusion_proof(CT_LEAVES[:3], 3)
    with pytest.raises(ValueError, match="outside a tree of size 0"):
        inclusion_proof([], 0)
    with pytest.raises(ValueError):
        consistency_proof(CT_LEAVES, 0, 3)
    with pytest.raises(ValueError):
        consistency_proof(CT_LEAVES, 4, 3)
    with pytest.raises(ValueError):
        consistency_proof(CT_LEAVES, 3, 9)
    tree = MerkleTree(map(leaf_hash, CT_LEAVES[:4]))
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 5)
    with pytest.raises(ValueError):
        tree.consistency_proof(2, 5)
    with pytest.raises(ValueError):
        tree.root_at(5)
    with pytest.raises(ValueError, match="32 bytes, got 3"):
        tree.append(b"abc")
    assert tree.size == 4  # the refused append left the tree alone
    assert tree.root() == root(CT_LEAVES[:4])


# --- properties over random logs --------------------------------------------------------

# Unique leaves: with duplicates, another index can legitimately hold the same leaf.
leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40, unique=True)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _path_shape(index: int, size: int) -> tuple[str, ...]:
    """Which side each sibling of an inclusion proof is on, from RFC 6962's recursion."""
    if size == 1:
        return ()
    k = _split(size)
    if index < k:
        return (*_path_shape(index, k), "right")
    return (*_path_shape(index - k, size - k), "left")


def _consistency_shape(old: int, new: int, complete: bool = True) -> tuple[str, ...]:
    """The roles of a consistency proof's hashes, from RFC 9162's SUBPROOF recursion."""
    if old == new:
        return () if complete else ("seed",)
    k = _split(new)
    if old <= k:
        return (*_consistency_shape(old, k, complete), "right")
    return (*_consistency_shape(old - k, new - k, False), "left")


@st.composite
def leaves_and_index(draw: st.DrawFn, min_size: int = 1) -> tuple[list[bytes], int]:
    leaves = draw(leaf_lists.filter(lambda ls: len(ls) >= min_size))
    return leaves, draw(st.integers(0, len(leaves) - 1))


@st.composite
def leaves_and_sizes(draw: st.DrawFn, strict: bool = False) -> tuple[list[bytes], int, int]:
    leaves = draw(leaf_lists.filter(lambda ls: len(ls) >= 2 or not strict))
    new = draw(st.integers(2 if strict else 1, len(leaves)))
    old = draw(st.integers(1, new - 1 if strict else new))
    return leaves, old, new


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


@hypothesis_settings
@given(leaves=leaf_lists)
def test_every_inclusion_proof_verifies(leaves: list[bytes]) -> None:
    tree_root = root(leaves)
    for index, data in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        assert len(proof) <= (len(leaves) - 1).bit_length()
        verify_inclusion(leaf_hash(data), index, len(leaves), proof, tree_root)


@hypothesis_settings
@given(case=leaves_and_sizes())
def test_every_consistency_proof_verifies(case: tuple[list[bytes], int, int]) -> None:
    leaves, old, new = case
    proof = consistency_proof(leaves, old, new)
    assert len(proof) <= (new - 1).bit_length() + 1
    assert (proof == []) == (old == new)
    verify_consistency(old, new, root(leaves[:old]), root(leaves[:new]), proof)


@hypothesis_settings
@given(case=leaves_and_index(min_size=2), data=st.data())
def test_inclusion_proof_with_a_flipped_bit_is_rejected(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    proof = inclusion_proof(leaves, index)
    position = data.draw(st.integers(0, len(proof) - 1))
    proof[position] = _flip(proof[position], data.draw(st.integers(0, 255)))
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(leaves[index]), index, len(leaves), proof, root(leaves))
    assert caught.value.reason == "root-mismatch"


@hypothesis_settings
@given(case=leaves_and_index(), data=st.data())
def test_inclusion_proof_with_a_dropped_or_extra_hash_is_rejected(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    proof = inclusion_proof(leaves, index)
    needed = len(proof)
    if data.draw(st.booleans(), label="drop") and proof:
        del proof[data.draw(st.integers(0, len(proof) - 1))]
    else:
        extra = data.draw(st.sampled_from([*proof, leaf_hash(leaves[index]), b"\x07" * 32]))
        proof.insert(data.draw(st.integers(0, len(proof))), extra)
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(leaves[index]), index, len(leaves), proof, root(leaves))
    assert caught.value.reason == "proof-length"
    assert f"needs {needed}" in str(caught.value)


@hypothesis_settings
@given(case=leaves_and_index(min_size=3), data=st.data())
def test_inclusion_proof_reordered_is_rejected(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    proof = inclusion_proof(leaves, index)
    assume(len(proof) >= 2)
    i = data.draw(st.integers(0, len(proof) - 2))
    j = data.draw(st.integers(i + 1, len(proof) - 1))
    proof[i], proof[j] = proof[j], proof[i]
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(leaves[index]), index, len(leaves), proof, root(leaves))
    assert caught.value.reason == "root-mismatch"


@hypothesis_settings
@given(case=leaves_and_index(min_size=2), data=st.data())
def test_inclusion_proof_for_another_index_or_leaf_is_rejected(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: i != index))
    proof, tree_root = inclusion_proof(leaves, index), root(leaves)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(leaves[index]), other, len(leaves), proof, tree_root)
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(leaves[other]), index, len(leaves), proof, tree_root)
    assert caught.value.reason == "root-mismatch"


@hypothesis_settings
@given(case=leaves_and_index(), data=st.data())
def test_inclusion_proof_against_another_trees_root_is_rejected(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    leaves, index = case
    # A fork: the same size, one leaf (perhaps the proven one) replaced.
    forked = list(leaves)
    forked[data.draw(st.integers(0, len(leaves) - 1))] = data.draw(st.binary(min_size=13))
    proof = inclusion_proof(leaves, index)
    with pytest.raises(ProofError) as caught:
        verify_inclusion(leaf_hash(leaves[index]), index, len(leaves), proof, root(forked))
    assert caught.value.reason == "root-mismatch"


@hypothesis_settings
@given(case=leaves_and_index(), data=st.data())
def test_inclusion_wrong_size_is_rejected_unless_the_path_is_the_same(
    case: tuple[list[bytes], int], data: st.DataObject
) -> None:
    """A proof does not pin the tree size: a size whose path has the same shape (leaf 0
    of 7 or of 8 leaves) checks the same hashes. The size must come from the checkpoint
    that signs the root; every other wrong size is rejected."""
    leaves, index = case
    size = len(leaves)
    wrong = data.draw(st.integers(0, 2 * size + 2).filter(lambda s: s != size))
    proof, tree_root, leaf = inclusion_proof(leaves, index), root(leaves), leaf_hash(leaves[index])
    if wrong > index and _path_shape(index, wrong) == _path_shape(index, size):
        verify_inclusion(leaf, index, wrong, proof, tree_root)
    else:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, wrong, proof, tree_root)


@hypothesis_settings
@given(case=leaves_and_sizes(strict=True), data=st.data())
def test_consistency_proof_with_a_flipped_bit_or_reordered_is_rejected(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, old, new = case
    proof = consistency_proof(leaves, old, new)
    if len(proof) >= 2 and data.draw(st.booleans(), label="reorder"):
        i = data.draw(st.integers(0, len(proof) - 2))
        j = data.draw(st.integers(i + 1, len(proof) - 1))
        proof[i], proof[j] = proof[j], proof[i]
    else:
        position = data.draw(st.integers(0, len(proof) - 1))
        proof[position] = _flip(proof[position], data.draw(st.integers(0, 255)))
    with pytest.raises(ProofError) as caught:
        verify_consistency(old, new, root(leaves[:old]), root(leaves[:new]), proof)
    assert caught.value.reason == "root-mismatch"


@hypothesis_settings
@given(case=leaves_and_sizes(), data=st.data())
def test_consistency_proof_with_a_dropped_or_extra_hash_is_rejected(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, old, new = case
    proof = consistency_proof(leaves, old, new)
    needed = len(proof)
    if data.draw(st.booleans(), label="drop") and proof:
        del proof[data.draw(st.integers(0, len(proof) - 1))]
    else:
        extra = data.draw(st.sampled_from([*proof, root(leaves[:old]), b"\x07" * 32]))
        proof.insert(data.draw(st.integers(0, len(proof))), extra)
    with pytest.raises(ProofError) as caught:
        verify_consistency(old, new, root(leaves[:old]), root(leaves[:new]), proof)
    assert caught.value.reason == "proof-length"
    if old != new:
        assert f"needs {needed}" in str(caught.value)


@hypothesis_settings
@given(case=leaves_and_sizes(), data=st.data())
def test_consistency_with_a_rewritten_history_is_rejected(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, old, new = case
    proof = consistency_proof(leaves, old, new)
    old_root, new_root = root(leaves[:old]), root(leaves[:new])
    # The auditor saved old_root; the log since rewrote a leaf the old tree already had.
    forked = list(leaves)
    forked[data.draw(st.integers(0, old - 1))] = data.draw(st.binary(min_size=13))
    # (The forked log's own two roots are consistent with each other: not tested here.)
    for old_root_, new_root_ in [(root(forked[:old]), new_root), (old_root, root(forked[:new]))]:
        with pytest.raises(ProofError) as caught:
            verify_consistency(old, new, old_root_, new_root_, proof)
        assert caught.value.reason == "root-mismatch"
    # Nor does the forked log's own proof reconcile it with the saved old root.
    if old != new:
        with pytest.raises(ProofError):
            verify_consistency(
                old, new, old_root, root(forked[:new]), consistency_proof(forked, old, new)
            )
        with pytest.raises(ProofError):
            verify_consistency(old, new, new_root, old_root, proof)  # swapped roots


@hypothesis_settings
@given(case=leaves_and_sizes(), data=st.data())
def test_consistency_wrong_sizes_are_rejected_unless_the_proof_is_the_same(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    """As with inclusion, sizes whose proofs have the same shape check the same hashes;
    every other pair of wrong sizes is rejected."""
    leaves, old, new = case
    wrong_old = data.draw(st.integers(0, 2 * len(leaves) + 2))
    wrong_new = data.draw(st.integers(0, 2 * len(leaves) + 2))
    assume((wrong_old, wrong_new) != (old, new))
    proof, old_root, new_root = (
        consistency_proof(leaves, old, new),
        root(leaves[:old]),
        root(leaves[:new]),
    )
    same_shape = 0 < wrong_old <= wrong_new and _consistency_shape(
        wrong_old, wrong_new
    ) == _consistency_shape(old, new)
    if same_shape:
        verify_consistency(wrong_old, wrong_new, old_root, new_root, proof)
    else:
        with pytest.raises(ProofError):
            verify_consistency(wrong_old, wrong_new, old_root, new_root, proof)


@hypothesis_settings
@given(leaves=st.lists(st.binary(max_size=12), max_size=70), data=st.data())
def test_incremental_tree_matches_the_definition(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree()
    for size, entry in enumerate(leaves, start=1):
        assert tree.append(leaf_hash(entry)) == size - 1
        assert len(tree) == tree.size == size
        assert tree.root() == root(leaves[:size])
    rebuilt = MerkleTree(map(leaf_hash, leaves))
    assert rebuilt.root() == tree.root() == root(leaves)
    if leaves:
        new = data.draw(st.integers(1, len(leaves)))
        old = data.draw(st.integers(1, new))
        index = data.draw(st.integers(0, new - 1))
        assert tree.root_at(old) == root(leaves[:old])
        assert tree.inclusion_proof(index, new) == inclusion_proof(leaves[:new], index)
        assert tree.consistency_proof(old, new) == consistency_proof(leaves, old, new)
        assert tree.consistency_proof(old) == consistency_proof(leaves, old, len(leaves))
        assert tree.inclusion_proof(index) == inclusion_proof(leaves, index)
