"""What a database error means to the store's callers: an unreachable database is StoreUnavailable (its text
never naming the server), a serialization failure or deadlock is Aborted (retry), and a bad statement stays
the bug it is."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from node.app import Node
from node.errors import Aborted, StoreUnavailable


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        (None, StoreUnavailable),  # connection refused: no SQLSTATE
        ("08006", StoreUnavailable),  # connection failure
        ("57P01", StoreUnavailable),  # admin shutdown
        ("40001", Aborted),  # serialization failure
        ("40P01", Aborted),  # deadlock detected
    ],
)
def test_an_operational_error_is_an_outage_or_a_conflict(
    node: Node, sqlstate: str | None, expected: type[Exception]
) -> None:
    driver = _DriverError('connection to server at "198.51.100.7", port 5432 failed', sqlstate)
    with pytest.raises(expected) as caught, node.store.transaction():
        raise OperationalError("SELECT 1", {}, driver)
    assert "198.51.100.7" not in str(caught.value) and "5432" not in str(caught.value)


def test_a_bad_statement_is_not_an_outage(node: Node) -> None:
    with pytest.raises((OperationalError, ProgrammingError)) as caught, node.store.transaction() as tx:
        tx.c.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, StoreUnavailable | Aborted)


def test_ping_answers_while_the_database_does(node: Node) -> None:
    node.store.ping()
