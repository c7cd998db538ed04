"""What the commands share: the --config option, loading the node's settings, and failing with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from node.config import NodeConfig, load_config
from node.errors import DomainError
from node.logs import configure_logging

__all__ = ["ConfigOption", "fail", "load_settings"]

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="The node's TOML config file.")]


def load_settings(path: Path | None) -> NodeConfig:
    """The node's config, with logging configured from it; exits 2 with the error if the config is invalid."""
    try:
        config = load_config(path)
    except DomainError as error:
        fail(f"config error: {error}")
    configure_logging(config.log_format)
    return config


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` in red on stderr and exit with `code`."""
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code) from None
