"""`hotline-node`: run a node and administer it.

The app is assembled here from one module per command group. The first groups' commands sit at the top level
(`hotline-node create-token ...`, as they always have); newer ones are sub-commands, `hotline-node GROUP VERB`:
`roster` (node/cli/roster_custody.py and roster_trust.py, with `member-entry` from node/cli/roster.py), `peers`
(node/cli/peers.py, with `reset-backoff` from node/cli/federation.py), `outbox` and `rejections`, `notices`
(node/cli/notices.py), `audit` (node/cli/audit.py), `tokens` (node/cli/tokens.py; `create-token` is also its
`tokens create`), `hashes` (node/cli/hash_verdicts.py) and `keys` (node/cli/keys.py).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

from node.logs import quiet_grpc_core

quiet_grpc_core()  # before anything imports grpc: its C core reads GRPC_VERBOSITY once, then

import typer  # noqa: E402

from node.cli import (  # noqa: E402
    audit,
    check_config,
    demo,
    federation,
    hash_verdicts,
    hashes,
    keys,
    notices,
    peers,
    recovery,
    roster,
    roster_custody,
    roster_trust,
    serve,
    tokens,
)
from node.cli._common import EXIT_CODES, GuardedTyper, set_debug  # noqa: E402

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
    debug: Annotated[bool, typer.Option("--debug", help="Print the traceback of an unexpected error.")] = False,
) -> None:
    """A hotline exchange node: intake, case workflow and the integrator gRPC API."""
    set_debug(debug)


_EXIT_HELP = "Exit codes: " + "; ".join(f"{code} {meaning.split(':')[0]}" for code, meaning in EXIT_CODES.items()) + "."


def _roster_group() -> typer.Typer:
    """`hotline-node roster VERB`: the network authority's custody of the roster, and installing it."""
    group = typer.Typer(
        help="The signed membership roster: draft, cosign and finalize a version (the authority); apply, verify "
        "and show one (every member). Exit codes: 0 done, 1 refused (the reason is printed), 2 usage or file error, "
        "3 database unavailable.",
        no_args_is_help=True,
    )
    group.command("member-entry")(roster.member_entry_command)
    return _merge(group, roster_custody.app, roster_trust.app)


app = _merge(
    GuardedTyper(
        help=f"A hotline exchange node: intake, case workflow and the integrator gRPC API. {_EXIT_HELP}",
        no_args_is_help=True,
    ),
    serve.app,
    check_config.app,
    tokens.app,
    hashes.app,
    audit.app,
    roster.app,
    federation.app,
    recovery.app,
    demo.app,
)
app.callback()(_options)
app.add_typer(_roster_group(), name="roster")
app.add_typer(notices.app, name="notices")
app.add_typer(audit.group, name="audit")
peers.app.command("reset-backoff")(federation.reset_backoff)
app.add_typer(peers.app, name="peers")
app.add_typer(federation.outbox_app, name="outbox")
app.add_typer(federation.rejections_app, name="rejections")
app.add_typer(tokens.group, name="tokens")
app.add_typer(hash_verdicts.app, name="hashes")
app.add_typer(keys.app, name="keys")
