"""`hotline-node roster apply | verify | show`: what a member's operator does with a signed roster.

`apply` installs the next version into the node's store, verified against the chain the node trusts, whether
the node runs or not; a running node adopts it on its next roster check (exchange.roster_check_seconds,
30 s by default), without a restart. Exit codes: 0 done, 1 refused (the reason code and message are printed:
ROLLBACK, NOT_NEXT, EXPIRED, THRESHOLD, BAD_SIGNATURE, MALFORMED, ...), 2 a usage, file or config error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.cli._roster_files import JsonOption, PreviousOption, print_json, read_bytes, read_previous, refuse
from node.crypto.roster import RosterError
from node.errors import DomainError

__all__ = ["app"]

app = typer.Typer()

RosterFile = Annotated[Path, typer.Argument(metavar="FILE", help="A signed roster file.")]


@app.command("apply")
def apply(file: RosterFile, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Install the next signed roster version into this node (running or stopped), verified against the
    roster it trusts."""
    from node.app import roster_state

    settings = load_settings(config)
    data = read_bytes(file)
    try:
        with roster_state(settings) as state:
            before = state.membership.version
            installed = state.install(data)
            version = state.membership.version
    except RosterError as error:
        refuse(error, as_json)
    except DomainError as error:
        fail(f"error: {error}")
    if as_json:
        print_json({"ok": True, "installed": installed, "version": version, "previous_version": before})
    elif installed:
        typer.echo(
            f"installed roster version {version} (was {before}); a running node adopts it within "
            f"{settings.exchange.roster_check_seconds if settings.exchange else 0:g} s"
        )
    else:
        typer.echo(f"roster version {version} is already the trusted one; nothing to do")


@app.command("verify")
def verify(
    file: RosterFile, config: ConfigOption = None, previous: PreviousOption = None, as_json: JsonOption = False
) -> None:
    """Check a signed roster: against the chain this node trusts (--config), against the version before it
    (--previous), or, for version 1, against its own authority. Changes nothing."""
    from node.clock import SystemClock
    from node.exchange.custody import verify_signed

    data = read_bytes(file)
    try:
        if config is not None:
            from node.app import roster_state

            with roster_state(load_settings(config)) as state:
                verdict, roster = state.check(data)
                trusted = state.membership.version
        else:
            roster = verify_signed(data, previous=read_previous(previous), now=SystemClock().now())
            verdict, trusted = "valid", roster.version - 1
    except RosterError as error:
        refuse(error, as_json)
    except DomainError as error:
        fail(f"error: {error}")
    if as_json:
        print_json({"ok": True, "verdict": verdict, "version": roster.version, "trusted_version": trusted})
        return
    typer.echo(
        {
            "trusted": f"version {roster.version} is the roster this node trusts",
            "older": f"version {roster.version} is an older version this node trusted (it trusts {trusted})",
            "next": f"version {roster.version} verifies as the next version after {trusted}: `roster apply` it",
            "valid": f"version {roster.version} verifies: signed by a threshold of the authority that signs it",
        }[verdict]
    )


@app.command("show")
def show(
    file: Annotated[Path | None, typer.Argument(metavar="[FILE]", help="A signed roster or a draft.")] = None,
    trusted: Annotated[bool, typer.Option("--trusted", help="The roster this node trusts (needs --config).")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a roster: members, statuses, keys with validity, endpoints, threshold, signatures and expiry."""
    from node.cli.roster_view import describe, render
    from node.crypto.roster import parse_signed_roster

    if (file is None) == (not trusted):
        fail("error: give a FILE or --trusted (with --config), not both")
    if file is not None:
        data = read_bytes(file)
    else:
        from node.app import roster_state

        try:
            with roster_state(load_settings(config)) as state:
                data = state.signed_after(state.membership.version - 1)[0]
        except (RosterError, DomainError) as error:
            fail(f"error: {error}")
    try:
        view = describe(*parse_signed_roster(data))
    except RosterError as error:
        refuse(error, as_json)
    if as_json:
        print_json(view)
    else:
        typer.echo(render(view))
