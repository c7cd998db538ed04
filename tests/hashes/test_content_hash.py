"""parse_hash and ContentHash: every algorithm, valid and invalid input, and the errors' fields."""

from __future__ import annotations

import random

import pytest

from node.errors import InvalidArgument
from node.hashes import DIGEST_SIZES, ContentHash, HashAlgorithm, parse_hash

_RNG = random.Random(20240601)
_SIZES = {"sha256": 32, "sha1": 20, "md5": 16, "pdq": 32}


def test_digest_sizes_cover_every_algorithm() -> None:
    assert {a.value: DIGEST_SIZES[a] for a in HashAlgorithm} == _SIZES


@pytest.mark.parametrize("name", sorted(_SIZES))
def test_parses_lower_and_upper_hex_and_raw_bytes(name: str) -> None:
    digest = _RNG.randbytes(_SIZES[name])
    expected = ContentHash(HashAlgorithm(name), digest)

    assert parse_hash(name, digest.hex()) == expected
    assert parse_hash(name, digest.hex().upper()) == expected
    assert parse_hash(name, f"  {digest.hex()}\n") == expected
    assert parse_hash(name, digest) == expected
    assert parse_hash(HashAlgorithm(name), digest.hex()) == expected
    assert parse_hash(name.upper(), digest.hex()) == expected
    assert parse_hash(name, digest.hex()).hex == digest.hex()


def test_pdq_is_64_hex_characters() -> None:
    text = _RNG.randbytes(32).hex()
    assert len(text) == 64
    parsed = parse_hash("pdq", text)
    assert parsed.algorithm is HashAlgorithm.PDQ
    assert parsed.digest == bytes.fromhex(text)
    assert str(parsed) == f"pdq:{text}"


@pytest.mark.parametrize("name", sorted(_SIZES))
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_length_hex_names_value_field_and_sizes(name: str, delta: int) -> None:
    size = _SIZES[name]
    got = size + delta
    with pytest.raises(InvalidArgument) as info:
        parse_hash(name, _RNG.randbytes(got).hex(), field="report.hash")
    assert info.value.field == "report.hash.value"
    assert info.value.message == (f"{name} digest must be {size} bytes ({size * 2} hex characters), got {got} bytes")


@pytest.mark.parametrize("name", sorted(_SIZES))
def test_wrong_length_raw_bytes(name: str) -> None:
    size = _SIZES[name]
    with pytest.raises(InvalidArgument) as info:
        parse_hash(name, _RNG.randbytes(size - 1))
    assert info.value.field == "hash.value"
    assert f"must be {size} bytes" in info.value.message
    assert f"got {size - 1} bytes" in info.value.message


def test_odd_number_of_hex_characters() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_hash("md5", "a" * 31)
    assert info.value.field == "hash.value"
    assert "16 bytes (32 hex characters)" in info.value.message
    assert "31 hex characters" in info.value.message


@pytest.mark.parametrize("name", sorted(_SIZES))
@pytest.mark.parametrize("bad", ["g", "-", " ", "\u0663", "\u00e9"])
def test_non_hex_names_value_field_and_character(name: str, bad: str) -> None:
    text = _RNG.randbytes(_SIZES[name]).hex()
    text = text[:10] + bad + text[11:]  # same length, one bad character inside
    with pytest.raises(InvalidArgument) as info:
        parse_hash(name, text)
    assert info.value.field == "hash.value"
    assert "hex" in info.value.message
    assert repr(bad) in info.value.message


def test_hex_with_prefix_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_hash("sha1", "0x" + _RNG.randbytes(19).hex())
    assert info.value.field == "hash.value"
    assert "'x'" in info.value.message


def test_empty_value() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_hash("sha256", "   ")
    assert info.value.field == "hash.value"
    assert "empty" in info.value.message


@pytest.mark.parametrize("name", ["sha512", "sha-256", "", "photodna"])
def test_unknown_algorithm_lists_accepted_ones(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_hash(name, "00" * 32, field="items[3].hash")
    assert info.value.field == "items[3].hash.algorithm"
    assert "unknown hash algorithm" in info.value.message
    for accepted in ("sha256", "sha1", "md5", "pdq"):
        assert accepted in info.value.message
    assert str(info.value).startswith("items[3].hash.algorithm: ")


def test_long_bad_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_hash("x" * 10_000, "00")
    assert len(info.value.message) < 200


def test_content_hash_enforces_its_invariant() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ContentHash(HashAlgorithm.SHA256, b"\x00" * 20)
    with pytest.raises(TypeError):
        ContentHash("sha256", b"\x00" * 32)  # type: ignore[arg-type]


def test_content_hash_is_hashable_and_frozen() -> None:
    digest = _RNG.randbytes(16)
    a = ContentHash(HashAlgorithm.MD5, digest)
    assert {a, ContentHash(HashAlgorithm.MD5, digest)} == {a}
    assert a != ContentHash(HashAlgorithm.SHA256, digest * 2)
    with pytest.raises(AttributeError):
        a.digest = b""  # type: ignore[misc]
