"""A node's private keys on disk: PKCS8 PEM files with 0600 permissions, optionally passphrase-encrypted.

`load_or_create` makes the keys on first start and loads them afterwards. A key file that the group or
others can read is refused: fix its permissions rather than run with an exposed key.

`rotate` retires the current signing and HPKE keys into `retired/` and makes new ones. Retired keys are
still loaded: retired HPKE keys open messages sealed to them before peers saw the new roster, and retired
public signing keys stay listed in the roster so that stored records remain verifiable. New messages are
signed with the new keys only.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from node.crypto.keys import (
    ED25519,
    HYBRID_SUITE,
    ML_DSA_65,
    X25519_SUITE,
    HpkeKeyPair,
    PublicHpkeKey,
    SigningKeyPair,
)
from node.crypto.tls import TlsIdentity, make_tls_identity

__all__ = ["KeyStore", "KeyStoreError", "NodeKeys"]


class KeyStoreError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class NodeKeys:
    signing: list[SigningKeyPair]
    hpke: list[HpkeKeyPair]  # the current keys first, then retired ones (still able to open)
    tls: TlsIdentity
    retired_signing: tuple[SigningKeyPair, ...] = ()


class KeyStore:
    def __init__(self, directory: Path, passphrase: bytes | None = None) -> None:
        self._dir = directory
        self._passphrase = passphrase

    def load_or_create(self, node_id: str, now: datetime, *, post_quantum: bool = False) -> NodeKeys:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        signing = [SigningKeyPair(ED25519, self._key("signing-ed25519.pem", ed25519.Ed25519PrivateKey.generate))]
        hpke_keys = [self._x25519_pair()]
        if post_quantum:
            signing.append(
                SigningKeyPair(ML_DSA_65, self._key("signing-mldsa65.pem", mldsa.MLDSA65PrivateKey.generate))
            )
            hpke_keys.insert(0, self._hybrid_pair())
        cert_path, key_path = self._dir / "tls-cert.pem", self._dir / "tls-key.pem"
        if not cert_path.exists():
            identity = make_tls_identity(node_id, now)
            tls_key = serialization.load_pem_private_key(identity.key_pem, None)
            self._write(key_path, self._pem(tls_key))
            self._write(cert_path, identity.cert_pem)
        tls_key = self._read_key(key_path)
        key_pem = tls_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )  # grpc needs the key in the clear, in memory only
        retired_signing: list[SigningKeyPair] = []
        retired = self._dir / "retired"
        for path in sorted(retired.glob("*.pem"), reverse=True) if retired.is_dir() else []:
            key = self._read_key(path)
            if path.name.startswith("signing-ed25519"):
                retired_signing.append(SigningKeyPair(ED25519, key))
            elif path.name.startswith("signing-mldsa65"):
                retired_signing.append(SigningKeyPair(ML_DSA_65, key))
            elif path.name.startswith("hpke-x25519"):
                public = PublicHpkeKey(X25519_SUITE, key.public_key().public_bytes_raw())
                hpke_keys.append(HpkeKeyPair(X25519_SUITE, key, public))
        return NodeKeys(signing, hpke_keys, TlsIdentity(cert_path.read_bytes(), key_pem), tuple(retired_signing))

    def rotate(self, node_id: str, now: datetime, *, post_quantum: bool = False) -> NodeKeys:
        """Retire the current signing and X25519 HPKE keys and make new ones; returns the new key set.
        (The post-quantum HPKE pair and the TLS identity are kept.)"""
        retired = self._dir / "retired"
        retired.mkdir(exist_ok=True, mode=0o700)
        stamp = f"{time.time_ns():020d}"
        for name in ("signing-ed25519.pem", "signing-mldsa65.pem", "hpke-x25519.pem"):
            path = self._dir / name
            if path.exists():
                path.rename(retired / f"{name.removesuffix('.pem')}-{stamp}.pem")
        return self.load_or_create(node_id, now, post_quantum=post_quantum)

    def _x25519_pair(self) -> HpkeKeyPair:
        key = self._key("hpke-x25519.pem", x25519.X25519PrivateKey.generate)
        return HpkeKeyPair(X25519_SUITE, key, PublicHpkeKey(X25519_SUITE, key.public_key().public_bytes_raw()))

    def _hybrid_pair(self) -> HpkeKeyPair:
        kem = self._key("hpke-mlkem768.pem", mlkem.MLKEM768PrivateKey.generate)
        dh = self._key("hpke-mlkem768-x25519.pem", x25519.X25519PrivateKey.generate)
        public = kem.public_key().public_bytes_raw() + dh.public_key().public_bytes_raw()
        return HpkeKeyPair(HYBRID_SUITE, hpke.MLKEM768X25519PrivateKey(kem, dh), PublicHpkeKey(HYBRID_SUITE, public))

    def _key(self, name: str, generate: Any) -> Any:
        path = self._dir / name
        if not path.exists():
            self._write(path, self._pem(generate()))
        return self._read_key(path)

    def _pem(self, key: Any) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        return pem

    def _read_key(self, path: Path) -> Any:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
        try:
            return serialization.load_pem_private_key(path.read_bytes(), self._passphrase)
        except (TypeError, ValueError) as error:
            raise KeyStoreError(f"{path} does not open with the passphrase given: {error}") from None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
