from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from cryptography.hazmat.primitives import serialization

from node.crypto.keyfile import KdfParams
from node.crypto.keystore import KeyStore, KeyStoreError, NodeKeys

NOW = datetime(2026, 3, 2, tzinfo=UTC)
FAST = KdfParams(memory_kib=64, passes=1, lanes=1)  # tests only


def test_keys_are_made_once_with_0600_permissions_and_load_the_same(tmp_path: Path) -> None:
    first = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW, post_quantum=True)
    files = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert files == [
        "hpke-mlkem768-x25519.pem",
        "hpke-mlkem768.pem",
        "hpke-x25519.pem",
        "signing-ed25519.pem",
        "signing-mldsa65.pem",
        "tls-cert.pem",
        "tls-key.pem",
    ]
    for name in files:
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    again = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW, post_quantum=True)
    assert [k.key_id for k in again.signing] == [k.key_id for k in first.signing]
    assert [k.key_id for k in again.hpke] == [k.key_id for k in first.hpke]
    assert again.tls.sha256 == first.tls.sha256


def test_a_passphrase_protects_the_keys(tmp_path: Path) -> None:
    KeyStore(tmp_path, b"correct horse").load_or_create("nl-hotline", NOW)
    header = (tmp_path / "signing-ed25519.pem").read_text().splitlines()[:4]
    assert header == [
        "-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----",
        "Version: 1",
        "KDF: argon2id",
        "KDF-Params: m=65536,t=3,p=4",
    ]
    with pytest.raises(KeyStoreError, match="passphrase"):
        KeyStore(tmp_path, b"wrong").load_or_create("nl-hotline", NOW)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    KeyStore(tmp_path).load_or_create("nl-hotline", NOW)
    (tmp_path / "signing-ed25519.pem").chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore(tmp_path).load_or_create("nl-hotline", NOW)


def ids(keys: NodeKeys) -> tuple[list[str], list[str], str]:
    return [k.key_id for k in keys.signing], [k.key_id for k in keys.hpke], keys.tls.sha256


def test_every_key_file_is_encrypted_with_a_passphrase_and_opens_only_with_it(tmp_path: Path) -> None:
    first = KeyStore(tmp_path / "keys", b"correct horse", kdf=FAST).load_or_create("nl-hotline", NOW, post_quantum=True)
    keys = [p for p in (tmp_path / "keys").iterdir() if p.name != "tls-cert.pem"]
    assert len(keys) == 6
    assert all(p.read_bytes().startswith(b"-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----") for p in keys)
    again = KeyStore(tmp_path / "keys", b"correct horse").load_or_create("nl-hotline", NOW, post_quantum=True)
    assert ids(again) == ids(first)
    with pytest.raises(KeyStoreError) as caught:
        KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW, post_quantum=True)
    assert str(caught.value) == (
        f"{tmp_path / 'keys' / 'signing-ed25519.pem'} is encrypted; set HX_KEY_PASSPHRASE to its passphrase"
    )
    with pytest.raises(KeyStoreError) as caught:
        KeyStore(tmp_path / "keys", b"wrong", kdf=FAST).load_or_create("nl-hotline", NOW)
    assert str(caught.value) == f"{tmp_path / 'keys' / 'signing-ed25519.pem'} does not open with the passphrase given"


def test_plain_keys_are_not_opened_with_a_passphrase(tmp_path: Path) -> None:
    """What happened after `member-entry` ignored the passphrase: now it says why."""
    KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)
    with pytest.raises(KeyStoreError) as caught:
        KeyStore(tmp_path / "keys", b"correct horse", kdf=FAST).load_or_create("nl-hotline", NOW)
    assert str(caught.value) == (
        f"{tmp_path / 'keys' / 'signing-ed25519.pem'} is not encrypted, but HX_KEY_PASSPHRASE is set "
        "(unset it to use the key as it is)"
    )


def _as_old_node_wrote_them(directory: Path, passphrase: bytes | None) -> None:
    """Rewrite every key file as PKCS#8 PEM, encrypted by BestAvailableEncryption if there is a passphrase."""
    for path in [*directory.glob("*.pem"), *directory.glob("retired/*.pem")]:
        if path.name == "tls-cert.pem":
            continue
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))


def test_a_key_folder_of_an_older_node_still_loads_plain(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.load_or_create("nl-hotline", NOW, post_quantum=True)
    first = store.rotate("nl-hotline", NOW, post_quantum=True)  # a retired key too
    _as_old_node_wrote_them(tmp_path / "keys", None)
    again = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW, post_quantum=True)
    assert ids(again) == ids(first) and len(again.retired_signing) == 2  # Ed25519 and ML-DSA-65


def test_a_key_folder_of_an_older_node_still_loads_encrypted_and_is_rewritten(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.load_or_create("nl-hotline", NOW)
    first = store.rotate("nl-hotline", NOW)
    _as_old_node_wrote_them(tmp_path / "keys", b"correct horse")
    old = sorted(p for p in (tmp_path / "keys").rglob("*.pem") if p.name != "tls-cert.pem")
    assert len(old) == 5 and all(p.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") for p in old)
    with structlog.testing.capture_logs() as logs:
        again = KeyStore(tmp_path / "keys", b"correct horse", kdf=FAST).load_or_create("nl-hotline", NOW)
    assert ids(again) == ids(first)
    assert sorted(e["path"] for e in logs if e["event"] == "keystore.rewritten") == [str(p) for p in old]
    for path in old:
        assert path.read_bytes().startswith(b"-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p for p in (tmp_path / "keys").rglob("*") if p.is_file()) == sorted(
        [*old, tmp_path / "keys" / "tls-cert.pem"]
    )  # no temporary file left behind
    with structlog.testing.capture_logs() as logs:
        assert ids(KeyStore(tmp_path / "keys", b"correct horse").load_or_create("nl-hotline", NOW)) == ids(first)
    assert not logs


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o710])
def test_a_key_folder_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "keys"
    KeyStore(folder).load_or_create("nl-hotline", NOW)
    folder.chmod(mode)
    with pytest.raises(KeyStoreError) as caught:
        KeyStore(folder).load_or_create("nl-hotline", NOW)
    assert str(caught.value) == f"{folder} is a key folder open to others (mode {mode:o}); chmod 700 {folder}"


def test_an_empty_folder_made_by_hand_open_to_others_is_refused_before_any_key_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(KeyStoreError, match="chmod 700"):
        KeyStore(folder).load_or_create("nl-hotline", NOW)
    assert list(folder.iterdir()) == []


def test_a_retired_key_folder_open_to_others_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.load_or_create("nl-hotline", NOW)
    store.rotate("nl-hotline", NOW)
    (tmp_path / "keys" / "retired").chmod(0o755)
    with pytest.raises(KeyStoreError, match=f"{tmp_path / 'keys' / 'retired'} is a key folder open to others"):
        KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)
    with pytest.raises(KeyStoreError, match="chmod 700"):
        store.rotate("nl-hotline", NOW)


def test_key_folders_are_made_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = KeyStore(tmp_path / "a" / "keys")
        store.load_or_create("nl-hotline", NOW)
        store.rotate("nl-hotline", NOW)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "keys" / "retired").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / "a" / "keys").rglob("*.pem"))
