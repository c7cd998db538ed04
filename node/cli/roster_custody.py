"""`hotline-node roster authority-key | draft | cosign | finalize`: the network authority's threshold custody.

A roster version is drafted once from the member entries (public keys only), each custodian signs it on
their own machine with their own key (`cosign`), and `finalize` assembles the signatures and checks the
threshold. No step needs more than one private key. Exit codes: 0 done, 1 refused (the reason is printed),
2 a usage, file or key error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import fail
from node.cli._roster_files import (
    PreviousOption,
    load_authority_key,
    read_bytes,
    read_previous,
    read_public_key,
    refuse,
    write_new,
)
from node.crypto.roster import RosterError
from node.errors import DomainError

__all__ = ["app"]

app = typer.Typer()


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, item = value.partition("=")
        if not sep or not key or not item:
            fail(f"error: {option} takes KEY=VALUE, got {value!r}")
        if key in pairs:
            fail(f"error: {option} gives {key} twice")
        pairs[key] = item
    return pairs


@app.command("authority-key")
def new_authority_key(out: Annotated[Path, typer.Argument(help="Where to write the new key (0600 PEM).")]) -> None:
    """Make a custodian's authority signing key (Ed25519): OUT stays on this machine, OUT.pub (its public key)
    goes to whoever drafts the roster. Encrypted if HX_KEY_PASSPHRASE is set."""
    from node.cli.roster import write_authority_key

    key_id, public = write_authority_key(out, with_public=True)
    typer.echo(f"wrote {out} (keep it here) and {public} (send it to the drafter); key id {key_id}")


@app.command("draft")
def draft(
    members: Annotated[list[Path], typer.Argument(help="Member entries (JSON from `member-entry`).")],
    out: Annotated[Path, typer.Option(help="Where to write the draft (unsigned).")],
    previous: PreviousOption = None,
    version: Annotated[int | None, typer.Option(help="Default: one above --previous, or 1.")] = None,
    valid_days: Annotated[
        float, typer.Option(help="Days from now until the roster expires (fractions allowed: 0.5 is 12 hours).")
    ] = 90,
    authority_key: Annotated[
        list[Path] | None,
        typer.Option(
            help="PUBLIC key (.pub) of an authority key that signs the NEXT version; repeat. "
            "Default: --previous's authority."
        ),
    ] = None,
    threshold: Annotated[int | None, typer.Option(help="Signatures the next version needs.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="NODE=full|provisional|suspended|revoked; repeat.")] = None,
    designate: Annotated[
        list[str] | None, typer.Option(help="COUNTRY=NODE: the designated receiver for a country; repeat.")
    ] = None,
    fallback: Annotated[str, typer.Option(help="For countries with no member: direct or refer.")] = "direct",
    fallback_node: Annotated[str, typer.Option(help="The member that takes them, with --fallback refer.")] = "",
    network_id: Annotated[str, typer.Option(help="Default: --previous's, or hotline-network.")] = "",
) -> None:
    """Draft the next roster version from member entries, for the custodians to cosign."""
    import json

    from node.clock import SystemClock
    from node.exchange.custody import DraftOptions, draft_roster, roster_digest

    try:
        entries = [json.loads(read_bytes(p)) for p in members]
    except ValueError as error:
        fail(f"error: a member entry is not JSON: {error}")
    options = DraftOptions(
        valid_for=timedelta(days=valid_days),
        version=version,
        authority=[read_public_key(p) for p in authority_key or []],
        threshold=threshold,
        statuses=_pairs(status, "--status"),
        designated={c.upper(): n for c, n in _pairs(designate, "--designate").items()},
        fallback=fallback,
        fallback_node=fallback_node,
        network_id=network_id,
    )
    try:
        data = draft_roster(entries, options, previous=read_previous(previous), now=SystemClock().now())
    except RosterError as error:
        refuse(error)
    except DomainError as error:
        fail(f"error: {error}")
    write_new(out, data)
    typer.echo(f"wrote the draft of {len(entries)} member(s) to {out}; {roster_digest(data)}")


@app.command("cosign")
def cosign(
    draft_file: Annotated[Path, typer.Argument(metavar="DRAFT", help="The draft (or a copy others signed).")],
    key: Annotated[Path, typer.Option(help="Your authority key (private, on this machine).")],
    previous: PreviousOption = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the signed copy. Default: DRAFT itself.")] = None,
) -> None:
    """Add your signature to a draft. Check its digest (`roster show DRAFT`) with the drafter first."""
    from node.exchange.custody import cosign as add_signature
    from node.exchange.custody import roster_digest

    signer = load_authority_key(key)
    try:
        data = add_signature(read_bytes(draft_file), signer, previous=read_previous(previous))
    except RosterError as error:
        refuse(error)
    target = out or draft_file
    write_new(target, data, replace=target == draft_file)
    typer.echo(f"signed {roster_digest(data)} as {signer.key_id}; wrote {target}")


@app.command("finalize")
def finalize(
    copies: Annotated[list[Path], typer.Argument(help="The custodians' signed copies of one draft.")],
    out: Annotated[Path, typer.Option(help="Where to write the signed roster.")],
    previous: PreviousOption = None,
) -> None:
    """Assemble the custodians' signatures and check them against the threshold; write the signed roster."""
    from node.clock import SystemClock
    from node.crypto.roster import parse_signed_roster
    from node.exchange.custody import finalize as assemble

    try:
        data = assemble([read_bytes(c) for c in copies], previous=read_previous(previous), now=SystemClock().now())
    except RosterError as error:
        refuse(error)
    write_new(out, data)
    signed, roster = parse_signed_roster(data)
    typer.echo(
        f"wrote roster version {roster.version} ({len(roster.members)} member(s), "
        f"{len(signed.signatures)} signature(s)) to {out}"
    )
