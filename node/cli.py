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
    from node.app import build_node, freeze_startup_heap

    settings = _config(config)

    async def run() -> None:
        try:
            node = build_node(settings)
        except DomainError as error:
            typer.secho(f"cannot start: {error}", fg="red", err=True)
            raise typer.Exit(2) from None
        port = await node.start()
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
    from node.store.engine import create_store_engine
    from node.store.sql_store import SqlStore

    settings = _config(config)
    bad = SqlStore(create_store_engine(settings.effective_database_url())).verify_audit_chain()
    if bad is not None:
        typer.secho(f"audit log entry {bad} does not verify: the log was altered", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("audit log verifies")


@app.command("member-entry")
def member_entry_command(
    config: ConfigOption = None,
    organisation: Annotated[str, typer.Option(help="The hotline's organisation name.")] = "",
) -> None:
    """Print this node's roster entry (public keys, certificate, endpoint) as JSON for the network authority.
    Makes the node's keys on first use."""
    import json

    from node.crypto.keystore import KeyStore, KeyStoreError
    from node.exchange.authority import member_entry

    settings = _config(config)
    if settings.exchange is None:
        typer.secho("config error: exchange: the config has no [exchange] section", fg="red", err=True)
        raise typer.Exit(2)
    from node.clock import SystemClock

    try:
        keys = KeyStore(Path(settings.exchange.key_dir)).load_or_create(
            settings.node_id, SystemClock().now(), post_quantum=settings.exchange.post_quantum
        )
    except KeyStoreError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    entry = member_entry(
        settings.node_id,
        [settings.jurisdiction],
        settings.exchange.listen,
        keys,
        organisation=organisation,
        require_all_signatures=settings.exchange.post_quantum,
    )
    typer.echo(json.dumps(entry, indent=2))


@app.command("authority-key")
def authority_key(out: Annotated[Path, typer.Argument(help="Where to write the new key (0600 PEM).")]) -> None:
    """Make a network-authority signing key (Ed25519)."""
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        typer.secho(f"error: {out} exists already", fg="red", err=True)
        raise typer.Exit(2) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    typer.echo(f"wrote {out}")


@app.command("roster-sign")
def roster_sign(
    members: Annotated[list[Path], typer.Argument(help="Member entries (JSON from member-entry).")],
    key: Annotated[list[Path], typer.Option(help="An authority key that signs this version; repeat.")],
    version: Annotated[int, typer.Option(help="The roster version: one more than the current.")],
    out: Annotated[Path, typer.Option(help="Where to write the signed roster.")],
    threshold: Annotated[int, typer.Option(help="Signatures the next version needs.")] = 2,
    next_key: Annotated[
        list[Path] | None, typer.Option(help="The next version's authority keys, if they rotate.")
    ] = None,
    valid_days: Annotated[int, typer.Option(help="Days until the roster expires.")] = 90,
) -> None:
    """Build and sign a roster version from member entries."""
    import json
    from datetime import timedelta

    from cryptography.hazmat.primitives import serialization

    from node.api._gen.hotline.exchange.v1 import envelope_pb2
    from node.clock import SystemClock
    from node.crypto import SigningKeyPair
    from node.exchange.authority import build_signed_roster

    def load(path: Path) -> SigningKeyPair:
        return SigningKeyPair(
            envelope_pb2.SIGNATURE_ALGORITHM_ED25519, serialization.load_pem_private_key(path.read_bytes(), None)
        )

    try:
        signers = [load(p) for p in key]
        entries = [json.loads(p.read_text()) for p in members]
        signed = build_signed_roster(
            entries,
            version=version,
            now=SystemClock().now(),
            valid_for=timedelta(days=valid_days),
            authority_keys=signers,
            next_authority=[load(p) for p in next_key] if next_key else signers,
            threshold=threshold,
        )
    except (DomainError, OSError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    out.write_bytes(signed)
    typer.echo(f"wrote roster version {version} with {len(entries)} member(s) to {out}")


@app.command()
def demo() -> None:
    """One node on SQLite, driven through its API from intake to removal."""
    from node.demo import main

    main()


if __name__ == "__main__":
    app()
