"""`hotline-node`: run a node and administer it.

The app is assembled here from one module per command group. Each group is a Typer app of its own, ready to
become a sub-command; today its commands sit at the top level, so the command line is what it always was
(`hotline-node create-token ...`).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from node.cli import audit, demo, hashes, peers, roster, serve, tokens

__all__ = ["app"]


def _assemble(*groups: typer.Typer) -> typer.Typer:
    """The `hotline-node` app with every group's commands at its top level, in the order given.

    The commands are copied rather than added with a nameless `add_typer()`, which Typer supports only from
    0.15 (pyproject allows 0.12).
    """
    app = typer.Typer(
        help="A hotline exchange node: intake, case workflow and the integrator gRPC API.", no_args_is_help=True
    )
    for group in groups:
        app.registered_commands.extend(group.registered_commands)
    app.callback()(_options)
    return app


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


app = _assemble(serve.app, tokens.app, hashes.app, audit.app, roster.app, peers.app, demo.app)
