"""Private key files: plain PKCS#8 PEM, or the passphrase-encrypted format below (version 1).

PKCS#8's own encryption (`BestAvailableEncryption`) derives its key with PBKDF2 at 2,048 rounds, about 2,400
guesses a second on one core, and offers no work-factor setting. So an encrypted key is written in this
small format instead: the PKCS#8 DER of the key, sealed with AES-256-GCM under a key derived from the
passphrase by Argon2id (RFC 9106, memory-hard), in a PEM-like armoured block:

    -----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----
    Version: 1
    KDF: argon2id
    KDF-Params: m=65536,t=3,p=4
    Salt: <base64 of 16 random bytes>
    Cipher: aes-256-gcm
    Nonce: <base64 of 12 random bytes>

    <base64 of the ciphertext and its 16-byte tag, in lines of 64 characters>
    -----END HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----

- m is Argon2id's memory in KiB, t its passes, p its lanes; the defaults (64 MiB, 3, 4) are RFC 9106's second
  recommended option. The derived key is 32 bytes: AES-256-GCM's key.
- The associated data is the header exactly as above: the BEGIN line and every header line up to and
  including the empty line, each ending in "\\n". Changing the version, the KDF, its parameters, the salt,
  the cipher or the nonce therefore makes the file fail to open, as a wrong passphrase does.
- A reader refuses any other version, KDF or cipher, header lines out of this order, and parameters beyond
  m <= 4 GiB, t <= 64, p <= 64 (so a crafted file cannot make a node allocate without bound).

Without a passphrase keys are written as plain PKCS#8 PEM ("PRIVATE KEY"). Older nodes wrote encrypted keys
as PKCS#8 PEM with PBKDF2 ("ENCRYPTED PRIVATE KEY"); they still load (`LEGACY_PKCS8`), and the key store
rewrites them in this format.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

__all__ = [
    "ARGON2ID_V1",
    "DEFAULT_KDF",
    "LEGACY_PKCS8",
    "PASSPHRASE_VARIABLE",
    "PLAIN",
    "KdfParams",
    "KeyFileError",
    "LoadedKey",
    "dump_private_key",
    "load_private_key",
]

PASSPHRASE_VARIABLE = "HX_KEY_PASSPHRASE"  # noqa: S105 (the variable's name, not a passphrase)
PLAIN = "plain PKCS#8"
LEGACY_PKCS8 = "PKCS#8 with PBKDF2"
ARGON2ID_V1 = "argon2id, version 1"

_BEGIN = "-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----"
_END = "-----END HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----"
_PARAMS = re.compile(r"^m=([0-9]{1,10}),t=([0-9]{1,3}),p=([0-9]{1,3})$")
_SALT_BYTES = 16
_NONCE_BYTES = 12
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_PASSES = 64
_MAX_LANES = 64


class KeyFileError(ValueError):
    """A key file that cannot be opened; the message completes a sentence that starts with the file's name."""


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id's cost: memory in KiB, passes, lanes."""

    memory_kib: int = 64 * 1024
    passes: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        if not (
            1 <= self.lanes <= _MAX_LANES
            and 8 * self.lanes <= self.memory_kib <= _MAX_MEMORY_KIB
            and 1 <= self.passes <= _MAX_PASSES
        ):
            raise KeyFileError(
                f"has Argon2id parameters out of range (m={self.memory_kib},t={self.passes},p={self.lanes})"
            )

    def derive(self, passphrase: bytes, salt: bytes) -> bytes:
        kdf = Argon2id(salt=salt, length=32, iterations=self.passes, lanes=self.lanes, memory_cost=self.memory_kib)
        return kdf.derive(passphrase)


DEFAULT_KDF = KdfParams()


@dataclass(frozen=True, slots=True)
class LoadedKey:
    key: Any  # a cryptography private key
    format: str  # PLAIN, LEGACY_PKCS8 or ARGON2ID_V1


def dump_private_key(key: Any, passphrase: bytes | None, kdf: KdfParams = DEFAULT_KDF) -> bytes:
    """The file bytes for `key`: plain PKCS#8 PEM without a passphrase, the armoured format with one."""
    if not passphrase:
        pem: bytes = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return pem
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    header = _header(kdf, salt, nonce)
    sealed = base64.b64encode(AESGCM(kdf.derive(passphrase, salt)).encrypt(nonce, der, header)).decode()
    body = "".join(sealed[i : i + 64] + "\n" for i in range(0, len(sealed), 64))
    return header + body.encode() + _END.encode() + b"\n"


def load_private_key(data: bytes, passphrase: bytes | None) -> LoadedKey:
    """The key in `data`, in any of the three formats; raises KeyFileError with what is wrong."""
    text = data.lstrip()
    if text.startswith(_BEGIN.encode()):
        if not passphrase:
            raise KeyFileError(f"is encrypted; set {PASSPHRASE_VARIABLE} to its passphrase")
        return LoadedKey(_open_armoured(text, passphrase), ARGON2ID_V1)
    encrypted = text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    if encrypted and not passphrase:
        raise KeyFileError(f"is encrypted; set {PASSPHRASE_VARIABLE} to its passphrase")
    if not encrypted and passphrase:
        raise KeyFileError(f"is not encrypted, but {PASSPHRASE_VARIABLE} is set (unset it to use the key as it is)")
    try:
        key = serialization.load_pem_private_key(data, passphrase if encrypted else None)
    except (TypeError, ValueError, binascii.Error) as error:
        if encrypted:
            raise KeyFileError("does not open with the passphrase given") from None
        raise KeyFileError(f"is not a private key this node reads ({error})") from None
    return LoadedKey(key, LEGACY_PKCS8 if encrypted else PLAIN)


def _header(kdf: KdfParams, salt: bytes, nonce: bytes) -> bytes:
    lines = [
        _BEGIN,
        "Version: 1",
        "KDF: argon2id",
        f"KDF-Params: m={kdf.memory_kib},t={kdf.passes},p={kdf.lanes}",
        f"Salt: {base64.b64encode(salt).decode()}",
        "Cipher: aes-256-gcm",
        f"Nonce: {base64.b64encode(nonce).decode()}",
        "",
    ]
    return "".join(line + "\n" for line in lines).encode()


def _open_armoured(text: bytes, passphrase: bytes) -> Any:
    lines = text.decode("ascii", errors="replace").splitlines()
    if len(lines) < 10 or lines[-1].strip() != _END or lines[7] != "":
        raise KeyFileError("is not a complete encrypted key file (its armour is broken)")
    fields: dict[str, str] = {}
    for expected, line in zip(("Version", "KDF", "KDF-Params", "Salt", "Cipher", "Nonce"), lines[1:7], strict=True):
        name, _, value = line.partition(": ")
        if name != expected:
            raise KeyFileError(f"has {name!r} where its header needs {expected!r}")
        fields[name] = value.strip()
    if fields["Version"] != "1":
        raise KeyFileError(f"is in key file format version {fields['Version']!r}; this node reads version 1")
    if fields["KDF"] != "argon2id" or fields["Cipher"] != "aes-256-gcm":
        raise KeyFileError(f"uses {fields['KDF']} and {fields['Cipher']}; this node reads argon2id and aes-256-gcm")
    params = _PARAMS.match(fields["KDF-Params"])
    if params is None:
        raise KeyFileError(f"has unreadable Argon2id parameters ({fields['KDF-Params']!r})")
    kdf = KdfParams(int(params[1]), int(params[2]), int(params[3]))
    try:
        salt = base64.b64decode(fields["Salt"], validate=True)
        nonce = base64.b64decode(fields["Nonce"], validate=True)
        sealed = base64.b64decode("".join(lines[8:-1]), validate=True)
    except binascii.Error:
        raise KeyFileError("has a salt, nonce or body that is not base64") from None
    if not 8 <= len(salt) <= 64 or len(nonce) != _NONCE_BYTES:
        raise KeyFileError(f"has a {len(salt)}-byte salt or a {len(nonce)}-byte nonce (8-64 and 12 are read)")
    try:
        der = AESGCM(kdf.derive(passphrase, salt)).decrypt(nonce, sealed, _header(kdf, salt, nonce))
    except InvalidTag:
        raise KeyFileError("does not open with the passphrase given") from None
    try:
        return serialization.load_der_private_key(der, None)
    except (TypeError, ValueError) as error:
        raise KeyFileError(f"holds something that is not a private key ({error})") from None
