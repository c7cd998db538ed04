"""The timeline's sampler: it reads each node's counts once a sample, through a small page cache of its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from node.store.engine import create_store_engine, migrate, sqlite_url
from simulator.records import SAMPLER_CACHE_KIB, Sampler


def test_each_node_connection_of_the_sampler_keeps_a_small_page_cache(tmp_path: Path) -> None:
    # SQLite's default (2 MiB a connection) filled up over the simulated days, once per node, beside each node's
    # own connection: 55 nodes of inhope-2024 held some 110 MiB for a count read once a simulated day.
    databases = {}
    for node_id in ("nl-hotline", "de-hotline"):
        databases[node_id] = tmp_path / f"{node_id}.db"
        engine = create_store_engine(sqlite_url(databases[node_id]))
        migrate(engine)
        engine.dispose()
    sampler = Sampler(databases)
    try:
        assert [s.reports for s in sampler.sample()] == [0, 0]
        for engine in sampler._engines.values():
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA cache_size")).scalar() == -SAMPLER_CACHE_KIB
        assert SAMPLER_CACHE_KIB <= 256
    finally:
        sampler.close()
