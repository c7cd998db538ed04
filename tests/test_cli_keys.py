"""The key and roster commands: what the operator and the network authority see when something is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from node.cli import app
from node.crypto import SigningKeyPair
from node.crypto.keys import ED25519

runner = CliRunner()


def node_config(tmp_path: Path, node_id: str = "nl-hotline", country: str = "NL") -> Path:
    path = tmp_path / f"{node_id}.toml"
    path.write_text(
        f'[node]\nid = "{node_id}"\njurisdiction = "{country}"\n'
        f'database_url = "sqlite+pysqlite:///{tmp_path}/{node_id}.db"\n[hosting]\nresolver = "static"\n'
        f'[exchange]\nlisten = "127.0.0.1:50061"\nroster_file = "{tmp_path}/roster.signed"\n'
        f'key_dir = "{tmp_path}/{node_id}-keys"\n'
    )
    return path


def member_entry(tmp_path: Path, node_id: str = "nl-hotline", country: str = "NL") -> Path:
    result = runner.invoke(app, ["member-entry", "-c", str(node_config(tmp_path, node_id, country))])
    assert result.exit_code == 0, result.output
    entry = tmp_path / f"{node_id}.json"
    entry.write_text(result.output)
    return entry


def sign_roster(entry: Path, keys: list[Path], out: Path) -> None:
    """`roster-sign` version 1 of `entry` with `keys` (and the passphrase, if the environment has one)."""
    result = runner.invoke(
        app, ["roster-sign", str(entry), *[f"--key={k}" for k in keys], "--version", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output


def trusted_version(config: Path) -> int:
    """The roster version the node built from `config` trusts (HX_KEY_PASSPHRASE from the environment)."""
    from node.app import build_node
    from node.config import load_config

    node = build_node(load_config(config, env={}))
    try:
        assert node.exchange is not None
        return node.exchange.roster.membership.version
    finally:
        node.executor.shutdown()
        node.engine.dispose()


def test_roster_sign_refuses_one_authority_key_given_twice(tmp_path: Path) -> None:
    entry = member_entry(tmp_path)
    assert runner.invoke(app, ["authority-key", str(tmp_path / "a.pem")]).exit_code == 0
    key_id = SigningKeyPair(ED25519, serialization.load_pem_private_key((tmp_path / "a.pem").read_bytes(), None)).key_id
    out = tmp_path / "roster.signed"
    for extra in ([], ["--next-key", str(tmp_path / "a.pem"), "--next-key", str(tmp_path / "a.pem")]):
        result = runner.invoke(
            app,
            [
                "roster-sign", str(entry), "--key", str(tmp_path / "a.pem"), "--key", str(tmp_path / "a.pem"),
                "--version", "1", "--threshold", "2", "--out", str(out), *extra,
            ],
        )  # fmt: skip
        assert result.exit_code == 2
        assert result.output.strip() == f"error: DUPLICATE_KEY: version 1's authority lists key {key_id} twice"
        assert not out.exists()


def test_authority_key_prints_the_key_id_members_pin(tmp_path: Path) -> None:
    """The authority's key ids, as printed, pinned in a member's config: the member trusts the roster."""
    entry = member_entry(tmp_path)
    key_ids = []
    for name in ("a.pem", "b.pem"):
        result = runner.invoke(app, ["authority-key", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        key = serialization.load_pem_private_key((tmp_path / name).read_bytes(), None)
        key_id = SigningKeyPair(ED25519, key).key_id
        assert (
            result.output.strip() == f"wrote {tmp_path / name}; its key id (for exchange.authority_key_ids): {key_id}"
        )
        key_ids.append(key_id)
    sign_roster(entry, [tmp_path / "a.pem", tmp_path / "b.pem"], tmp_path / "roster.signed")
    config = node_config(tmp_path)
    config.write_text(config.read_text() + f"authority_key_ids = {key_ids!r}\n".replace("'", '"'))
    assert trusted_version(config) == 1


PASSPHRASE = {"HX_KEY_PASSPHRASE": "correct horse battery staple"}
ENCRYPTED = b"-----BEGIN HOTLINE-EXCHANGE ENCRYPTED PRIVATE KEY-----\nVersion: 1\nKDF: argon2id\n"


def test_member_entry_honours_the_passphrase_and_the_node_then_starts_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = node_config(tmp_path)
    result = runner.invoke(app, ["member-entry", "-c", str(config)], env=PASSPHRASE)
    assert result.exit_code == 0, result.output
    (tmp_path / "nl-hotline.json").write_text(result.output)
    keys = sorted((tmp_path / "nl-hotline-keys").glob("*.pem"))
    assert [p.name for p in keys] == ["hpke-x25519.pem", "signing-ed25519.pem", "tls-cert.pem", "tls-key.pem"]
    assert all(p.read_bytes().startswith(ENCRYPTED) for p in keys if p.name != "tls-cert.pem")
    again = runner.invoke(app, ["member-entry", "-c", str(config)], env=PASSPHRASE)
    assert again.exit_code == 0 and again.output == result.output
    assert runner.invoke(app, ["authority-key", str(tmp_path / "a.pem")], env=PASSPHRASE).exit_code == 0
    assert runner.invoke(app, ["authority-key", str(tmp_path / "b.pem")], env=PASSPHRASE).exit_code == 0
    monkeypatch.setenv("HX_KEY_PASSPHRASE", PASSPHRASE["HX_KEY_PASSPHRASE"])  # for roster-sign and the node
    sign_roster(tmp_path / "nl-hotline.json", [tmp_path / "a.pem", tmp_path / "b.pem"], tmp_path / "roster.signed")
    assert trusted_version(config) == 1


def test_encrypted_keys_without_the_passphrase_are_named_in_one_line(tmp_path: Path) -> None:
    config = node_config(tmp_path)
    assert runner.invoke(app, ["member-entry", "-c", str(config)], env=PASSPHRASE).exit_code == 0
    key = tmp_path / "nl-hotline-keys" / "signing-ed25519.pem"
    for command in (["member-entry", "-c", str(config)], ["serve", "-c", str(config)]):
        result = runner.invoke(app, command, env={"HX_KEY_PASSPHRASE": ""})
        assert result.exit_code == 2
        prefix = "error: " if command[0] == "member-entry" else "cannot start: exchange.key_dir: "
        assert result.output.strip() == f"{prefix}{key} is encrypted; set HX_KEY_PASSPHRASE to its passphrase"
    result = runner.invoke(app, ["serve", "-c", str(config)], env={"HX_KEY_PASSPHRASE": "wrong"})
    assert result.exit_code == 2
    assert result.output.strip() == f"cannot start: exchange.key_dir: {key} does not open with the passphrase given"


def test_plain_keys_with_a_passphrase_set_are_named_in_one_line(tmp_path: Path) -> None:
    config = node_config(tmp_path)
    assert runner.invoke(app, ["member-entry", "-c", str(config)], env={"HX_KEY_PASSPHRASE": ""}).exit_code == 0
    result = runner.invoke(app, ["serve", "-c", str(config)], env=PASSPHRASE)
    assert result.exit_code == 2
    key = tmp_path / "nl-hotline-keys" / "signing-ed25519.pem"
    assert result.output.strip() == (
        f"cannot start: exchange.key_dir: {key} is not encrypted, but HX_KEY_PASSPHRASE is set "
        "(unset it to use the key as it is)"
    )


def test_authority_keys_honour_the_passphrase(tmp_path: Path) -> None:
    entry = member_entry(tmp_path)
    result = runner.invoke(app, ["authority-key", str(tmp_path / "a.pem")], env=PASSPHRASE)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.pem").read_bytes().startswith(ENCRYPTED)
    sign = ["roster-sign", str(entry), "--key", str(tmp_path / "a.pem"), "--threshold", "1", "--version", "1"]
    result = runner.invoke(app, [*sign, "--out", str(tmp_path / "r.signed")], env={"HX_KEY_PASSPHRASE": ""})
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'a.pem'} is encrypted; set HX_KEY_PASSPHRASE to its passphrase"
    result = runner.invoke(app, [*sign, "--out", str(tmp_path / "r.signed")], env=PASSPHRASE)
    assert result.exit_code == 0, result.output
    (tmp_path / "a.pem").chmod(0o640)
    result = runner.invoke(app, [*sign, "--out", str(tmp_path / "r2.signed")], env=PASSPHRASE)
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'a.pem'} is readable by others (mode 640); chmod 600 it"


def test_a_node_key_is_not_an_authority_key(tmp_path: Path) -> None:
    entry = member_entry(tmp_path)
    hpke = tmp_path / "nl-hotline-keys" / "hpke-x25519.pem"
    result = runner.invoke(
        app,
        [
            "roster-sign",
            str(entry),
            "--key",
            str(hpke),
            "--threshold",
            "1",
            "--version",
            "1",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {hpke} is not an Ed25519 key (authority keys are)"


def test_serve_refuses_a_key_folder_open_to_others_in_one_line(tmp_path: Path) -> None:
    config = node_config(tmp_path)
    assert runner.invoke(app, ["member-entry", "-c", str(config)]).exit_code == 0
    folder = tmp_path / "nl-hotline-keys"
    folder.chmod(0o755)
    for command, prefix in (("serve", "cannot start: exchange.key_dir: "), ("member-entry", "error: ")):
        result = runner.invoke(app, [command, "-c", str(config)])
        assert result.exit_code == 2
        assert (
            result.output.strip() == f"{prefix}{folder} is a key folder open to others (mode 755); chmod 700 {folder}"
        )


def test_keys_rotate_tls_prints_the_new_entry_with_the_previous_certificate(tmp_path: Path) -> None:
    import json

    before = json.loads(member_entry(tmp_path).read_text())
    config = node_config(tmp_path)
    result = runner.invoke(app, ["keys", "rotate", "--tls", "-c", str(config), "--overlap-days", "7"])
    assert result.exit_code == 0, result.output
    after = json.loads(result.stdout)
    assert after["tls_cert_sha256"] != before["tls_cert_sha256"]
    assert [c["sha256"] for c in after["previous_tls_certs"]] == [before["tls_cert_sha256"]]
    assert after["previous_tls_certs"][0]["not_after"]
    assert after["signing_keys"] == before["signing_keys"]  # only the TLS identity rotated
    assert "keeps using its old keys until a roster listing the new ones is applied" in result.stderr


def test_keys_rotate_without_a_flag_rotates_every_kind(tmp_path: Path) -> None:
    import json

    before = json.loads(member_entry(tmp_path).read_text())
    result = runner.invoke(app, ["keys", "rotate", "-c", str(node_config(tmp_path))])
    assert result.exit_code == 0, result.output
    after = json.loads(result.stdout)
    assert after["tls_cert_sha256"] != before["tls_cert_sha256"]
    assert after["signing_keys"][0]["key_id"] != before["signing_keys"][0]["key_id"]
    assert after["hpke_keys"][0]["key_id"] != before["hpke_keys"][0]["key_id"]
    assert {k["key_id"] for k in before["signing_keys"]} < {k["key_id"] for k in after["signing_keys"]}


def test_keys_rotate_refuses_a_bad_overlap_and_rotates_nothing(tmp_path: Path) -> None:
    before = member_entry(tmp_path).read_text()
    result = runner.invoke(app, ["keys", "rotate", "-c", str(node_config(tmp_path)), "--overlap-days", "400"])
    assert result.exit_code == 2
    assert "--overlap-days must be between 0 and 365, not 400" in result.output
    assert member_entry(tmp_path).read_text() == before


def test_keys_rotate_without_an_exchange_section_names_it(tmp_path: Path) -> None:
    config = tmp_path / "plain.toml"
    config.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[hosting]\nresolver = "static"\n'
    )
    result = runner.invoke(app, ["keys", "rotate", "-c", str(config)])
    assert result.exit_code == 2
    assert "the config has no [exchange] section" in result.output


def test_keys_rotate_refuses_a_key_folder_open_to_others_and_rotates_nothing(tmp_path: Path) -> None:
    before = member_entry(tmp_path).read_text()
    keys = tmp_path / "nl-hotline-keys"
    keys.chmod(0o755)
    result = runner.invoke(app, ["keys", "rotate", "-c", str(node_config(tmp_path))])
    assert result.exit_code == 2
    assert f"{keys} is a key folder open to others (mode 755); chmod 700 {keys}" in result.output
    keys.chmod(0o700)
    assert member_entry(tmp_path).read_text() == before
