"""`node.database_url` checked when the config is read: a URL this node can use, its driver installed, a relative
SQLite path resolved against the config file's folder; and the URL shown with its password masked."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from node.errors import InvalidArgument

__all__ = ["POSTGRES_EXTRA", "check_database_url", "masked_database_url"]

FIELD = "node.database_url"
POSTGRES_EXTRA = "pip install 'hotline-exchange[postgres]'"
_EXAMPLES = "sqlite+pysqlite:///var/node.db or postgresql+psycopg://hotline@127.0.0.1:5432/hotline"


def check_database_url(url: str, base: Path | None) -> str:
    """`url` with a relative SQLite path made absolute against `base` (when given); InvalidArgument naming
    node.database_url, and the fix, when its scheme is not one this node runs on or its driver is missing."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InvalidArgument(f"{backend!r} is not a database this node runs on; use {_EXAMPLES}", field=FIELD)
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # as the engine does
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise InvalidArgument(f"unknown driver {parsed.drivername!r}; use {_EXAMPLES}", field=FIELD) from None
    except ImportError:
        fix = POSTGRES_EXTRA if backend == "postgresql" else f"install the {parsed.drivername} driver"
        raise InvalidArgument(f"the driver for {parsed.drivername} is not installed: {fix}", field=FIELD) from None
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise InvalidArgument("an SQLite URL needs a file path: sqlite+pysqlite:///var/node.db", field=FIELD)
        if base is not None and not Path(database).is_absolute():
            return parsed.set(database=str(base / database)).render_as_string(hide_password=False)
    return url


def masked_database_url(url: str) -> str:
    """`url` with its password (if any) shown as ***."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except InvalidArgument:
        return "(not a URL)"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise InvalidArgument(f"not a database URL; use {_EXAMPLES}", field=FIELD) from None
