"""The audit log's secrets and proofs: the HMAC key its entries are hashed with (kept in the key folder, never in
the database), and checkpoints: the log's entry count and head hash, signed by the node's Ed25519 key, which an
outside party can hold to prove later that the log still extends what it saw.

Entry hash schemes (audit_log.scheme):
  1  SHA-256 over the JSON of [previous hash, time, actor, action, subject, detail] (entries of older nodes)
  2  HMAC-SHA256 under the audit key over the same JSON: no one without the key can recompute the chain

Checkpoint file (JSON, version 1): {"version": 1, "node_id", "entry_count", "head_hash", "signed_at"
(ISO 8601), "algorithm": "ed25519", "key_id", "public_key" (hex), "signature" (hex)}. The signature is over
"hotline-audit-checkpoint/v1" || u32-length-prefixed node_id, entry_count (decimal), head_hash, signed_at.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from node.api._gen.hotline.exchange.v1 import envelope_pb2
from node.crypto.keys import PublicSigningKey, SigningKeyPair
from node.crypto.keystore import KeyStoreError, check_key_folder

__all__ = [
    "AUDIT_KEY_FILE",
    "SCHEME_KEYED",
    "SCHEME_UNKEYED",
    "Checkpoint",
    "CheckpointError",
    "entry_hash",
    "load_or_create_audit_key",
]

AUDIT_KEY_FILE = "audit-hmac.key"
SCHEME_UNKEYED = 1
SCHEME_KEYED = 2
_CONTEXT = b"hotline-audit-checkpoint/v1"
_ED25519 = envelope_pb2.SIGNATURE_ALGORITHM_ED25519


def load_or_create_audit_key(directory: Path) -> bytes:
    """The audit HMAC key in the key folder `directory` (0700), made on first use (32 random bytes, a 0600
    file). Raises KeyStoreError naming the folder or file when others may read them."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_key_folder(directory)
    path = directory / AUDIT_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it") from None
        key = bytes.fromhex(path.read_text().strip())
        if len(key) != 32:
            raise KeyStoreError(f"{path} is not an audit key (64 hexadecimal digits)") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def entry_hash(
    scheme: int, key: bytes | None, previous: str, at: datetime, actor: str, action: str, subject: str, detail: str
) -> str:
    """An entry's hash under its scheme. Raises ValueError for a keyed entry without the key."""
    entry = json.dumps([previous, at.isoformat(), actor, action, subject, detail], separators=(",", ":")).encode()
    if scheme == SCHEME_UNKEYED:
        return hashlib.sha256(entry).hexdigest()
    if scheme == SCHEME_KEYED and key is not None:
        return hmac.new(key, entry, hashlib.sha256).hexdigest()
    raise ValueError(f"no way to check an entry of scheme {scheme}" + (" without the audit key" if key is None else ""))


class CheckpointError(Exception):
    """A checkpoint file that is not one, or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    node_id: str
    entry_count: int
    head_hash: str
    signed_at: datetime
    key_id: str
    public_key: bytes
    signature: bytes

    @staticmethod
    def _signed_bytes(node_id: str, entry_count: int, head_hash: str, signed_at: datetime) -> bytes:
        parts = [node_id.encode(), str(entry_count).encode(), head_hash.encode(), signed_at.isoformat().encode()]
        return _CONTEXT + b"".join(struct.pack(">I", len(p)) + p for p in parts)

    @classmethod
    def sign(
        cls, key: SigningKeyPair, *, node_id: str, entry_count: int, head_hash: str, signed_at: datetime
    ) -> Checkpoint:
        signature = key.sign(cls._signed_bytes(node_id, entry_count, head_hash, signed_at))
        return cls(node_id, entry_count, head_hash, signed_at, key.key_id, key.public.public_key, signature)

    def verifies(self, trusted_key_ids: set[str]) -> bool:
        """The signature verifies under the public key it names, whose id is one of `trusted_key_ids`."""
        public = PublicSigningKey(_ED25519, self.public_key)
        if public.key_id != self.key_id or self.key_id not in trusted_key_ids:
            return False
        signed = self._signed_bytes(self.node_id, self.entry_count, self.head_hash, self.signed_at)
        return public.verify(self.signature, signed)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "node_id": self.node_id,
                "entry_count": self.entry_count,
                "head_hash": self.head_hash,
                "signed_at": self.signed_at.isoformat(),
                "algorithm": "ed25519",
                "key_id": self.key_id,
                "public_key": self.public_key.hex(),
                "signature": self.signature.hex(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            data: Any = json.loads(text)
            if data["version"] != 1 or data["algorithm"] != "ed25519":
                raise CheckpointError("unsupported checkpoint version or algorithm")
            return cls(
                node_id=str(data["node_id"]),
                entry_count=int(data["entry_count"]),
                head_hash=str(data["head_hash"]),
                signed_at=datetime.fromisoformat(data["signed_at"]),
                key_id=str(data["key_id"]),
                public_key=bytes.fromhex(data["public_key"]),
                signature=bytes.fromhex(data["signature"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"not an audit checkpoint file ({type(error).__name__})") from None
