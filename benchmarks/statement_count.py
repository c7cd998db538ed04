"""Count the SQL statements and transactions of a simulator run, per report, and say where they come from.

    python -m benchmarks.statement_count [--top 15] -- run inhope-2024 --hours 6 --drain-hours 6 --out /tmp/r

Everything after `--` is the simulator's command line (`hotline-sim ...`), run in this process (deterministic
mode: every node's SQLite database is opened by this process). Each SQLite connection the nodes' engines open
gets a trace callback: every statement SQLite runs (one per row of an executemany) is counted under its SQL
text (literals replaced by `?`, IN lists folded) and under its calling site (the innermost frame of node/ that
is not node.store.direct, with the first frame outside node/store that led to it). Every
`SqlStore.transaction` is counted under the frame that opened it, and whether it was read-only. Reports are
the run's summary.json `reports`. The counts include start-up (schema migration of every node) and
the end of run, which run outside the node's transactions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine, event

from node.store import sql_store

_ROOT = str(Path(__file__).resolve().parent.parent)
_NODE = f"{_ROOT}/node/"
_STORE = f"{_ROOT}/node/store/"
_DIRECT = f"{_ROOT}/node/store/direct.py"
_LITERAL = re.compile(r"'(?:[^']|'')*'|\bX'[0-9A-Fa-f]*'|(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_IN_LIST = re.compile(r"\((?:\s*\?\s*,)+\s*\?\s*\)")


class Tally:
    """What the run did: statements by SQL text and by site, transactions by opener."""

    def __init__(self) -> None:
        self.statements = 0
        self.by_sql: Counter[str] = Counter()
        self.by_site: Counter[str] = Counter()
        self.transactions = 0
        self.by_opener: Counter[str] = Counter()

    def statement(self, sql: str) -> None:
        self.statements += 1
        self.by_sql[_normalise(sql)] += 1
        self.by_site[_site(sys._getframe(1))] += 1

    def transaction(self, read_only: bool, single_read: bool) -> None:
        self.transactions += 1
        kind = "single read" if single_read else "read" if read_only else "write"
        self.by_opener[f"{_opener(sys._getframe(3))} ({kind})"] += 1


def _normalise(sql: str) -> str:
    sql = _IN_LIST.sub("(?, ...)", _LITERAL.sub("?", " ".join(sql.split())))
    return sql if len(sql) <= 160 else sql[:157] + "..."


def _where(frame: FrameType) -> str:
    return f"{frame.f_code.co_filename.removeprefix(_ROOT + '/')}:{frame.f_code.co_name}"


def _site(frame: FrameType | None) -> str:
    """The innermost node/ frame that is not node.store.direct, and the first one outside node/store above it."""
    inner = outer = None
    while frame is not None:
        name = frame.f_code.co_filename
        if inner is None and name.startswith(_NODE) and name != _DIRECT:
            inner = frame
        if inner is not None and name.startswith(_NODE) and not name.startswith(_STORE):
            outer = frame
            break
        frame = frame.f_back
    if inner is None:
        return "(outside node/)"
    return _where(inner) if outer is None or outer is inner else f"{_where(inner)} <- {_where(outer)}"


def _opener(frame: FrameType | None) -> str:
    while frame is not None and (
        frame.f_code.co_filename.startswith(_STORE) or "contextlib" in frame.f_code.co_filename
    ):
        frame = frame.f_back
    return "(unknown)" if frame is None else _where(frame)


def install(tally: Tally) -> None:
    """Trace every SQLite connection engines open from now on, and count every store transaction."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(tally.statement)

    event.listen(Engine, "connect", on_connect)
    original = sql_store.SqlStore.transaction

    @contextmanager
    def counted(self: sql_store.SqlStore, **options: bool) -> Iterator[sql_store.SqlTransaction]:
        tally.transaction(options.get("read_only", False), options.get("single_read", False))
        with original(self, **options) as tx:
            yield tx

    sql_store.SqlStore.transaction = counted  # type: ignore[method-assign]


def _reports(arguments: list[str]) -> int:
    out = arguments[arguments.index("--out") + 1]
    summary = json.loads((Path(out) / "summary.json").read_text())
    return int(summary["reports"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("simulator", nargs=argparse.REMAINDER, help="-- then the simulator's arguments")
    options = parser.parse_args()
    arguments = [a for a in options.simulator if a != "--"]
    tally = Tally()
    install(tally)
    from simulator.cli import app  # after install: the nodes' engines are created inside the run

    with suppress(SystemExit):
        app(arguments, standalone_mode=False)
    reports = _reports(arguments)
    commits = tally.by_sql["COMMIT"]
    print(f"reports {reports}: statements {tally.statements} ({tally.statements / reports:.1f} per report),")
    print(f"  commits {commits} ({commits / reports:.1f}), store transactions {tally.transactions}")
    print("  (statements: every one SQLite runs, one per row of an executemany, BEGIN and COMMIT included)")
    print(f"\ntop {options.top} statements by SQL text (count, per report):")
    for sql, count in tally.by_sql.most_common(options.top):
        print(f"  {count:8d} {count / reports:6.2f}  {sql}")
    print(f"\ntop {options.top} statements by calling site:")
    for site, count in tally.by_site.most_common(options.top):
        print(f"  {count:8d} {count / reports:6.2f}  {site}")
    print(f"\ntop {options.top} transactions by opener:")
    for opener, count in tally.by_opener.most_common(options.top):
        print(f"  {count:8d} {count / reports:6.2f}  {opener}")


if __name__ == "__main__":
    main()
