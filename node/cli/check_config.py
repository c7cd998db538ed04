"""`hotline-node check-config FILE`: validate a config file and print the settings the node would run with,
relative paths resolved and secrets masked."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from node.cli._common import fail
from node.config import NodeConfig, load_config
from node.database_url import masked_database_url
from node.errors import DomainError

__all__ = ["app", "check_config", "resolved_settings"]

app = typer.Typer()


@app.command("check-config")
def check_config(
    file: Annotated[Path, typer.Argument(help="The node's TOML config file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Validate FILE (with HX_* variables on top, as `serve` reads it) and print the resolved settings, secrets
    masked. Exits 2 naming the first bad setting; a file the settings name that is not there is a warning (on
    stderr: it may exist only on the machine the node runs on)."""
    try:
        config = load_config(file)
    except DomainError as error:
        fail(f"config error: {error}")
    settings = resolved_settings(config)
    for setting, path in _named_files(config):
        if not Path(path).exists():
            typer.secho(f"warning: {setting}: no file at {path}", fg="yellow", err=True)
    if as_json:
        typer.echo(json.dumps(settings, indent=2, sort_keys=True))
        return
    typer.echo(f"{file}: valid")
    for key, value in _flatten(settings, ""):
        typer.echo(f"{key} = {json.dumps(value)}")


def resolved_settings(config: NodeConfig) -> dict[str, Any]:
    """Every setting of `config` as plain JSON values, with the database URL's password masked."""
    settings: dict[str, Any] = _plain(config)
    settings["database_url"] = masked_database_url(config.effective_database_url())
    return settings


def _named_files(config: NodeConfig) -> list[tuple[str, str]]:
    """The files (or folders) the settings name that the node reads at start."""
    named = [
        ("node.tls_cert", config.tls_cert),
        ("node.tls_key", config.tls_key),
        ("node.tls_client_ca", config.tls_client_ca),
        ("hosting.mmdb_path", config.hosting.mmdb_path),
        ("hosting.mmdb_asn_path", config.hosting.mmdb_asn_path),
    ]
    if config.exchange is not None:
        named.append(("exchange.roster_file", config.exchange.roster_file))
    return [(setting, path) for setting, path in named if path]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _flatten(settings: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines.extend(_flatten(value, f"{name}."))
        else:
            lines.append((name, value))
    return lines
