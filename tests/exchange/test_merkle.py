"""The Merkle tree that lets a sender sign a batch once: RFC 9162 roots and inclusion proofs, checked against
the RFC's recursive definitions, and proofs that must not verify."""

from __future__ import annotations

import hashlib

import pytest

from node.crypto.merkle import MerkleTree, leaf_hash, root_from_proof


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 section 2.1.1."""
    if len(leaves) == 1:
        return _h(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _h(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH of RFC 9162 section 2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 65, 500])
def test_roots_and_proofs_are_those_of_rfc_9162(size: int) -> None:
    data = [i.to_bytes(4, "big") for i in range(size)]
    tree = MerkleTree([leaf_hash(d) for d in data])
    assert tree.root == _mth(data)
    for m in range(size):
        assert tree.proof(m) == _path(m, data)
        assert root_from_proof(leaf_hash(data[m]), m, size, tree.proof(m)) == tree.root


def test_a_proof_proves_one_position_only() -> None:
    data = [bytes([i]) for i in range(13)]
    tree = MerkleTree([leaf_hash(d) for d in data])
    for m in range(13):
        for other in range(13):
            if other != m:
                assert root_from_proof(leaf_hash(data[m]), other, 13, tree.proof(m)) != tree.root
        assert root_from_proof(leaf_hash(data[m] + b"x"), m, 13, tree.proof(m)) != tree.root


@pytest.mark.parametrize(
    ("index", "size", "path"),
    [
        (3, 3, []),  # the index is outside the tree
        (0, 0, []),  # an empty tree
        (0, 2, []),  # too short a path
        (0, 2, [b"\x00" * 32, b"\x00" * 32]),  # too long a path
        (0, 2, [b"\x00" * 31]),  # not a hash
    ],
)
def test_a_proof_that_does_not_fit_its_position_is_refused(index: int, size: int, path: list[bytes]) -> None:
    assert root_from_proof(leaf_hash(b"x"), index, size, path) is None


def test_a_leaf_is_never_an_interior_node() -> None:
    # Domain separation: two leaves hashed as an interior node are not a leaf of the same bytes.
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert MerkleTree([a, b]).root != leaf_hash(a + b)
    with pytest.raises(ValueError, match="at least one leaf"):
        MerkleTree([])
