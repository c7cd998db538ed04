"""What a node checks of its database before it starts: that it is there and answers, and, for SQLite, that
the file is this user's alone. Each failure is one line for the operator naming the setting and the fix."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from node.errors import InvalidArgument

__all__ = ["DatabaseNotReady", "preflight", "require_existing"]


class DatabaseNotReady(Exception):
    """The database is missing, unreachable or refuses this node's user: one line for the operator, naming
    node.database_url, where the server is and the fix. (For the operator at start only: the API's
    StoreUnavailable never names the database.)"""


_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
_MISSING_ROLE = re.compile(r'role "([^"]+)" does not exist')


def preflight(engine: Engine) -> None:
    """Refuse an SQLite database file that other users can read (as key files are refused), then connect once:
    DatabaseNotReady, with the fix, when that fails."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        _refuse_open_file(Path(url.database))
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        raise DatabaseNotReady(explain(url, error)) from error


def require_existing(url: URL) -> None:
    """Refuse an SQLite database file that is not there (DatabaseNotReady, naming the path and the fix), before
    anything creates it: only `migrate` and `serve` make a new node's database. A command that read or signed a
    new, empty file made from a mistyped path would answer for the wrong database ("audit log verifies")."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if not Path(url.database).exists():
        raise DatabaseNotReady(
            f"node.database_url: there is no database at {url.database}: check the path (a new node's database "
            "is made by `hotline-node migrate` or the first `serve`)"
        )


def _refuse_open_file(database: Path) -> None:
    try:
        mode = stat.S_IMODE(database.stat().st_mode)
    except FileNotFoundError:
        return  # created 0600 by the engine
    if mode & 0o077:
        raise InvalidArgument(
            f"{database} is open to other users (mode {mode:o}) and holds the hotline's cases: chmod 600 {database}",
            field="node.database_url",
        )


def explain(url: URL, error: DBAPIError) -> str:
    """One line: what is wrong with the database of `url` and how to fix it."""
    detail = str(error.orig)
    if url.get_backend_name() == "sqlite":
        return (
            f"node.database_url: cannot open the SQLite database {url.database} ({detail}): check that its folder "
            "exists and this user may write there"
        )
    where = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"
    server = f"-h {url.host or 'localhost'} -p {url.port or 5432}"
    missing = _MISSING_DATABASE.search(detail)
    if missing:
        owner = f" -O {url.username}" if url.username else ""
        return (
            f"node.database_url: {where} has no database {missing.group(1)!r}: create it "
            f"(createdb {server}{owner} {missing.group(1)}), then run `hotline-node migrate`"
        )
    role = _MISSING_ROLE.search(detail)
    if role:
        return (
            f"node.database_url: {where} has no role {role.group(1)!r}: create it (createuser {server} {role.group(1)})"
        )
    reason = detail.rpartition("failed:")[2].strip().splitlines()[0] if detail else type(error.orig).__name__
    return (
        f"node.database_url: cannot use {where} ({reason}): start the server, or fix the host, port, user or password"
    )
