"""Alembic migrations: they produce exactly the schema of node.store.schema on both backends, they go down
and up again, and SQLite runs with WAL and foreign keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, Table, func, insert, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from node.store import schema as t
from node.store.engine import alembic_config, create_store_engine, downgrade, migrate
from node.store.schema import metadata

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The newest revision, whichever it is: the revisions the migrations directory chains up to.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def differences(engine: Engine, target: MetaData = metadata) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), target))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    e = create_store_engine(database_url)
    yield e
    e.dispose()


def _audit_row(seq_hint: str) -> dict[str, object]:
    return {
        "at": AT,
        "actor": "tester",
        "action": "Test",
        "subject": seq_hint,
        "detail": "",
        "prev_hash": "0" * 64,
        "entry_hash": "1" * 64,
    }


def test_migrate_to_head_matches_the_metadata_exactly(engine: Engine) -> None:
    migrate(engine)
    assert current_revision(engine) == HEAD
    assert differences(engine) == []
    assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_the_comparison_would_notice_a_table_the_migrations_lack(engine: Engine) -> None:
    """A control: compare_metadata is not blind, so an empty diff above means something."""
    migrate(engine)
    extended = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extended)
    Table("not_migrated", extended, Column("id", Integer, primary_key=True))
    diff = differences(engine, extended)
    assert [d[0] for d in diff if isinstance(d, tuple)] == ["add_table"]  # type: ignore[index]


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(t.audit_log), _audit_row("kept"))
    migrate(engine)
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        assert connection.execute(select(t.audit_log.c.subject)).scalars().all() == ["kept"]


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    migrate(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    if engine.dialect.name == "postgresql":  # the trigger function went with the triggers
        with engine.connect() as connection:
            functions = connection.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_log_append_only'")
            ).scalar_one()
        assert functions == 0
    migrate(engine)
    assert current_revision(engine) == HEAD
    assert differences(engine) == []
    # The append-only triggers are back as well.
    with engine.begin() as connection:
        connection.execute(insert(t.audit_log), _audit_row("after re-upgrade"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(update(t.audit_log).values(detail="changed"))


def test_each_revision_steps_down_and_up(engine: Engine) -> None:
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    columns = {c["name"] for c in inspect(engine).get_columns("items")}
    assert "origin_node" not in columns and "inbox" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "origin_node" in {c["name"] for c in inspect(engine).get_columns("items")}
    downgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "inbox" not in inspect(engine).get_table_names()
    migrate(engine, "0002")
    assert (_length(engine, "hosting_records", "source"), _length(engine, "audit_log", "subject")) == (32, 100)
    migrate(engine)
    assert (_length(engine, "hosting_records", "source"), _length(engine, "audit_log", "subject")) == (80, 200)
    downgrade(engine, "0002")
    assert (_length(engine, "hosting_records", "source"), _length(engine, "audit_log", "subject")) == (32, 100)
    migrate(engine)
    assert differences(engine) == []


def test_0007_widens_the_outbox_body_and_downgrades_while_the_bodies_fit(engine: Engine) -> None:
    migrate(engine, "0006_exchange_retention")
    assert _length(engine, "outbox", "body") == 16384
    migrate(engine, "0007_outbox_body")
    assert _length(engine, "outbox", "body") == 32768
    downgrade(engine, "0006_exchange_retention")
    assert _length(engine, "outbox", "body") == 16384
    migrate(engine)
    assert differences(engine) == []


def _length(engine: Engine, table: str, column: str) -> int | None:
    (found,) = [c for c in inspect(engine).get_columns(table) if c["name"] == column]
    return getattr(found["type"], "length", None)


def test_0003_keeps_the_audit_log_and_its_guard(engine: Engine) -> None:
    """0003 widens audit_log.subject; SQLite rebuilds the table, which must keep the rows and the triggers."""
    migrate(engine, "0002")
    with engine.begin() as connection:
        connection.execute(insert(t.audit_log), [_audit_row("first"), _audit_row("second")])
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(t.audit_log), _audit_row("s" * 200))
    with engine.connect() as connection:
        subjects = connection.execute(select(t.audit_log.c.subject).order_by(t.audit_log.c.seq)).scalars().all()
    assert subjects == ["first", "second", "s" * 200]
    for statement in (update(t.audit_log).values(detail="changed"), t.audit_log.delete()):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))


def test_0003_downgrade_refuses_rows_the_older_columns_cannot_hold(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(t.audit_log), _audit_row("s" * 101))
    with pytest.raises(RuntimeError, match=r"1 row\(s\) of audit_log have a subject longer than 100"):
        downgrade(engine, "0002")
    assert current_revision(engine) == HEAD
    assert differences(engine) == []
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(update(t.audit_log).values(detail="changed"))


def _report_row(report_id: str) -> dict[str, object]:
    return {
        "report_id": report_id,
        "received_at": AT,
        "recorded_at": AT,
        "referrer_url": "",
        "reporter_anonymous": True,
        "reporter_name": "",
        "reporter_email": "",
        "reporter_reference": "",
        "submitted_by": "form",
    }


def _item_row(item_id: str, url_key: str) -> dict[str, object]:
    return {
        "item_id": item_id,
        "url": f"https://nl.host.example/{item_id}",
        "url_key": url_key,
        "host": "nl.host.example",
        "state": "AWAITING_ASSESSMENT",
        "is_open": True,
        "assigned_node": "nl-hotline",
        "route": None,
        "referred_to": "",
        "known_content": False,
        "report_count": 1,
        "hosting_country": "NL",
        "classification": None,
        "first_reported_at": AT,
        "created_at": AT,
        "version": 0,
    }


def test_upgrading_from_0001_keeps_existing_rows_and_fills_the_new_columns(engine: Engine) -> None:
    migrate(engine, "0001")
    with engine.begin() as connection:  # rows as revision 0001 knew them: no federation columns
        connection.execute(insert(t.reports), _report_row("r1"))
        connection.execute(insert(t.items), [_item_row("i1", "1" * 64), _item_row("i2", "2" * 64)])
        connection.execute(
            insert(t.report_items), {"report_id": "r1", "position": 0, "item_id": "i1", "new_item": True}
        )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(t.items).order_by(t.items.c.item_id)).all()
    assert [r.item_id for r in rows] == ["i1", "i2"]
    assert all((r.origin_node, r.origin_item_id, r.status_sequence, r.referred_by) == ("", "", 0, "") for r in rows)
    assert rows[0].first_reported_at == AT


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",  # 0002's downgrade rebuilds items, which other tables' rows reference
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_downgrading_one_revision_keeps_the_cases(backend: str, request: pytest.FixtureRequest) -> None:
    engine = create_store_engine(str(request.getfixturevalue(f"{backend}_url")))
    try:
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(insert(t.reports), _report_row("r1"))
            connection.execute(insert(t.items), _item_row("i1", "a" * 64))
            connection.execute(
                insert(t.report_items), {"report_id": "r1", "position": 0, "item_id": "i1", "new_item": True}
            )
        downgrade(engine, "0001")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT item_id FROM items")).scalars().all() == ["i1"]
            assert connection.execute(text("SELECT count(*) FROM report_items")).scalar_one() == 1
            if backend == "sqlite":  # enforcement, off while the migration ran, is back on the pooled connection
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        migrate(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_sqlite_a_migration_that_ends_with_a_broken_reference_changes_nothing(sqlite_url: str) -> None:
    """Migrations run with SQLite's foreign key enforcement off (to rebuild tables); a check before the commit
    refuses to leave a reference broken, and the whole migration rolls back."""
    engine = create_store_engine(sqlite_url)
    try:
        migrate(engine, "0001")
        raw = sqlite3.connect(make_url(sqlite_url).database or "")  # no enforcement: what an outside tool can do
        with raw:
            raw.execute(
                "INSERT INTO report_items (report_id, position, item_id, new_item) VALUES ('r-gone', 0, 'i-gone', 1)"
            )
        raw.close()
        with pytest.raises(RuntimeError, match=r"broken foreign key reference.*report_items"):
            migrate(engine)
        assert current_revision(engine) == "0001"
        assert "inbox" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on_every_connection(sqlite_url: str) -> None:
    engine = create_store_engine(sqlite_url)
    try:
        migrate(engine)
        with engine.connect() as first, engine.connect() as second:  # two pooled connections, both configured
            for connection in (first, second):
                connection.info["read_only"] = True  # readers: BEGIN DEFERRED, so neither waits on the other
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        # Foreign keys are enforced, not merely declared: a link to a missing item is refused.
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as connection:
            connection.execute(
                insert(t.item_hashes), {"item_id": "no-such-item", "algorithm": "sha256", "digest": "ab" * 32}
            )
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(t.item_hashes)).scalar_one() == 0
    finally:
        engine.dispose()


def test_postgres_enforces_foreign_keys_too(postgres_url: str) -> None:
    engine = create_store_engine(postgres_url)
    try:
        migrate(engine)
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                insert(t.item_hashes), {"item_id": "no-such-item", "algorithm": "sha256", "digest": "ab" * 32}
            )
    finally:
        engine.dispose()


def _known_row(digest: str, source: str, classification: str) -> dict[str, object]:
    return {
        "algorithm": "sha256",
        "digest": digest,
        "classification": classification,
        "source": source,
        "assessment_id": None,
        "created_at": AT,
    }


def test_0008_records_provenance_and_keeps_old_lessons_as_hints_only(engine: Engine) -> None:
    """Before 0008 nobody vouched for a hash: item hashes become CLAIMED, learned entries hints (CLAIMED) in the
    set of their classification, and imported lists LIST; then sources may share a hash."""
    migrate(engine, "0007_outbox_body")
    old = MetaData()
    old.reflect(engine, only=["known_hashes", "item_hashes", "items", "reports"])
    with engine.begin() as connection:
        connection.execute(insert(old.tables["reports"]), _report_row("r1"))
        connection.execute(insert(old.tables["items"]), _item_row("i1", "1" * 64))
        connection.execute(
            insert(old.tables["item_hashes"]), {"item_id": "i1", "algorithm": "sha256", "digest": "a" * 64}
        )
        connection.execute(
            insert(old.tables["known_hashes"]),
            [
                _known_row("a" * 64, "item:i1", "NOT_ILLEGAL"),
                _known_row("b" * 64, "item:i2", "BASELINE"),
                _known_row("c" * 64, "official", "BASELINE"),
            ],
        )
    migrate(engine)
    assert differences(engine) == []
    with engine.begin() as connection:
        assert connection.execute(select(t.item_hashes.c.provenance)).scalars().all() == ["CLAIMED"]
        rows = connection.execute(
            select(t.known_hashes.c.digest, t.known_hashes.c.source, t.known_hashes.c.provenance).order_by(
                t.known_hashes.c.digest
            )
        ).all()
        assert [tuple(r) for r in rows] == [
            ("a" * 64, "learned-not-illegal", "CLAIMED"),
            ("b" * 64, "learned", "CLAIMED"),
            ("c" * 64, "official", "LIST"),
        ]
        connection.execute(insert(t.known_hashes), _known_row("c" * 64, "another list", "NATIONAL"))
    # Two sources now share a hash, which 0007 cannot hold: the downgrade refuses and changes nothing.
    with pytest.raises(RuntimeError, match=r"1 hash\(es\) have entries from several sources"):
        downgrade(engine, "0007_outbox_body")
    assert current_revision(engine) == HEAD
