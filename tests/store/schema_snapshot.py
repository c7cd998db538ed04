"""A database's whole schema, as comparable data: what two databases must agree on to be the same schema.

SQLite: every row of sqlite_master (its SQL normalised: whitespace, identifier quotes and a default's parentheses
aside, and a table's constraints in any order, since ALTER TABLE ADD COLUMN and batch rebuilds write the same
table differently), and for each table PRAGMA table_xinfo, index_list (with each index's index_xinfo) and
foreign_key_list.
PostgreSQL: information_schema's columns and sequences; pg_constraint, pg_indexes, pg_trigger and pg_proc (the
catalog, where information_schema leaves out TRUNCATE triggers and constraint definitions), in schema public.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

__all__ = ["schema_of"]

Rows = list[tuple[object, ...]]


def schema_of(engine: Engine) -> dict[str, Rows]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return _sqlite(connection)
        return {name: _rows(connection, query) for name, query in _POSTGRES.items()}


def _rows(connection: Connection, query: str) -> Rows:
    return sorted((tuple(row) for row in connection.exec_driver_sql(query)), key=repr)


def _sqlite(connection: Connection) -> dict[str, Rows]:
    master = [
        (kind, name, table, _normalised(sql))
        for kind, name, table, sql in connection.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master")
    ]
    snapshot = {"sqlite_master": sorted(master, key=repr)}
    for (table,) in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'"):
        # table_xinfo in column order (cid); the others sorted without their sequence numbers, which follow the
        # order the indexes and constraints were created in.
        snapshot[f"{table}.table_xinfo"] = [tuple(r) for r in _pragma(connection, "table_xinfo", table)]
        indexes = []
        for _seq, name, *flags in _pragma(connection, "index_list", table):
            indexes.append((name, *flags, [tuple(r) for r in _pragma(connection, "index_xinfo", name)]))
        snapshot[f"{table}.index_list"] = sorted(indexes, key=repr)
        keys = [tuple(r[2:]) for r in _pragma(connection, "foreign_key_list", table)]
        snapshot[f"{table}.foreign_key_list"] = sorted(keys, key=repr)
    return snapshot


def _pragma(connection: Connection, pragma: str, name: str) -> Rows:
    return [tuple(r) for r in connection.execute(text(f"SELECT * FROM pragma_{pragma}(:name)"), {"name": name})]


def _normalised(sql: str | None) -> str | None:
    """`sql` with its whitespace collapsed, identifier quotes dropped and defaults unwrapped; a CREATE TABLE's
    columns kept in order (table_xinfo checks the order too) and its table constraints sorted. SQLite's ADD
    COLUMN appends a column after the constraints, and a batch rebuild writes them in another order: the same
    table either way."""
    if sql is None:  # an index SQLite made for a constraint (sqlite_autoindex_...)
        return None
    flat = " ".join(sql.replace('"', "").split())
    # A batch rebuild writes a reflected empty default in parentheses: DEFAULT ('') is DEFAULT ''.
    flat = re.sub(r"DEFAULT \(('[^']*')\)", r"DEFAULT \1", flat)
    if not flat.startswith("CREATE TABLE "):
        return flat
    head, _, body = flat.partition("(")
    parts = [part.strip() for part in _split_top_level(body[: body.rindex(")")])]
    constraints = sorted(p for p in parts if p.startswith(_CONSTRAINT_STARTS))
    columns = [p for p in parts if not p.startswith(_CONSTRAINT_STARTS)]
    return f"{head.strip()} ({', '.join(columns + constraints)})"


_CONSTRAINT_STARTS = ("CONSTRAINT ", "PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "CHECK")


def _split_top_level(body: str) -> list[str]:
    """`body` split at the commas outside parentheses and quoted strings."""
    parts, depth, quoted, start = [], 0, False, 0
    for at, char in enumerate(body):
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and char == ",":
            parts.append(body[start:at])
            start = at + 1
    return [*parts, body[start:]]


_POSTGRES = {
    "columns": """
        SELECT table_name, ordinal_position, column_name, data_type, character_maximum_length, numeric_precision,
               datetime_precision, is_nullable, column_default, is_identity, is_generated
        FROM information_schema.columns WHERE table_schema = 'public'""",
    "sequences": """
        SELECT sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option
        FROM information_schema.sequences WHERE sequence_schema = 'public'""",
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid), c.condeferrable
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal""",
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'""",
}
