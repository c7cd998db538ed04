"""A new database gets the current schema in one step (created from node.store.schema, stamped head): the same
schema, to the last trigger and index, as replaying every migration gives, on both backends; and later migrations
apply to it as to any other."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, insert, inspect, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import node.store.engine
from node.store import schema as t
from node.store.engine import alembic_config, create_store_engine, downgrade, migrate, upgrade
from tests.store.schema_snapshot import schema_of
from tests.store.test_migrations import HEAD, _audit_row, current_revision

# A revision written after a node created its database the new way: it must find every name it changes.
_LATER = """
import sqlalchemy as sa
from alembic import op

revision = "9999_later"
down_revision = "{head}"


def upgrade():
    op.create_table("later", sa.Column("later_id", sa.Integer(), primary_key=True))
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("later_note", sa.String(40), nullable=False, server_default=""))
        batch_op.alter_column("host", existing_type=sa.String(255), type_=sa.String(300), existing_nullable=False)
        batch_op.drop_index("ix_items_state")
    with op.batch_alter_table("known_hashes") as batch_op:
        batch_op.drop_constraint("uq_known_hashes_algorithm_digest_source", type_="unique")
        batch_op.create_unique_constraint("uq_known_hashes_algorithm_digest", ["algorithm", "digest"])


def downgrade():
    with op.batch_alter_table("known_hashes") as batch_op:
        batch_op.drop_constraint("uq_known_hashes_algorithm_digest", type_="unique")
        batch_op.create_unique_constraint("uq_known_hashes_algorithm_digest_source", ["algorithm", "digest", "source"])
    with op.batch_alter_table("items") as batch_op:
        batch_op.create_index("ix_items_state", ["state"])
        batch_op.alter_column("host", existing_type=sa.String(300), type_=sa.String(255), existing_nullable=False)
        batch_op.drop_column("later_note")
    op.drop_table("later")
"""


@pytest.fixture
def engines(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Engine, Engine]]:
    """Two empty databases on one backend."""
    name = f"hx_test_{uuid.uuid4().hex[:16]}"
    admin = None
    if database_url.startswith("sqlite"):
        other = f"sqlite+pysqlite:///{tmp_path / 'other.db'}"
    else:
        other = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        admin = create_engine(str(request.getfixturevalue("postgres_server")), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    first, second = create_store_engine(database_url), create_store_engine(other)
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_a_new_database_gets_the_schema_that_replaying_every_migration_gives(engines: tuple[Engine, Engine]) -> None:
    replayed, fresh = engines
    upgrade(replayed, "head")
    migrate(fresh)
    assert current_revision(replayed) == current_revision(fresh) == HEAD
    expected, got = schema_of(replayed), schema_of(fresh)
    assert got.keys() == expected.keys()
    for part in expected:  # part by part, so that a failure names what differs
        assert got[part] == expected[part], part


def test_the_comparison_sees_a_missing_trigger_and_a_changed_index(engines: tuple[Engine, Engine]) -> None:
    """A control: the snapshots differ where the schemas do, so equal snapshots above mean equal schemas."""
    replayed, fresh = engines
    upgrade(replayed, "head")
    migrate(fresh)
    expected = schema_of(replayed)
    with fresh.begin() as connection:
        trigger = "audit_log_no_truncate ON audit_log" if fresh.dialect.name == "postgresql" else "audit_log_no_delete"
        connection.execute(text(f"DROP TRIGGER {trigger}"))
    assert schema_of(fresh) != expected
    without_trigger = schema_of(fresh)
    with fresh.begin() as connection:
        connection.execute(text("DROP INDEX uq_items_open_url_key"))
        connection.execute(text("CREATE UNIQUE INDEX uq_items_open_url_key ON items (url_key) WHERE is_open"))
    assert schema_of(fresh) != without_trigger


def test_a_new_database_is_created_without_replaying_the_migrations(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replayed: list[str] = []
    real_upgrade = command.upgrade

    def spy(config: Config, revision: str, **options: Any) -> None:
        replayed.append(revision)
        real_upgrade(config, revision, **options)

    monkeypatch.setattr(command, "upgrade", spy)
    engine = create_store_engine(database_url)
    try:
        migrate(engine)
        assert replayed == [] and current_revision(engine) == HEAD
        # The audit log is guarded from the start.
        with engine.begin() as connection:
            connection.execute(insert(t.audit_log), _audit_row("kept"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(update(t.audit_log).values(detail="changed"))
        migrate(engine)  # a database with tables is upgraded, as ever (at head: nothing to do)
        assert replayed == ["head"] and current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_a_revision_below_head_on_a_new_database_is_replayed(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        migrate(engine, "0016_event_details")
        assert current_revision(engine) == "0016_event_details"
        assert "peer_refusals" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_failure_while_creating_leaves_the_database_empty(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("stamp failed")

    engine = create_store_engine(database_url)
    try:
        monkeypatch.setattr(MigrationContext, "stamp", broken)
        with pytest.raises(RuntimeError, match="stamp failed"):
            migrate(engine)
        assert inspect(engine).get_table_names() == []  # one transaction: the tables went too
        monkeypatch.undo()
        migrate(engine)
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()


def test_a_new_database_takes_a_later_migration_and_gives_it_back(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_store_engine(database_url)
    try:
        migrate(engine)
        before = schema_of(engine)
        folder = tmp_path / "migrations"
        shutil.copytree(alembic_config().get_main_option("script_location") or "", folder)
        (folder / "versions" / "9999_later.py").write_text(_LATER.format(head=HEAD))
        monkeypatch.setattr(node.store.engine, "_MIGRATIONS", folder)
        assert ScriptDirectory(str(folder)).get_current_head() == "9999_later"
        migrate(engine)
        assert current_revision(engine) == "9999_later"
        inspector = inspect(engine)
        assert "later" in inspector.get_table_names()
        assert "later_note" in {c["name"] for c in inspector.get_columns("items")}
        assert "ix_items_state" not in {i["name"] for i in inspector.get_indexes("items")}
        unique = {u["name"] for u in inspector.get_unique_constraints("known_hashes")}
        assert unique == {"uq_known_hashes_algorithm_digest"}
        downgrade(engine, HEAD)
        assert current_revision(engine) == HEAD
        assert schema_of(engine) == before
    finally:
        engine.dispose()
