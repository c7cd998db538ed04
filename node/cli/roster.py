"""The first roster tools, at the top level: a node's roster entry (`member-entry`), an authority key
(`authority-key`) and signing a version with every authority key on one machine (`roster-sign`). They keep
working; the `roster` group (node/cli/roster_custody.py, roster_trust.py) is preferred: `roster member-entry`,
`roster authority-key`, then `roster draft`, `cosign` and `finalize`.

Every command that writes or reads a private key honours HX_KEY_PASSPHRASE: with it set, keys are written
encrypted (Argon2id and AES-256-GCM, see node.crypto.keyfile) and encrypted keys are opened with it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

if TYPE_CHECKING:
    from node.config import NodeConfig
    from node.crypto.keystore import NodeKeys

__all__ = [
    "DEFAULT_OVERLAP_DAYS",
    "OverlapOption",
    "app",
    "authority_key",
    "check_overlap",
    "member_entry_command",
    "print_member_entry",
    "roster_sign",
    "write_authority_key",
]

app = typer.Typer()


OverlapOption = Annotated[
    int,
    typer.Option(
        "--overlap-days",
        help="Days after a rotation during which peers still accept the retired keys and TLS certificate.",
    ),
]
DEFAULT_OVERLAP_DAYS = 14


@app.command("member-entry")
def member_entry_command(
    config: ConfigOption = None,
    organisation: Annotated[str, typer.Option(help="The hotline's organisation name.")] = "",
    overlap_days: OverlapOption = DEFAULT_OVERLAP_DAYS,
) -> None:
    """Print this node's roster entry (public keys, certificate, endpoint) as JSON for the network authority.
    The endpoint is exchange.advertise (or exchange.listen without it). Makes the node's keys on first use."""
    from node.crypto.keystore import KeyStore, KeyStoreError, passphrase_from_env

    settings = load_settings(config)
    if settings.exchange is None:
        fail("config error: exchange: the config has no [exchange] section")
    advertised_endpoint(settings)
    from node.clock import SystemClock

    try:
        keys = KeyStore(Path(settings.exchange.key_dir), passphrase_from_env()).load_or_create(
            settings.node_id, SystemClock().now(), post_quantum=settings.exchange.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        fail(f"error: {error}")
    print_member_entry(settings, keys, organisation, overlap_days)


def advertised_endpoint(settings: NodeConfig) -> str:
    """exchange.advertise (or exchange.listen without it); a wildcard listen address no peer can dial fails."""
    assert settings.exchange is not None
    endpoint = settings.exchange.endpoint()
    if not endpoint:
        fail(
            f"config error: exchange.advertise: exchange.listen is {settings.exchange.listen}, which no peer can "
            "dial: set exchange.advertise to the host:port peers reach this node at, for example hotline.example:50061"
        )
    return endpoint


def check_overlap(days: int) -> None:
    if not 0 <= days <= 365:
        fail(f"error: --overlap-days must be between 0 and 365, not {days}")


def print_member_entry(settings: NodeConfig, keys: NodeKeys, organisation: str, overlap_days: int) -> None:
    """Print the node's roster entry as JSON: retired keys valid until `overlap_days` after their retirement."""
    import json
    from datetime import timedelta

    from node.clock import SystemClock
    from node.exchange.authority import member_entry

    assert settings.exchange is not None
    check_overlap(overlap_days)
    entry = member_entry(
        settings.node_id,
        [settings.jurisdiction],
        advertised_endpoint(settings),
        keys,
        organisation=organisation,
        require_all_signatures=settings.exchange.post_quantum,
        overlap=timedelta(days=overlap_days),
        now=SystemClock().now(),
    )
    typer.echo(json.dumps(entry, indent=2))


@app.command("authority-key")
def authority_key(out: Annotated[Path, typer.Argument(help="Where to write the new key (0600 PEM).")]) -> None:
    """Make a network-authority signing key (Ed25519) and print its key id, which members pin.
    Encrypted if HX_KEY_PASSPHRASE is set. (`roster authority-key` also writes the public key, for drafts.)"""
    key_id, _ = write_authority_key(out, with_public=False)
    typer.echo(f"wrote {out}; its key id (for exchange.authority_key_ids): {key_id}")


def write_authority_key(out: Path, *, with_public: bool) -> tuple[str, Path | None]:
    """Write a new Ed25519 authority key to `out` (and its public key to `out`.pub); (key id, .pub path)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from node.crypto import SigningKeyPair
    from node.crypto.keys import ED25519
    from node.crypto.keystore import passphrase_from_env, write_private_key

    key = ed25519.Ed25519PrivateKey.generate()
    public = out.with_name(out.name + ".pub") if with_public else None
    if public is not None and public.exists():
        fail(f"error: {public} exists already")
    try:
        write_private_key(out, key, passphrase_from_env())
        if public is not None:
            pem = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            public.write_bytes(pem)
    except FileExistsError:
        fail(f"error: {out} exists already")
    except OSError as error:
        fail(f"error: cannot write {out}: {error.strerror or error}")
    return SigningKeyPair(ED25519, key).key_id, public


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
    """Build and sign a roster version from member entries, with every signing key on this machine. Prefer
    `roster draft`, `roster cosign` and `roster finalize`: each custodian signs with their own key."""
    import json
    from datetime import timedelta

    from node.cli._roster_files import load_authority_key
    from node.clock import SystemClock
    from node.crypto.roster import RosterError, sign_roster
    from node.exchange.authority import authority_key as listed_key
    from node.exchange.authority import build_roster
    from node.exchange.roster_rules import check_roster_contents

    signers = [load_authority_key(p) for p in key]
    next_authority = [load_authority_key(p) for p in next_key] if next_key else signers
    now = SystemClock().now()
    try:
        entries = [json.loads(p.read_text()) for p in members]
        roster = build_roster(
            entries,
            version=version,
            now=now,
            valid_for=timedelta(days=valid_days),
            authority=[listed_key(k.algorithm, k.public.public_key) for k in next_authority],
            threshold=threshold,
        )
        check_roster_contents(roster, now)
        signed = sign_roster(roster, signers)
    except (DomainError, OSError, ValueError, RosterError) as error:
        fail(f"error: {error}")
    out.write_bytes(signed)
    typer.echo(f"wrote roster version {version} with {len(entries)} member(s) to {out}")
