"""Hot statements run straight on the DB-API cursor of a SQLAlchemy connection.

A `Direct` wraps one SQLAlchemy Core statement (a select, insert, update or delete with bind parameters). It is
compiled once per dialect (and, for inserts and updates, per set of parameter names) by the dialect itself, so
the SQL text, paramstyle (SQLite's `?`, psycopg's `%(name)s` with its casts) and parameter order are exactly
SQLAlchemy's. Each call then only converts the values and runs the text on a cursor of the connection's own
DB-API connection, so inside the transaction and savepoints SQLAlchemy holds:

- parameters go through the bind processors of their SQLAlchemy types (UtcDateTime's refusal of naive times,
  SQLite's DateTime string format, ...), with the statement's own literal values as SQLAlchemy would pass them;
- result values go through the types' result processors (SQLite's DateTime strings and integer booleans back to
  datetimes and bools, UtcDateTime's zone), and rows come back as named tuples whose fields are the selected
  columns' keys, read like SQLAlchemy's rows (`row.item_id`, `row[0]`, `row._asdict()`);
- DB-API errors are translated as SQLAlchemy translates them (an IntegrityError is still an IntegrityError, a
  lost connection still an OperationalError), without parameter values when the engine hides them.

It skips SQLAlchemy's per-call statement handling (cache key, compiled-cache lookup, execution context, result
metadata, events), which costs several times SQLite's own execute for a small statement. The stored bytes and
the values read back are the same as through `Connection.execute`; tests/store/test_direct.py checks that on
both backends.
"""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError, StatementError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Direct", "run_driver_sql"]

_REQUIRED = object()  # a bind parameter without a value of its own: the caller must give one
_NO_PARAMETERS: Mapping[str, Any] = {}
_Processor = Callable[[Any], Any]
_T = TypeVar("_T")


class Direct:
    """One statement, compiled once per dialect and run on the DB-API cursor (see the module's docstring)."""

    __slots__ = ("_by_names", "_plans", "_statement")

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        # Inserts and updates compile their VALUES / SET from the parameters given (as SQLAlchemy does): one
        # plan per set of names. Other statements: one plan per dialect.
        self._by_names = getattr(statement, "is_dml", False) and not getattr(statement, "is_delete", False)
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def run(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> tuple[int, int | None]:
        """Run the statement once per row of parameters (all with the same names; executemany for more than
        one): (rows changed, the last inserted row's id where the driver tells it, else None)."""
        plan = self._plan(connection.dialect, rows[0])
        bound = [plan.bind(row, connection) for row in rows]
        if len(bound) == 1 or plan.expanding:  # an expanding statement's text may differ row by row
            changed, last = 0, None
            for sql, args in bound:
                count, last = _execute(connection, sql, args, _changed)
                changed += max(count, 0)
            return changed, last
        return _execute(connection, plan.sql, [args for _, args in bound], _changed, many=True)

    def all(self, connection: Connection, params: Mapping[str, Any] = _NO_PARAMETERS) -> list[Any]:
        """Every row of the result, as named tuples of the processed values."""
        plan = self._plan(connection.dialect, params)
        sql, args = plan.bind(params, connection)
        return _execute(connection, sql, args, lambda c: plan.rows(c, c.fetchall()))

    def first(self, connection: Connection, params: Mapping[str, Any] = _NO_PARAMETERS) -> Any | None:
        """The first row of the result, or None."""
        plan = self._plan(connection.dialect, params)
        sql, args = plan.bind(params, connection)

        def fetch(cursor: Any) -> Any | None:
            row = cursor.fetchone()
            return None if row is None else plan.rows(cursor, (row,))[0]

        return _execute(connection, sql, args, fetch)

    def scalars(self, connection: Connection, params: Mapping[str, Any] = _NO_PARAMETERS) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self.all(connection, params)]

    def scalar(self, connection: Connection, params: Mapping[str, Any] = _NO_PARAMETERS) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.first(connection, params)
        return None if row is None else row[0]

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        key = (dialect.name, tuple(params) if self._by_names else ())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self._statement, dialect, list(key[1]) if self._by_names else None)
        return plan


class _Plan:
    """A statement compiled for one dialect: its SQL text, how to bind parameters, how to read rows."""

    __slots__ = ("columns", "compiled", "dialect", "expanding", "named", "processors", "results", "row", "slots", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: list[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names:
            raise ValueError("Direct statements use bind parameter names that need no escaping")
        self.compiled, self.dialect, self.sql = compiled, dialect, compiled.string
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        self.processors: dict[str, _Processor] = {}
        for name, bind in by_name.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
        # Expanding (IN lists) and literal-execute parameters change the text per call: SQLAlchemy's public
        # construct_expanded_state renders it. Every other statement binds straight from `slots`.
        self.expanding = bool(compiled.post_compile_params or compiled.literal_execute_params)
        names = list(compiled.positiontup or ()) if compiled.positional else list(by_name)
        self.named = not compiled.positional
        self.slots: list[tuple[str, str, Any, _Processor | None]] = []
        for name in names:
            bind = by_name[name]
            convert = self.processors.get(name)
            if bind.required:
                default: Any = _REQUIRED
            else:
                default = bind.effective_value if bind.callable else bind.value
                if convert is not None and not self.expanding:
                    default = convert(default)
            self.slots.append((bind.key, name, default, convert))
        # The columns a select (or an insert's RETURNING) gives back, and the rows' fields: their keys.
        self.columns = list(getattr(statement, "exported_columns", ()))
        self.row: Any = namedtuple("Row", [column.key for column in self.columns]) if self.columns else None
        self.results: list[tuple[int, _Processor]] | None = None  # learnt from the first result's description

    def bind(self, params: Mapping[str, Any], connection: Connection) -> tuple[str, Any]:
        """The SQL text and the DB-API parameters (a list or a dict, as the dialect's paramstyle wants)."""
        try:
            if self.expanding:
                return self._bind_expanded(params)
            values: list[Any] = []
            for key, name, default, processor in self.slots:
                if key in params:
                    value = params[key]
                elif name in params:
                    value = params[name]
                elif default is _REQUIRED:
                    raise InvalidRequestError(f"A value is required for bind parameter {key!r}")
                else:
                    values.append(default)
                    continue
                values.append(value if processor is None else processor(value))
        except InvalidRequestError:
            raise
        except Exception as error:  # a bad value (a naive datetime, say): as SQLAlchemy reports it
            hide = connection.engine.hide_parameters
            raise StatementError(str(error), self.sql, dict(params), error, hide_parameters=hide) from error
        if self.named:
            return self.sql, {slot[1]: value for slot, value in zip(self.slots, values, strict=True)}
        return self.sql, values

    def _bind_expanded(self, params: Mapping[str, Any]) -> tuple[str, Any]:
        state = self.compiled.construct_expanded_state(dict(params), escape_names=False)
        values = dict(state.parameters)
        for processors in (self.processors, state.processors):
            for name, processor in processors.items():
                if name in values:
                    values[name] = processor(values[name])
        if state.positiontup is not None:
            return state.statement, [values[name] for name in state.positiontup]
        return state.statement, values

    def rows(self, cursor: Any, raw: Iterable[Sequence[Any]]) -> list[Any]:
        """The fetched rows as named tuples of processed values."""
        if self.row is None:
            raise TypeError("this statement selects no columns")
        if self.results is None:
            self.results = self._result_processors(cursor.description)
        make, results = self.row._make, self.results
        if not results:
            return [make(values) for values in raw]
        rows = []
        for values in raw:
            processed = list(values)
            for index, processor in results:
                processed[index] = processor(processed[index])
            rows.append(make(processed))
        return rows

    def _result_processors(self, description: Sequence[Sequence[Any]]) -> list[tuple[int, _Processor]]:
        if len(description) != len(self.columns):
            raise RuntimeError(f"expected {len(self.columns)} columns, the driver described {len(description)}")
        processors = []
        for index, (column, described) in enumerate(zip(self.columns, description, strict=True)):
            processor = column.type.dialect_impl(self.dialect).result_processor(self.dialect, described[1])
            if processor is not None:
                processors.append((index, processor))
        return processors


def _changed(cursor: Any) -> tuple[int, int | None]:
    return cursor.rowcount, getattr(cursor, "lastrowid", None)


def run_driver_sql(connection: Connection, sql: str) -> None:
    """Run a plain statement without parameters (BEGIN IMMEDIATE, say) on the DB-API cursor, errors translated
    as SQLAlchemy translates them."""
    _execute(connection, sql, None, lambda _cursor: None)


def _execute(connection: Connection, sql: str, args: Any, read: Callable[[Any], _T], *, many: bool = False) -> _T:
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, args)
        elif args is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, args)
        return read(cursor)
    except dbapi.Error as error:
        # As SQLAlchemy's own handling: a lost connection is invalidated (the pool drops it) and said so.
        lost = bool(dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor))
        hide = connection.engine.hide_parameters
        wrapped = DBAPIError.instance(
            sql, args, error, dbapi.Error, hide_parameters=hide, connection_invalidated=lost, dialect=dialect
        )
        if lost:
            connection.invalidate(error)
        raise wrapped from error
    finally:
        with contextlib.suppress(Exception):  # as SQLAlchemy closes a cursor: after an error, quietly
            cursor.close()
