"""`hotline-node`: run a node and administer it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from node.cases.model import Classification, Role
from node.config import NodeConfig, load_config
from node.errors import DomainError
from node.logs import configure_logging

app = typer.Typer(
    help="A hotline exchange node: intake, case workflow and the integrator gRPC API.", no_args_is_help=True
)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="The node's TOML config file.")]


def _config(path: Path | None) -> NodeConfig:
    try:
        config = load_config(path)
    except DomainError as error:
        typer.secho(f"config error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    configure_logging(config.log_format)
    return config


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Serve the integrator API until interrupted (SIGINT or SIGTERM)."""
    from node.app import build_node

    settings = _config(config)

    async def run() -> None:
        try:
            node = build_node(settings)
        except DomainError as error:
            typer.secho(f"cannot start: {error}", fg="red", err=True)
            raise typer.Exit(2) from None
        port = await node.start()
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
    from node.store.engine import create_store_engine
    from node.store.engine import migrate as run_migrations

    settings = _config(config)
    run_migrations(create_store_engine(settings.effective_database_url()))
    typer.echo("schema is current")


@app.command("create-token")
def create_token(
    name: Annotated[str, typer.Option(help="Who the token is for, e.g. report-form.")],
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    config: ConfigOption = None,
) -> None:
    """Create an integrator token. The secret is printed once; the node keeps only its hash."""
    from node.app import build_node

    node = build_node(_config(config))
    try:
        token, secret = node.access.create_token("operator", name, role)
    except DomainError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    finally:
        node.engine.dispose()
    typer.echo(f"token {token.token_id} ({token.name}; roles {', '.join(sorted(token.roles))})")
    typer.echo(secret)


@app.command("import-hashes")
def import_hashes(
    csv_file: Annotated[Path, typer.Argument(help="CSV with the header algorithm,hash,classification[,source]")],
    source: Annotated[str, typer.Option(help="Where the list came from.")],
    config: ConfigOption = None,
) -> None:
    """Bulk-import known hashes. Every row is checked first; one bad row imports nothing."""
    from node.app import SYSTEM, build_node
    from node.hashes import parse_hash_list_csv

    node = build_node(_config(config))
    try:
        entries = parse_hash_list_csv(csv_file.read_text().splitlines(), default_source=source)
        imported, known = node.cases.import_known_hashes(
            SYSTEM, [(e.hash, Classification(e.classification)) for e in entries], source
        )
    except DomainError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    finally:
        node.engine.dispose()
    typer.echo(f"imported {imported}; {known} already known")


@app.command("verify-audit")
def verify_audit(config: ConfigOption = None) -> None:
    """Check the audit log's hash chain; exits 1 at the first entry that does not verify."""
    from node.store.case_store import SqlCaseStore
    from node.store.engine import create_store_engine

    settings = _config(config)
    bad = SqlCaseStore(create_store_engine(settings.effective_database_url())).verify_audit_chain()
    if bad is not None:
        typer.secho(f"audit log entry {bad} does not verify: the log was altered", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("audit log verifies")


@app.command()
def demo() -> None:
    """One node on SQLite, driven through its API from intake to removal."""
    from node.demo import main

    main()


if __name__ == "__main__":
    app()
