from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from node.crypto.keystore import KeyStore, KeyStoreError

NOW = datetime(2026, 3, 2, tzinfo=UTC)


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
    assert b"ENCRYPTED" in (tmp_path / "signing-ed25519.pem").read_bytes()
    with pytest.raises(KeyStoreError, match="passphrase"):
        KeyStore(tmp_path, b"wrong").load_or_create("nl-hotline", NOW)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    KeyStore(tmp_path).load_or_create("nl-hotline", NOW)
    (tmp_path / "signing-ed25519.pem").chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore(tmp_path).load_or_create("nl-hotline", NOW)
