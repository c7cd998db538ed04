"""`hotline-node keys rotate`: new signing, HPKE and TLS keys for this node, the old ones kept for the overlap.

The new keys are made beside the old ones (node.crypto.keystore: crash-safe, the old or the new set is
complete at every moment); the command prints the node's new roster entry for the network authority. The
node keeps signing with, and presenting, the keys its trusted roster lists until a roster listing the new
ones is trusted, then switches without a restart (node.exchange.key_choice). Peers accept the retired keys
and certificate until `--overlap-days` after the rotation. Exit codes: 0 rotated (the entry is printed on
stdout), 2 a usage, config or key error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.cli.roster import DEFAULT_OVERLAP_DAYS, OverlapOption, check_overlap, print_member_entry

__all__ = ["app"]

app = typer.Typer(
    help="This node's keys: rotate them. Exit codes: 0 done, 2 usage, config or key error.", no_args_is_help=True
)


@app.command("rotate")
def rotate(
    signing: Annotated[bool, typer.Option("--signing", help="Rotate the message signing key(s).")] = False,
    hpke: Annotated[bool, typer.Option("--hpke", help="Rotate the X25519 HPKE (encryption) key.")] = False,
    tls: Annotated[bool, typer.Option("--tls", help="Rotate the TLS certificate and its key.")] = False,
    config: ConfigOption = None,
    organisation: Annotated[str, typer.Option(help="The hotline's organisation name, for the entry.")] = "",
    overlap_days: OverlapOption = DEFAULT_OVERLAP_DAYS,
) -> None:
    """Make new keys (all kinds unless some are named), keep the old ones, and print the new roster entry
    (JSON) to send to the network authority. Works whether the node runs or not."""
    from node.clock import SystemClock
    from node.crypto.keystore import KeyStore, KeyStoreError, passphrase_from_env

    settings = load_settings(config)
    if settings.exchange is None:
        fail("config error: exchange: the config has no [exchange] section")
    check_overlap(overlap_days)
    kinds = [kind for kind, chosen in (("signing", signing), ("hpke", hpke), ("tls", tls)) if chosen]
    kinds = kinds or ["signing", "hpke", "tls"]
    try:
        keys = KeyStore(Path(settings.exchange.key_dir), passphrase_from_env()).rotate(
            settings.node_id, SystemClock().now(), kinds=kinds, post_quantum=settings.exchange.post_quantum
        )
    except (KeyStoreError, OSError) as error:
        fail(f"error: {error}")
    typer.secho(
        f"rotated {', '.join(kinds)}; send the entry below to the network authority. This node keeps using its "
        "old keys until a roster listing the new ones is applied.",
        err=True,
    )
    print_member_entry(settings, keys, organisation, overlap_days)
