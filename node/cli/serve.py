"""Running a node: bring its database schema up to date, and serve the integrator API."""

from __future__ import annotations

import asyncio
import signal

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "migrate", "serve"]

app = typer.Typer()


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Serve the integrator API until interrupted (SIGINT or SIGTERM)."""
    from node.app import build_node, freeze_startup_heap

    settings = load_settings(config)

    async def run() -> None:
        try:
            node = build_node(settings)
            port = await node.start()
        except DomainError as error:
            fail(f"cannot start: {error}")
        freeze_startup_heap()
        typer.echo(f"{settings.node_id} serving on {settings.listen.rsplit(':', 1)[0]}:{port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await node.stop()

    asyncio.run(run())


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Bring the database schema up to date."""
    from node.app import migrate_database

    settings = load_settings(config)
    try:
        migrate_database(settings)
    except DomainError as error:
        fail(f"error: {error}")
    typer.echo("schema is current")
