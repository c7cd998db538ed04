"""The network authority's tools: a node's roster entry, authority keys, and signing a roster version.

Every command that writes or reads a private key honours HX_KEY_PASSPHRASE: with it set, keys are written
encrypted (Argon2id and AES-256-GCM, see node.crypto.keyfile) and encrypted keys are opened with it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "authority_key", "member_entry_command", "roster_sign"]

app = typer.Typer()


@app.command("member-entry")
def member_entry_command(
    config: ConfigOption = None,
    organisation: Annotated[str, typer.Option(help="The hotline's organisation name.")] = "",
) -> None:
    """Print this node's roster entry (public keys, certificate, endpoint) as JSON for the network authority.
    Makes the node's keys on first use."""
    import json

    from node.crypto.keystore import KeyStore, KeyStoreError, passphrase_from_env
    from node.exchange.authority import member_entry

    settings = load_settings(config)
    if settings.exchange is None:
        fail("config error: exchange: the config has no [exchange] section")
    from node.clock import SystemClock

    try:
        keys = KeyStore(Path(settings.exchange.key_dir), passphrase_from_env()).load_or_create(
            settings.node_id, SystemClock().now(), post_quantum=settings.exchange.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        fail(f"error: {error}")
    entry = member_entry(
        settings.node_id,
        [settings.jurisdiction],
        settings.exchange.listen,
        keys,
        organisation=organisation,
        require_all_signatures=settings.exchange.post_quantum,
    )
    typer.echo(json.dumps(entry, indent=2))


@app.command("authority-key")
def authority_key(out: Annotated[Path, typer.Argument(help="Where to write the new key (0600 PEM).")]) -> None:
    """Make a network-authority signing key (Ed25519) and print its key id, which members pin.
    Encrypted if HX_KEY_PASSPHRASE is set."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from node.crypto import SigningKeyPair
    from node.crypto.keys import ED25519
    from node.crypto.keystore import passphrase_from_env, write_private_key

    key = ed25519.Ed25519PrivateKey.generate()
    try:
        write_private_key(out, key, passphrase_from_env())
    except FileExistsError:
        fail(f"error: {out} exists already")
    except OSError as error:
        fail(f"error: cannot write {out}: {error.strerror or error}")
    typer.echo(f"wrote {out}; its key id (for exchange.authority_key_ids): {SigningKeyPair(ED25519, key).key_id}")


@app.command("roster-sign")
def roster_sign(
    members: Annotated[list[Path], typer.Argument(help="Member entries (JSON from member-entry).")],
    key: Annotated[list[Path], typer.Option(help="An authority key that signs this version; repeat.")],
    version: Annotated[int, typer.Option(help="The roster version: one more than the current.")],
    out: Annotated[Path, typer.Option(help="Where to write the signed roster.")],
    threshold: Annotated[int, typer.Option(help="Signatures the next version needs.")] = 2,
    next_key: Annotated[
        list[Path] | None, typer.Option(help="The next version's authority keys, if they rotate.")
    ] = None,
    valid_days: Annotated[int, typer.Option(help="Days until the roster expires.")] = 90,
) -> None:
    """Build and sign a roster version from member entries."""
    import json
    from datetime import timedelta

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from node.clock import SystemClock
    from node.crypto import SigningKeyPair
    from node.crypto.keys import ED25519
    from node.crypto.keystore import KeyStoreError, passphrase_from_env, read_private_key
    from node.crypto.roster import RosterError
    from node.exchange.authority import build_signed_roster

    passphrase = passphrase_from_env()

    def load(path: Path) -> SigningKeyPair:
        private = read_private_key(path, passphrase)
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise KeyStoreError(f"{path} is not an Ed25519 key (authority keys are)")
        return SigningKeyPair(ED25519, private)

    try:
        signers = [load(p) for p in key]
        entries = [json.loads(p.read_text()) for p in members]
        signed = build_signed_roster(
            entries,
            version=version,
            now=SystemClock().now(),
            valid_for=timedelta(days=valid_days),
            authority_keys=signers,
            next_authority=[load(p) for p in next_key] if next_key else signers,
            threshold=threshold,
        )
    except (DomainError, OSError, ValueError, RosterError, KeyStoreError) as error:
        fail(f"error: {error}")
    out.write_bytes(signed)
    typer.echo(f"wrote roster version {version} with {len(entries)} member(s) to {out}")
