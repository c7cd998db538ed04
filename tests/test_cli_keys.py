"""The key and roster commands: what the operator and the network authority see when something is wrong."""

from __future__ import annotations

from pathlib import Path

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
    from node.app import build_node
    from node.config import load_config

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
    signed = runner.invoke(
        app,
        [
            "roster-sign", str(entry), "--key", str(tmp_path / "a.pem"), "--key", str(tmp_path / "b.pem"),
            "--version", "1", "--out", str(tmp_path / "roster.signed"),
        ],
    )  # fmt: skip
    assert signed.exit_code == 0, signed.output
    config = node_config(tmp_path)
    config.write_text(config.read_text() + f"authority_key_ids = {key_ids!r}\n".replace("'", '"'))
    node = build_node(load_config(config, env={}))
    try:
        assert node.exchange is not None and node.exchange.roster.membership.version == 1
    finally:
        node.executor.shutdown()
        node.engine.dispose()
