"""A node's private keys on disk: one file per key, 0600, in a 0700 folder; encrypted with a passphrase.

`load_or_create` makes the keys on first start and loads them afterwards. Without a passphrase the files are
plain PKCS#8 PEM; with one (`HX_KEY_PASSPHRASE`) they are in the Argon2id + AES-256-GCM format described in
`node.crypto.keyfile`. Encrypted PKCS#8 PEM files written by older nodes (PBKDF2 at 2,048 rounds) still load
and are rewritten in that format on first use. A key file that the group or others can read, and a key folder
that they can enter or list, are refused: fix the permissions rather than run with an exposed key.

`rotate` retires the current signing and HPKE keys into `retired/` and makes new ones. Retired keys are
still loaded: retired HPKE keys open messages sealed to them before peers saw the new roster, and retired
public signing keys stay listed in the roster so that stored records remain verifiable. New messages are
signed with the new keys only.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from node.crypto.keyfile import (
    ARGON2ID_V1,
    DEFAULT_KDF,
    LEGACY_PKCS8,
    PASSPHRASE_VARIABLE,
    KdfParams,
    KeyFileError,
    dump_private_key,
    load_private_key,
)
from node.crypto.keys import (
    ED25519,
    HYBRID_SUITE,
    ML_DSA_65,
    X25519_SUITE,
    HpkeKeyPair,
    PublicHpkeKey,
    SigningKeyPair,
)
from node.crypto.tls import TlsIdentity, is_ca, make_tls_identity

# What `KeyStore.rotate` replaces for each kind of key (a file missing from the folder is not made).
ROTATED_FILES: dict[str, tuple[str, ...]] = {
    "signing": ("signing-ed25519.pem", "signing-mldsa65.pem"),
    "hpke": ("hpke-x25519.pem",),
    "tls": ("tls-cert.pem", "tls-key.pem"),
}
STAMP_FILE = "STAMP"
_GENERATORS: dict[str, Callable[[], Any]] = {
    "signing-ed25519.pem": ed25519.Ed25519PrivateKey.generate,
    "signing-mldsa65.pem": mldsa.MLDSA65PrivateKey.generate,
    "hpke-x25519.pem": x25519.X25519PrivateKey.generate,
}

__all__ = [
    "ROTATED_FILES",
    "KeyStore",
    "KeyStoreError",
    "NodeKeys",
    "check_key_folder",
    "passphrase_from_env",
    "read_private_key",
    "retired_at",
    "write_private_key",
]

_log = structlog.get_logger(__name__)


class KeyStoreError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class NodeKeys:
    signing: list[SigningKeyPair]
    hpke: list[HpkeKeyPair]  # the current keys first, then retired ones (still able to open)
    tls: TlsIdentity
    retired_signing: tuple[SigningKeyPair, ...] = ()
    retired_tls: tuple[TlsIdentity, ...] = ()  # newest first
    # When each retired key was retired: signing and HPKE key ids, and TLS certificates' SHA-256.
    retired_at: Mapping[str, datetime] = field(default_factory=dict)


def passphrase_from_env(env: Mapping[str, str] | None = None) -> bytes | None:
    """The key passphrase from `HX_KEY_PASSPHRASE` (None when unset or empty)."""
    return (os.environ if env is None else env).get(PASSPHRASE_VARIABLE, "").encode() or None


def check_key_folder(directory: Path) -> None:
    """Raise KeyStoreError if the group or others have any access to `directory`."""
    mode = directory.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(
            f"{directory} is a key folder open to others (mode {stat.S_IMODE(mode):o}); chmod 700 {directory}"
        )


def read_private_key(path: Path, passphrase: bytes | None, kdf: KdfParams = DEFAULT_KDF) -> Any:
    """The private key in `path`: refused if others can read it or it does not open. An encrypted PKCS#8 file
    of an older node is rewritten in the Argon2id format (`kdf`) once it has opened."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    try:
        loaded = load_private_key(path.read_bytes(), passphrase)
    except KeyFileError as error:
        raise KeyStoreError(f"{path} {error}") from None
    if loaded.format == LEGACY_PKCS8 and passphrase:
        _rewrite(path, loaded.key, passphrase, kdf)
    return loaded.key


def _rewrite(path: Path, key: Any, passphrase: bytes, kdf: KdfParams) -> None:
    """Replace an old PBKDF2-encrypted file by the Argon2id format, atomically: the old file or the new one."""
    replacement = path.with_name(path.name + ".rewrite")
    try:
        replacement.unlink(missing_ok=True)
        write_private_key(replacement, key, passphrase, kdf)
        os.replace(replacement, path)
    except OSError as error:
        _log.warning("keystore.not_rewritten", path=str(path), format=LEGACY_PKCS8, error=str(error))
        return
    _log.warning("keystore.rewritten", path=str(path), was=LEGACY_PKCS8, now=ARGON2ID_V1)


def write_private_key(path: Path, key: Any, passphrase: bytes | None, kdf: KdfParams = DEFAULT_KDF) -> None:
    """Write `key` to a new file (0600; never over an existing one), encrypted if there is a passphrase."""
    data = dump_private_key(key, passphrase, kdf)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class KeyStore:
    def __init__(self, directory: Path, passphrase: bytes | None = None, *, kdf: KdfParams = DEFAULT_KDF) -> None:
        self._dir = directory
        self._passphrase = passphrase
        self._kdf = kdf

    def load_or_create(self, node_id: str, now: datetime, *, post_quantum: bool = False) -> NodeKeys:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_key_folder(self._dir)
        self._recover()
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
            write_private_key(
                key_path, serialization.load_pem_private_key(identity.key_pem, None), self._passphrase, self._kdf
            )
            self._write(cert_path, identity.cert_pem)
            key_pem = identity.key_pem
        else:
            key_pem = self._read_key(key_path).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )  # grpc needs the key in the clear, in memory only
        cert_pem = cert_path.read_bytes()
        if is_ca(cert_pem):  # made by an older node; the roster pins it, so it is kept until replaced
            _log.warning(
                "keystore.tls_certificate_is_ca",
                path=str(cert_path),
                fix="move tls-cert.pem and tls-key.pem aside, then send the new member-entry to the authority",
            )
        retired_signing: list[SigningKeyPair] = []
        retired_tls: list[TlsIdentity] = []
        when: dict[str, datetime] = {}
        retired = self._dir / "retired"
        if retired.is_dir():
            check_key_folder(retired)
        for path in sorted(retired.glob("*.pem"), reverse=True) if retired.is_dir() else []:
            if path.name.startswith("tls-cert"):
                continue  # read with its key
            stamp = path.stem.rpartition("-")[2]
            key = self._read_key(path)
            name: str | None = None
            if path.name.startswith("signing-ed25519") or path.name.startswith("signing-mldsa65"):
                algorithm = ED25519 if path.name.startswith("signing-ed25519") else ML_DSA_65
                retired_signing.append(SigningKeyPair(algorithm, key))
                name = retired_signing[-1].key_id
            elif path.name.startswith("hpke-x25519"):
                public = PublicHpkeKey(X25519_SUITE, key.public_key().public_bytes_raw())
                hpke_keys.append(HpkeKeyPair(X25519_SUITE, key, public))
                name = hpke_keys[-1].key_id
            elif path.name.startswith("tls-key") and (cert := retired / f"tls-cert-{stamp}.pem").exists():
                clear = key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                retired_tls.append(TlsIdentity(cert.read_bytes(), clear))
                name = retired_tls[-1].sha256
            if name is not None and stamp.isdigit():
                when[name] = retired_at(stamp)
        return NodeKeys(
            signing, hpke_keys, TlsIdentity(cert_pem, key_pem), tuple(retired_signing), tuple(retired_tls), when
        )

    def rotate(
        self, node_id: str, now: datetime, *, kinds: Iterable[str] = ("signing", "hpke"), post_quantum: bool = False
    ) -> NodeKeys:
        """Retire the current keys of `kinds` ("signing", "hpke", "tls") and make new ones; returns the new set.
        (The post-quantum HPKE pair is kept.)

        Crash-safe: the new keys are written to `rotation.tmp/` and fsynced, the folder is renamed `rotation/`
        (the commit point), then each current file moves to `retired/` and its replacement into place. A
        crash before the commit leaves the old keys (the half-made folder is removed at the next load); a
        crash after it is finished by the next load. Either way the node has a complete set of keys."""
        chosen = set(kinds)
        if not chosen or chosen - set(ROTATED_FILES):
            raise KeyStoreError(f"rotate: kinds must be among {', '.join(ROTATED_FILES)}, not {sorted(chosen)}")
        self.load_or_create(node_id, now, post_quantum=post_quantum)  # a complete current set, recovered
        staging, committed = self._dir / "rotation.tmp", self._dir / "rotation"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        nanoseconds = int(now.timestamp() * 1_000_000_000)
        while list((self._dir / "retired").glob(f"*-{nanoseconds:020d}.pem")):
            nanoseconds += 1  # two rotations at one instant (a test clock): never replace a retired key
        stamp = f"{nanoseconds:020d}"
        self._write(staging / STAMP_FILE, stamp.encode())
        for name in [n for kind in ROTATED_FILES if kind in chosen for n in ROTATED_FILES[kind]]:
            if not (self._dir / name).exists():
                continue
            if name == "tls-cert.pem":
                identity = make_tls_identity(node_id, now)
                key = serialization.load_pem_private_key(identity.key_pem, None)
                write_private_key(staging / "tls-key.pem", key, self._passphrase, self._kdf)
                self._write(staging / name, identity.cert_pem)
            elif name != "tls-key.pem":
                write_private_key(staging / name, _GENERATORS[name](), self._passphrase, self._kdf)
        _fsync_dir(staging)
        os.rename(staging, committed)
        _fsync_dir(self._dir)
        _log.warning("keystore.rotating", kinds=sorted(chosen), stamp=stamp)
        return self.load_or_create(node_id, now, post_quantum=post_quantum)

    def _recover(self) -> None:
        """Finish a committed rotation (`rotation/`), or drop one that was never committed (`rotation.tmp/`)."""
        shutil.rmtree(self._dir / "rotation.tmp", ignore_errors=True)
        committed = self._dir / "rotation"
        if not committed.is_dir():
            return
        stamp = (committed / STAMP_FILE).read_text().strip()
        retired = self._dir / "retired"
        retired.mkdir(exist_ok=True, mode=0o700)
        check_key_folder(retired)
        for new in sorted(committed.glob("*.pem")):
            current = self._dir / new.name
            if current.exists():
                os.rename(current, retired / f"{new.name.removesuffix('.pem')}-{stamp}.pem")
            os.rename(new, current)
        _fsync_dir(retired)
        _fsync_dir(self._dir)
        (committed / STAMP_FILE).unlink()
        committed.rmdir()
        _log.warning("keystore.rotated", stamp=stamp)

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
        if path.exists():
            return self._read_key(path)
        key = generate()
        write_private_key(path, key, self._passphrase, self._kdf)
        return key

    def _read_key(self, path: Path) -> Any:
        return read_private_key(path, self._passphrase, self._kdf)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def retired_at(stamp: str) -> datetime:
    """When a key was retired, from the stamp in its retired file's name (nanoseconds since the epoch)."""
    return datetime.fromtimestamp(int(stamp) / 1_000_000_000, UTC)
