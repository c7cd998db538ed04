"""A node's keys: signing (Ed25519, optionally ML-DSA-65 too) and HPKE (X25519, or MLKEM768-X25519).

Key ids name the algorithm and the first 16 hex digits of the SHA-256 of the raw public key, so a roster entry
and a message header can refer to a key without carrying it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from node.api._gen.hotline.exchange.v1 import envelope_pb2

__all__ = [
    "SUITES",
    "HpkeKeyPair",
    "PublicHpkeKey",
    "PublicSigningKey",
    "SigningKeyPair",
    "key_id",
]

ED25519 = envelope_pb2.SIGNATURE_ALGORITHM_ED25519
ML_DSA_65 = envelope_pb2.SIGNATURE_ALGORITHM_ML_DSA_65
X25519_SUITE = envelope_pb2.HPKE_SUITE_X25519_SHA256_AES128GCM
HYBRID_SUITE = envelope_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM

SUITES: dict[int, hpke.Suite] = {
    X25519_SUITE: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM),
    HYBRID_SUITE: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}
# The two enums number their values independently, so each has its own table.
_SIGNATURE_NAMES: dict[int, str] = {ED25519: "ed25519", ML_DSA_65: "mldsa65"}
_SUITE_NAMES: dict[int, str] = {X25519_SUITE: "x25519", HYBRID_SUITE: "mlkem768x25519"}
_MLKEM768_PUBLIC_BYTES = 1184


@functools.lru_cache(maxsize=1024)
def key_id(algorithm: int, public_key: bytes, *, hpke: bool = False) -> str:
    """`<algorithm>:<first 16 hex digits of SHA-256(public key)>`; `hpke` says `algorithm` is a suite. Cached:
    every signed message names its key, and a node signs with few."""
    name = (_SUITE_NAMES if hpke else _SIGNATURE_NAMES)[algorithm]
    return f"{name}:{hashlib.sha256(public_key).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    algorithm: int
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.algorithm, self.public_key)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            _load_verifier(self.algorithm, self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@functools.lru_cache(maxsize=1024)
def _load_verifier(algorithm: int, public_key: bytes) -> Any:
    """The parsed public key (parsing an Ed25519 key costs about as much as verifying with it)."""
    if algorithm == ED25519:
        return ed25519.Ed25519PublicKey.from_public_bytes(public_key)
    if algorithm == ML_DSA_65:
        return mldsa.MLDSA65PublicKey.from_public_bytes(public_key)
    raise ValueError(f"unsupported signature algorithm {algorithm}")


@dataclass(frozen=True, slots=True)
class SigningKeyPair:
    algorithm: int
    private_key: Any  # Ed25519PrivateKey | MLDSA65PrivateKey
    # Derived once (each signed message names its key by the public key's id).
    public: PublicSigningKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = self.private_key.public_key().public_bytes_raw()
        object.__setattr__(self, "public", PublicSigningKey(self.algorithm, raw))

    @classmethod
    def generate(cls, algorithm: int = ED25519) -> SigningKeyPair:
        if algorithm == ED25519:
            return cls(algorithm, ed25519.Ed25519PrivateKey.generate())
        if algorithm == ML_DSA_65:
            return cls(algorithm, mldsa.MLDSA65PrivateKey.generate())
        raise ValueError(f"unsupported signature algorithm {algorithm}")

    @classmethod
    def from_seed(cls, algorithm: int, seed: bytes) -> SigningKeyPair:
        """Deterministic keys (known-answer tests): a 32-byte seed."""
        if algorithm == ED25519:
            return cls(algorithm, ed25519.Ed25519PrivateKey.from_private_bytes(seed))
        return cls(algorithm, mldsa.MLDSA65PrivateKey.from_seed_bytes(seed))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self.private_key.sign(message)
        return signature


@dataclass(frozen=True, slots=True)
class PublicHpkeKey:
    suite: int
    public_key: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.suite, self.public_key, hpke=True)

    def load(self) -> Any:
        return _load_hpke_public(self.suite, self.public_key)


@functools.lru_cache(maxsize=1024)
def _load_hpke_public(suite: int, public_key: bytes) -> Any:
    if suite == X25519_SUITE:
        return x25519.X25519PublicKey.from_public_bytes(public_key)
    if suite == HYBRID_SUITE:
        kem = mlkem.MLKEM768PublicKey.from_public_bytes(public_key[:_MLKEM768_PUBLIC_BYTES])
        dh = x25519.X25519PublicKey.from_public_bytes(public_key[_MLKEM768_PUBLIC_BYTES:])
        return hpke.MLKEM768X25519PublicKey(kem, dh)
    raise ValueError(f"unsupported HPKE suite {suite}")


@dataclass(frozen=True, slots=True)
class HpkeKeyPair:
    suite: int
    private_key: Any  # X25519PrivateKey | MLKEM768X25519PrivateKey
    public: PublicHpkeKey

    @classmethod
    def generate(cls, suite: int = X25519_SUITE) -> HpkeKeyPair:
        if suite == X25519_SUITE:
            key = x25519.X25519PrivateKey.generate()
            return cls(suite, key, PublicHpkeKey(suite, key.public_key().public_bytes_raw()))
        if suite == HYBRID_SUITE:
            kem, dh = mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
            public = kem.public_key().public_bytes_raw() + dh.public_key().public_bytes_raw()
            return cls(suite, hpke.MLKEM768X25519PrivateKey(kem, dh), PublicHpkeKey(suite, public))
        raise ValueError(f"unsupported HPKE suite {suite}")

    @property
    def key_id(self) -> str:
        return self.public.key_id
