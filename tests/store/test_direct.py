"""node.store.direct on both backends: a statement run on the DB-API cursor stores the same values, byte for
byte, as SQLAlchemy's `Connection.execute` does, and reads back the same values (datetimes with their zone,
None, booleans, big integers, bytes, text); IN lists expand; changed-row counts, ids and RETURNING are told; and
errors are SQLAlchemy's (a conflict an IntegrityError, a naive datetime a StatementError, a missing parameter
refused)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, InvalidRequestError, StatementError

from node.store.direct import Direct
from node.store.schema import UtcDateTime

_metadata = MetaData()
_probe = Table(
    "direct_probe",
    _metadata,
    Column("probe_id", Integer(), primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("at", UtcDateTime(), nullable=True),
    Column("flag", Boolean(), nullable=True),
    Column("big", BigInteger(), nullable=True),
    Column("blob", LargeBinary(), nullable=True),
    Column("note", String(200), nullable=True),
)

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
VALUES: list[dict[str, Any]] = [
    {"name": "full", "at": T0, "flag": True, "big": 2**40, "blob": b"\x00\xff\x10", "note": "ünïcode ✓"},
    {"name": "empty", "at": None, "flag": None, "big": None, "blob": None, "note": None},
    {  # another zone: stored as UTC, read back as UTC
        "name": "zoned",
        "at": datetime(2026, 3, 2, 11, 30, tzinfo=timezone(timedelta(hours=2))),
        "flag": False,
        "big": -1,
        "blob": b"",
        "note": "",
    },
]
_BY_NAME = select(_probe).where(_probe.c.name == bindparam("k_name")).order_by(_probe.c.probe_id)
_INSERT = insert(_probe)


@pytest.fixture
def probe_engine(engine: Engine) -> Iterator[Engine]:
    _metadata.create_all(engine)
    yield engine
    _metadata.drop_all(engine)


def _stored(connection: Connection, name: str) -> tuple[Any, ...]:
    """The row as the database keeps it: the driver's values, without SQLAlchemy's result processing."""
    quoted = "%(name)s" if connection.dialect.name == "postgresql" else "?"
    columns = "name, at, flag, big, blob, note"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        arguments: Any = {"name": name} if connection.dialect.name == "postgresql" else (name,)
        cursor.execute(f"SELECT {columns} FROM direct_probe WHERE name = {quoted}", arguments)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


def test_values_are_stored_and_read_back_as_sqlalchemy_stores_and_reads_them(probe_engine: Engine) -> None:
    direct_insert, direct_select = Direct(_INSERT), Direct(_BY_NAME)
    with probe_engine.begin() as connection:
        for values in VALUES:
            connection.execute(_INSERT, {**values, "name": f"sa-{values['name']}"})
            direct_insert.run(connection, [{**values, "name": f"direct-{values['name']}"}])
    with probe_engine.connect() as connection:
        for values in VALUES:
            sa_name, direct_name = f"sa-{values['name']}", f"direct-{values['name']}"
            assert _stored(connection, direct_name)[1:] == _stored(connection, sa_name)[1:]
            through_sa = connection.execute(_BY_NAME, {"k_name": sa_name}).one()
            through_direct = direct_select.first(connection, {"k_name": direct_name})
            assert through_direct is not None
            assert through_direct[2:] == tuple(through_sa)[2:]
            assert through_direct._asdict().keys() == through_sa._mapping.keys()
            for key in ("at", "flag", "big", "blob", "note"):
                assert getattr(through_direct, key) == getattr(through_sa, key), key
                assert type(getattr(through_direct, key)) is type(getattr(through_sa, key)), key
            expected_at = values["at"].astimezone(UTC) if values["at"] else None
            assert through_direct.at == expected_at
            assert through_direct.at is None or through_direct.at.tzinfo is UTC


def test_many_rows_in_one_call_and_the_counts_and_ids_it_tells(probe_engine: Engine) -> None:
    rows = [{"name": f"n{i}", "at": T0 + timedelta(seconds=i), "flag": i % 2 == 0} for i in range(5)]
    with probe_engine.begin() as connection:
        changed, _ = Direct(_INSERT).run(connection, rows)
        assert changed == 5
        one = {"name": "one", "at": T0, "flag": True}
        _, last_id = Direct(_INSERT).run(connection, [one])
        if connection.dialect.name == "sqlite":
            assert last_id == connection.execute(select(func.max(_probe.c.probe_id))).scalar_one()
        returning = Direct(insert(_probe).returning(_probe.c.probe_id))
        new_id = returning.scalar(connection, {"name": "returned", "at": T0})
        assert new_id == connection.execute(select(_probe.c.probe_id).where(_probe.c.name == "returned")).scalar()
        flip = Direct(update(_probe).where(_probe.c.flag == bindparam("k_flag")))
        changed, _ = flip.run(connection, [{"k_flag": True, "note": "was true"}])
        assert changed == 4  # n0, n2, n4 and "one"
        assert (
            Direct(delete(_probe).where(_probe.c.name == bindparam("k_name"))).run(connection, [{"k_name": "n1"}])[0]
            == 1
        )
        names = Direct(select(_probe.c.name).where(_probe.c.name.in_(bindparam("k_names", expanding=True))))
        assert sorted(names.scalars(connection, {"k_names": ["n0", "n1", "n2", "nope"]})) == ["n0", "n2"]
        assert names.scalars(connection, {"k_names": []}) == []
        later = Direct(select(_probe.c.name).where(_probe.c.at > bindparam("k_at")).order_by(_probe.c.at))
        assert later.scalars(connection, {"k_at": T0 + timedelta(seconds=2)}) == ["n3", "n4"]
        notes = Direct(select(_probe.c.note).where(_probe.c.flag.is_(True)).order_by(_probe.c.probe_id).limit(2))
        assert notes.all(connection) == [("was true",), ("was true",)]
        assert Direct(_BY_NAME).first(connection, {"k_name": "nope"}) is None
        assert Direct(_BY_NAME).scalar(connection, {"k_name": "nope"}) is None


def test_a_text_statement_with_typed_columns(probe_engine: Engine) -> None:
    with probe_engine.begin() as connection:
        Direct(_INSERT).run(connection, [{"name": "t", "at": T0, "flag": True}])
        query = Direct(
            text("SELECT at, flag FROM direct_probe WHERE name = :k_name").columns(at=UtcDateTime, flag=Boolean)
        )
        row = query.first(connection, {"k_name": "t"})
        assert row is not None and (row.at, row.flag) == (T0, True)


def test_errors_are_sqlalchemy_errors(probe_engine: Engine) -> None:
    with probe_engine.connect() as connection:
        with pytest.raises(IntegrityError), connection.begin():
            Direct(_INSERT).run(connection, [{"name": "twice"}, {"name": "twice"}])
        with pytest.raises(StatementError, match="naive"), connection.begin():
            Direct(_INSERT).run(connection, [{"name": "naive", "at": datetime(2026, 3, 2)}])
        with pytest.raises(InvalidRequestError, match="k_name"), connection.begin():
            Direct(_BY_NAME).first(connection, {})
        with connection.begin():  # each failure rolled its transaction back; the connection still works
            assert Direct(select(func.count().label("n")).select_from(_probe)).scalar(connection) == 0


def test_the_rows_of_a_savepoint_go_with_it(probe_engine: Engine) -> None:
    with probe_engine.begin() as connection:
        Direct(_INSERT).run(connection, [{"name": "kept"}])
        with pytest.raises(RuntimeError), connection.begin_nested():
            Direct(_INSERT).run(connection, [{"name": "undone"}])
            raise RuntimeError
    with probe_engine.connect() as connection:
        assert connection.execute(select(_probe.c.name)).scalars().all() == ["kept"]
