"""What the roster commands share: reading roster files and keys, writing results, and refusing with the
reason. Exit codes of every `hotline-node roster` command: 0 done, 1 refused (the roster or draft breaks a
rule; the reason code and message are printed), 2 a usage, file, key or config error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from node.api._gen.hotline.exchange.v1 import roster_pb2
from node.cli._common import REFUSED, fail
from node.crypto import SigningKeyPair
from node.crypto.roster import RosterError, parse_signed_roster

__all__ = [
    "REFUSED",
    "JsonOption",
    "PreviousOption",
    "load_authority_key",
    "print_json",
    "read_bytes",
    "read_previous",
    "read_public_key",
    "refuse",
    "write_new",
]


JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
PreviousOption = Annotated[
    Path | None,
    typer.Option(
        "--previous", help="The current signed roster (version N), when this is version N+1: its authority signs."
    ),
]


def refuse(error: RosterError, as_json: bool = False) -> NoReturn:
    """Exit 1 with the reason: `refused: REASON: message` on stderr, or as JSON on stdout."""
    if as_json:
        typer.echo(json.dumps({"ok": False, "reason": error.reason, "message": error.message}))
        raise typer.Exit(REFUSED)
    fail(f"refused: {error.reason}: {error.message}", REFUSED)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        fail(f"error: cannot read {path}: {error.strerror or error}")


def read_previous(path: Path | None) -> roster_pb2.Roster | None:
    """The roster inside the signed file `path` (None without one)."""
    if path is None:
        return None
    try:
        return parse_signed_roster(read_bytes(path))[1]
    except RosterError as error:
        fail(f"error: {path}: {error.reason}: {error.message}")


def load_authority_key(path: Path) -> SigningKeyPair:
    """An authority's private signing key (Ed25519), opened with HX_KEY_PASSPHRASE if it is encrypted."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from node.crypto.keys import ED25519
    from node.crypto.keystore import KeyStoreError, passphrase_from_env, read_private_key

    try:
        private = read_private_key(path, passphrase_from_env())
    except (KeyStoreError, OSError) as error:
        fail(f"error: {error}")
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        fail(f"error: {path} is not an Ed25519 key (authority keys are)")
    return SigningKeyPair(ED25519, private)


def read_public_key(path: Path) -> roster_pb2.SigningKey:
    """An authority's public key (PEM, as `roster authority-key` writes it beside the private key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from node.crypto.keys import ED25519
    from node.exchange.authority import authority_key

    data = read_bytes(path)
    if b"PRIVATE KEY" in data:
        fail(f"error: {path} is a private key; give the public key (the .pub file `roster authority-key` wrote)")
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        fail(f"error: {path} is not a PEM public key")
    if not isinstance(public, ed25519.Ed25519PublicKey):
        fail(f"error: {path} is not an Ed25519 public key (authority keys are)")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return authority_key(ED25519, raw)


def write_new(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Write `data` to `path` (refusing to overwrite another file unless `replace`)."""
    if path.exists() and not replace:
        fail(f"error: {path} exists already")
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as error:
        fail(f"error: cannot write {path}: {error.strerror or error}")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))
