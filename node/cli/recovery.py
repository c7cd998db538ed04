"""Recovery: `hotline-node backup FILE`, `restore FILE` and `reconcile [--peer X]`.

`backup` takes an online, consistent copy of a SQLite database (the node may run); PostgreSQL is backed up
with pg_dump (README, "Backup and restore"). `restore` replaces the database with a backup (stop the node
first) and marks it restored: on its next start the node reconciles with every peer at once. `reconcile`
compares this node's view of the items it shares with each peer and queues again what either lacks.
Exit codes: 0 done, 1 a peer refused or could not be reached (each printed), 2 a usage, file or config error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.cli._roster_files import JsonOption, print_json
from node.errors import DomainError
from node.exchange.reconcile import ReconcileOutcome

__all__ = ["app"]

app = typer.Typer()


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The backup to write (a new file).")],
    config: ConfigOption = None,
) -> None:
    """Write an online, consistent copy of the node's SQLite database to FILE (readable by this user only).
    The keys (exchange.key_dir) are backed up separately: see the README."""
    from node.app import backup_database

    settings = load_settings(config)
    try:
        backup_database(settings, file)
    except DomainError as error:
        fail(f"error: {error}")
    typer.echo(f"backed up {settings.effective_database_url()} to {file}")


@app.command("restore")
def restore(
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE", help="A backup written by `hotline-node backup`.")
    ] = None,
    config: ConfigOption = None,
    mark_only: Annotated[
        bool,
        typer.Option("--mark-only", help="Only mark the database restored (after pg_restore, for PostgreSQL)."),
    ] = False,
) -> None:
    """Replace the node's database with FILE (stop the node first) and mark it restored: when it starts, the
    node reconciles with every peer before trusting its view."""
    from node.app import restore_database

    if (file is None) != mark_only:
        fail("give either FILE or --mark-only")
    settings = load_settings(config)
    try:
        at = restore_database(settings, file)
    except DomainError as error:
        fail(f"error: {error}")
    what = f"restored {file} into" if file is not None else "marked restored:"
    typer.echo(
        f"{what} {settings.effective_database_url()} at {at.isoformat(timespec='seconds')}; start the node: it "
        "reconciles with every peer at once (or run `hotline-node reconcile`)"
    )


@app.command("reconcile")
def reconcile(
    peer: Annotated[
        list[str] | None,
        typer.Option("--peer", metavar="NODE", help="A peer's node id (repeatable); default: every active peer."),
    ] = None,
    days: Annotated[
        float, typer.Option("--days", min=0.001, max=400, help="Items first reported in the last DAYS days.")
    ] = 30.0,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare what this node and each peer believe they share, and queue again (through the outbox, same
    message ids: nothing is applied twice) what either lacks. The running node delivers what was queued."""
    from node.app import reconcile_with_peers

    settings = load_settings(config)
    try:
        results = reconcile_with_peers(settings, peer or [], days)
    except DomainError as error:
        fail(f"error: {error}")
    failed = [r for r in results if not isinstance(r, ReconcileOutcome)]
    if as_json:
        print_json([r.as_json() if isinstance(r, ReconcileOutcome) else {"error": r} for r in results])
    else:
        for result in results:
            typer.echo(_line(result) if isinstance(result, ReconcileOutcome) else f"FAILED {result}")
        if not results:
            typer.echo("no active peers")
    if failed:
        raise typer.Exit(1)


def _line(outcome: ReconcileOutcome) -> str:
    if outcome.agreed:
        return f"{outcome.peer}: agreed"
    recovered = f"; {outcome.recovered} referrals lost in a restore came back" if outcome.recovered else ""
    line = (
        f"{outcome.peer}: {outcome.differences} items differed; queued again {outcome.resent_here} here, "
        f"{outcome.resent_there} there{recovered} (run again once delivered to confirm)"
    )
    return "\n  ".join([line, *(f"cannot repair: {u}" for u in outcome.unrepairable)])
