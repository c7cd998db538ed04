"""`hotline-node`: run a node and administer it.

The app is assembled here from one module per command group. The first groups' commands sit at the top level
(`hotline-node create-token ...`, as they always have); newer ones are sub-commands, `hotline-node GROUP VERB`:
`roster` (node/cli/roster_custody.py and roster_trust.py, with `member-entry` from node/cli/roster.py) and
`keys` (node/cli/keys.py).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from node.cli import audit, demo, hashes, keys, peers, roster, roster_custody, roster_trust, serve, tokens

__all__ = ["app"]


def _merge(target: typer.Typer, *groups: typer.Typer) -> typer.Typer:
    """`target` with every group's commands added, in the order given.

    The commands are copied rather than added with a nameless `add_typer()`, which Typer supports only from
    0.15 (pyproject allows 0.12).
    """
    for group in groups:
        target.registered_commands.extend(group.registered_commands)
    return target


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"hotline-node {version('hotline-exchange')}")
        raise typer.Exit()


def _options(
    show_version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """A hotline exchange node: intake, case workflow and the integrator gRPC API."""


def _roster_group() -> typer.Typer:
    """`hotline-node roster VERB`: the network authority's custody of the roster, and installing it."""
    group = typer.Typer(
        help="The signed membership roster: draft, cosign and finalize a version (the authority); apply, verify "
        "and show one (every member). Exit codes: 0 done, 1 refused (the reason is printed), 2 usage or file error.",
        no_args_is_help=True,
    )
    group.command("member-entry")(roster.member_entry_command)
    return _merge(group, roster_custody.app, roster_trust.app)


app = _merge(
    typer.Typer(
        help="A hotline exchange node: intake, case workflow and the integrator gRPC API.", no_args_is_help=True
    ),
    serve.app,
    tokens.app,
    hashes.app,
    audit.app,
    roster.app,
    peers.app,
    demo.app,
)
app.callback()(_options)
app.add_typer(_roster_group(), name="roster")
app.add_typer(keys.app, name="keys")
