"""What the commands share: the --config option, loading the node's settings, failing with a message, and the
exit codes every command uses (documented in the README, "Exit codes")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.exc import OperationalError

from node.config import NodeConfig, load_config
from node.errors import DomainError, StoreUnavailable
from node.logs import configure_logging

__all__ = [
    "CONFIG_ERROR",
    "EXIT_CODES",
    "INTERNAL_ERROR",
    "OK",
    "REFUSED",
    "STORE_UNAVAILABLE",
    "ConfigOption",
    "GuardedTyper",
    "fail",
    "load_settings",
    "set_debug",
]

OK = 0
REFUSED = 1
"""A check failed: a roster or file did not verify, the audit log was altered."""
CONFIG_ERROR = 2
"""The command line, the config or a file it names is wrong or unusable (Typer's usage errors exit 2 too)."""
STORE_UNAVAILABLE = 3
"""The database is missing, unreachable, or refuses this node's user."""
INTERNAL_ERROR = 70
"""A bug (EX_SOFTWARE): one line, and the traceback with --debug."""

EXIT_CODES = {
    OK: "done",
    REFUSED: "refused: a verification failed (roster, file, audit log); the reason is printed",
    CONFIG_ERROR: "usage or config error: the message names the option or setting and the fix",
    STORE_UNAVAILABLE: "the database is missing or unreachable: the message says how to fix it",
    INTERNAL_ERROR: "internal error: run again with --debug for the traceback, and report it",
}

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="The node's TOML config file.")]

_debug = False


def set_debug(on: bool) -> None:
    """Whether an unexpected error prints its traceback (`--debug`)."""
    global _debug
    _debug = on


def load_settings(path: Path | None) -> NodeConfig:
    """The node's config, with logging configured from it; exits 2 with the error if the config is invalid."""
    try:
        config = load_config(path)
    except DomainError as error:
        fail(f"config error: {error}")
    configure_logging(config.log_format)
    return config


def fail(message: str, code: int = CONFIG_ERROR) -> NoReturn:
    """Print `message` in red on stderr and exit with `code`."""
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code) from None


class GuardedTyper(typer.Typer):
    """A Typer app whose commands never end in a traceback unless --debug is given: an operational error the
    command did not handle itself becomes one line on stderr and its exit code."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:  # the last line of defence: one line, not a traceback
            if _debug:
                raise
            from node.app import DatabaseNotReady  # here, as the commands do: a command's start loads no gRPC

            if isinstance(error, DatabaseNotReady | StoreUnavailable):
                _exit(str(error), STORE_UNAVAILABLE)
            if isinstance(error, OperationalError):  # the database went away after it first answered
                reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "no answer"
                _exit(f"the database stopped answering ({reason}): check node.database_url's server", STORE_UNAVAILABLE)
            if isinstance(error, DomainError):
                _exit(f"error: {error}", CONFIG_ERROR)
            _exit(
                f"internal error: {type(error).__name__}: {error} (run again with --debug for the traceback)",
                INTERNAL_ERROR,
            )


def _exit(message: str, code: int) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    sys.exit(code)
