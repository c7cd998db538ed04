"""The hot item lookups go by their own index on SQLite, which keeps no statistics here and so picks among the
indexes that match by its own rules: the repeat-report check must look the item up by the URL's key, not scan
every item of this hotline's own through the origin index (whose key is "" for each of them)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import sqlite

from node.store.engine import create_store_engine, migrate, sqlite_url
from node.store.txn import items, reports, retention_due


def _plan(path: Path, statement: object) -> list[str]:
    engine = create_store_engine(sqlite_url(path / "plans.db"))
    migrate(engine)
    compiled = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    sql = str(compiled)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?")).fetchall()
    finally:
        engine.dispose()
    return [row[-1] for row in rows]


def test_the_open_item_by_url_lookup_searches_the_url_key_index(tmp_path: Path) -> None:
    plan = _plan(tmp_path, items._OPEN_ITEM_BY_URL._statement)
    assert plan[0] == "SEARCH items USING INDEX ix_items_url_key (url_key=?)"
    assert not any(step.startswith("SCAN") for step in plan)


def test_the_intakes_look_for_open_urls_searches_the_url_key_index(tmp_path: Path) -> None:
    """Every intake batch asks which of its URLs have an open item: by their keys, not through every item."""
    statement = reports._OPEN_URL_KEYS_SQLITE._statement
    expanded = statement.params(k_url_keys=["a", "b"])  # type: ignore[attr-defined]
    plan = _plan(tmp_path, expanded)
    assert plan[0].startswith("SEARCH items USING INDEX ix_items_url_key (url_key=?)"), plan
    assert not any(step.startswith("SCAN") for step in plan)


def test_the_item_by_id_lookup_searches_the_primary_key(tmp_path: Path) -> None:
    plan = _plan(tmp_path, items._ITEM._statement)
    assert plan[0].startswith("SEARCH items USING INDEX sqlite_autoindex_items_1 (item_id=?)")
    assert not any(step.startswith("SCAN") for step in plan)


def test_the_next_deadline_searches_the_items_whose_ntd_is_out(tmp_path: Path) -> None:
    """Not the deadline index, which would pass every closed item with an earlier deadline (they keep theirs)."""
    plan = _plan(tmp_path, items._NEXT_DEADLINE._statement)
    assert plan[0].startswith("SEARCH items USING INDEX ix_items_state (state=?)")


def test_the_purge_reads_only_the_events_since_its_last_look(tmp_path: Path) -> None:
    plan = _plan(tmp_path, retention_due._CLOSED_BETWEEN._statement)
    assert plan[0].startswith("SEARCH events USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")
