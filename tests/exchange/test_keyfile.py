"""The encrypted key file format (Argon2id + AES-256-GCM, version 1), and the PKCS#8 files it replaces."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, x25519

from node.crypto.keyfile import (
    ARGON2ID_V1,
    DEFAULT_KDF,
    LEGACY_PKCS8,
    PLAIN,
    KdfParams,
    KeyFileError,
    dump_private_key,
    load_private_key,
)

FAST = KdfParams(memory_kib=64, passes=1, lanes=1)  # tests only: the format, not the cost
PASSPHRASE = b"correct horse battery staple"
GENERATORS: dict[str, Callable[[], Any]] = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "x25519": x25519.X25519PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mlkem768": mlkem.MLKEM768PrivateKey.generate,
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
}


def der(key: Any) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return data


@pytest.mark.parametrize("kind", GENERATORS)
def test_every_kind_of_node_key_goes_through_the_format(kind: str) -> None:
    key = GENERATORS[kind]()
    data = dump_private_key(key, PASSPHRASE, FAST)
    assert data.startswith(b"-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----\nVersion: 1\nKDF: argon2id\n")
    assert der(key)[-16:] not in data
    loaded = load_private_key(data, PASSPHRASE)
    assert loaded.format == ARGON2ID_V1 and der(loaded.key) == der(key)


def test_the_default_cost_is_rfc_9106s_second_recommendation() -> None:
    assert (DEFAULT_KDF.memory_kib, DEFAULT_KDF.passes, DEFAULT_KDF.lanes) == (65536, 3, 4)
    data = dump_private_key(ed25519.Ed25519PrivateKey.generate(), PASSPHRASE)
    lines = data.decode().splitlines()
    assert lines[1:4] == ["Version: 1", "KDF: argon2id", "KDF-Params: m=65536,t=3,p=4"]
    assert re.fullmatch(r"Salt: [A-Za-z0-9+/]{22}==", lines[4]) and lines[5] == "Cipher: aes-256-gcm"
    assert re.fullmatch(r"Nonce: [A-Za-z0-9+/]{16}", lines[6]) and lines[7] == ""
    assert lines[-1] == "-----END HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----"


def test_two_files_of_one_key_share_no_salt_or_nonce() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    one, two = (dump_private_key(key, PASSPHRASE, FAST).splitlines() for _ in range(2))
    assert one[4] != two[4] and one[6] != two[6] and one[8] != two[8]


def test_a_wrong_passphrase_does_not_open_it() -> None:
    data = dump_private_key(ed25519.Ed25519PrivateKey.generate(), PASSPHRASE, FAST)
    with pytest.raises(KeyFileError, match=r"^does not open with the passphrase given$"):
        load_private_key(data, b"Tr0ub4dor&3")


def _edit(data: bytes, line: int, new: str) -> bytes:
    lines = data.decode().split("\n")
    lines[line] = new
    return "\n".join(lines).encode()


@pytest.mark.parametrize(
    ("line", "new"),
    [
        (3, "KDF-Params: m=128,t=1,p=1"),  # weaker or stronger parameters: another key, and the header is bound
        (4, "Salt: AAAAAAAAAAAAAAAAAAAAAA=="),
        (6, "Nonce: AAAAAAAAAAAAAAAA"),
        (8, "A" * 64),  # the first line of the ciphertext
    ],
)
def test_a_changed_header_or_body_does_not_open(line: int, new: str) -> None:
    data = dump_private_key(ed25519.Ed25519PrivateKey.generate(), PASSPHRASE, FAST)
    with pytest.raises(KeyFileError, match=r"^does not open with the passphrase given$"):
        load_private_key(_edit(data, line, new), PASSPHRASE)


@pytest.mark.parametrize(
    ("line", "new", "message"),
    [
        (1, "Version: 2", "is in key file format version '2'; this node reads version 1"),
        (2, "KDF: scrypt", "uses scrypt and aes-256-gcm; this node reads argon2id and aes-256-gcm"),
        (5, "Cipher: chacha20-poly1305", "uses argon2id and chacha20-poly1305; this node reads"),
        (3, "KDF-Params: m=99999999,t=3,p=4", r"Argon2id parameters out of range \(m=99999999,t=3,p=4\)"),
        (3, "KDF-Params: m=65536,t=1000,p=4", "unreadable Argon2id parameters"),
        (3, "KDF-Params: lots", "unreadable Argon2id parameters"),
        (4, "Salt: AAAA", "a 3-byte salt"),
        (4, "Salt: ***", "not base64"),
        (2, "Hash: argon2id", "has 'Hash' where its header needs 'KDF'"),
        (7, "Comment: hi", "its armour is broken"),
    ],
)
def test_a_file_of_another_version_kdf_or_shape_is_refused_saying_why(line: int, new: str, message: str) -> None:
    data = dump_private_key(ed25519.Ed25519PrivateKey.generate(), PASSPHRASE, FAST)
    with pytest.raises(KeyFileError, match=message):
        load_private_key(_edit(data, line, new), PASSPHRASE)


def test_a_truncated_file_is_refused() -> None:
    data = dump_private_key(ed25519.Ed25519PrivateKey.generate(), PASSPHRASE, FAST)
    with pytest.raises(KeyFileError, match="armour is broken"):
        load_private_key(data[: len(data) // 2], PASSPHRASE)


def test_the_passphrase_is_asked_for_and_not_given_to_a_plain_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(KeyFileError, match=r"^is encrypted; set HX_KEY_PASSPHRASE to its passphrase$"):
        load_private_key(dump_private_key(key, PASSPHRASE, FAST), None)
    with pytest.raises(KeyFileError, match=r"^is not encrypted, but HX_KEY_PASSPHRASE is set \(unset it"):
        load_private_key(dump_private_key(key, None), PASSPHRASE)


def test_without_a_passphrase_keys_are_plain_pkcs8_pem() -> None:
    key = x25519.X25519PrivateKey.generate()
    data = dump_private_key(key, None)
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    loaded = load_private_key(data, None)
    assert loaded.format == PLAIN and der(loaded.key) == der(key)


@pytest.mark.parametrize("kind", GENERATORS)
def test_old_pkcs8_files_still_load_plain_and_encrypted(kind: str) -> None:
    """What nodes wrote before this format: PKCS#8 PEM, encrypted with BestAvailableEncryption (PBKDF2)."""
    key = GENERATORS[kind]()
    plain = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    assert encrypted.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert der(load_private_key(plain, None).key) == der(key)
    loaded = load_private_key(encrypted, PASSPHRASE)
    assert loaded.format == LEGACY_PKCS8 and der(loaded.key) == der(key)
    with pytest.raises(KeyFileError, match=r"^does not open with the passphrase given$"):
        load_private_key(encrypted, b"wrong")
    with pytest.raises(KeyFileError, match=r"^is encrypted; set HX_KEY_PASSPHRASE"):
        load_private_key(encrypted, None)


def test_something_that_is_no_key_is_named() -> None:
    with pytest.raises(KeyFileError, match=r"^is not a private key this node reads"):
        load_private_key(b"hello\n", None)


def test_kdf_parameters_out_of_range_are_refused_before_any_work() -> None:
    with pytest.raises(KeyFileError, match="out of range"):
        KdfParams(memory_kib=8 * 1024 * 1024)
    with pytest.raises(KeyFileError, match="out of range"):
        KdfParams(memory_kib=16, lanes=4)
