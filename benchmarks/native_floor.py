"""How much of a report's CPU the node code spends inside its two native libraries, SQLite and cryptography, in
a deterministic run of the simulator (issue 10): the floor that no trimming of the Python around them lowers.

    python -m benchmarks.native_floor [--out benchmarks/results/native_floor.json] -- \
        run inhope-2024 --hours 24 --drain-hours 6 --out /tmp/floor-run

Everything after `--` is the simulator's command line (`hotline-sim ...`), run in this process. Every SQLite
connection a node's store opens (its `node.db`; not the simulator's ledger, sampler or end-of-run readers) gets
a cursor and connection class that time each call into the sqlite3 module: execute, executemany, the fetches,
commit and rollback. The signing keys' `sign` and `verify` and the HPKE suites' `encrypt` and `decrypt` are
timed as well. The sum of those times is what the libraries themselves cost (with the sqlite3 module's
binding of parameters and building of rows, which are C as well); the rest of the process's CPU is Python.
The wrappers add Python work of their own, so the process CPU here is a little above a plain run's; the
timed parts are not inflated by them.

The figures answer one question: could a year of `inhope-2024` (2,497,438 reports) run in under an hour on
two cores with this node code? The deterministic mode runs on one core; an hour of one core is 1.44 ms a
report, and an hour of two perfectly shared cores 2.88 ms.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sqlite3.dbapi2
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from node.crypto import keys

_T = TypeVar("_T")
YEAR_REPORTS = 2_497_438  # inhope-2024's records in a year (../shared/data/figures.md)
HOUR_S = 3600.0


class Timer:
    """Time spent inside the timed calls, by kind: the thread's CPU time (what the budget is about; a wait for
    the disk or for another process's turn on the core is not counted) and the wall time, with the calls."""

    def __init__(self) -> None:
        self.cpu_ns: dict[str, int] = {}
        self.wall_ns: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def time(self, kind: str, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        try:
            return call(*args, **kwargs)
        finally:
            self.cpu_ns[kind] = self.cpu_ns.get(kind, 0) + time.thread_time_ns() - cpu
            self.wall_ns[kind] = self.wall_ns.get(kind, 0) + time.perf_counter_ns() - wall
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def calibrate(self, rounds: int = 200_000) -> None:
        """What timing an empty call costs, measured here and taken off every timed call: the clocks themselves
        (the thread's CPU clock is a system call) would otherwise be counted as the libraries' time."""
        probe = Timer()
        for _ in range(rounds):
            probe.time("empty", int)
        self.overhead_cpu_ns = probe.cpu_ns["empty"] // rounds
        self.overhead_wall_ns = probe.wall_ns["empty"] // rounds

    overhead_cpu_ns = 0
    overhead_wall_ns = 0

    def net_ns(self, kind: str, *, wall: bool = False) -> int:
        """The time inside `kind`'s calls, less the timing's own cost."""
        if wall:
            return max(0, self.wall_ns[kind] - self.calls[kind] * self.overhead_wall_ns)
        return max(0, self.cpu_ns[kind] - self.calls[kind] * self.overhead_cpu_ns)

    def seconds(self, prefix: str, *, wall: bool = False) -> float:
        return sum(self.net_ns(kind, wall=wall) for kind in self.calls if kind.startswith(prefix)) / 1e9


TIMER = Timer()


class TimedCursor(sqlite3.Cursor):
    def execute(self, *args: Any) -> Any:
        return TIMER.time("sqlite.execute", super().execute, *args)

    def executemany(self, *args: Any) -> Any:
        return TIMER.time("sqlite.executemany", super().executemany, *args)

    def fetchone(self) -> Any:
        return TIMER.time("sqlite.fetch", super().fetchone)

    def fetchall(self) -> Any:
        return TIMER.time("sqlite.fetch", super().fetchall)

    def fetchmany(self, *args: Any) -> Any:
        return TIMER.time("sqlite.fetch", super().fetchmany, *args)

    def __next__(self) -> Any:
        return TIMER.time("sqlite.fetch", super().__next__)


class TimedConnection(sqlite3.Connection):
    def cursor(self, factory: Any = TimedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> Any:
        return self.cursor().execute(*args)

    def commit(self) -> None:
        TIMER.time("sqlite.commit", super().commit)

    def rollback(self) -> None:
        TIMER.time("sqlite.rollback", super().rollback)


class TimedSuite:
    """An HPKE suite whose encrypt and decrypt are timed."""

    def __init__(self, suite: Any) -> None:
        self._suite = suite

    def encrypt(self, *args: Any, **kwargs: Any) -> Any:
        return TIMER.time("crypto.hpke_encrypt", self._suite.encrypt, *args, **kwargs)

    def decrypt(self, *args: Any, **kwargs: Any) -> Any:
        return TIMER.time("crypto.hpke_decrypt", self._suite.decrypt, *args, **kwargs)


def install() -> None:
    """Time the node stores' SQLite connections opened from now on, and the node's crypto."""
    connect = sqlite3.connect

    def timed_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database).endswith("node.db") and "factory" not in kwargs:
            kwargs["factory"] = TimedConnection
        connection: sqlite3.Connection = connect(database, *args, **kwargs)
        return connection

    # SQLAlchemy's pysqlite dialect connects through sqlite3.dbapi2.
    sqlite3.connect = sqlite3.dbapi2.connect = timed_connect  # type: ignore[assignment]
    sign, verify = keys.SigningKeyPair.sign, keys.PublicSigningKey.verify
    keys.SigningKeyPair.sign = lambda self, message: TIMER.time("crypto.sign", sign, self, message)  # type: ignore[method-assign]
    keys.PublicSigningKey.verify = lambda self, signature, message: TIMER.time(  # type: ignore[method-assign]
        "crypto.verify", verify, self, signature, message
    )
    for suite_id, suite in list(keys.SUITES.items()):
        keys.SUITES[suite_id] = TimedSuite(suite)  # type: ignore[assignment]


def figures(reports: int, cpu_s: float) -> dict[str, Any]:
    sqlite_s, crypto_s = TIMER.seconds("sqlite."), TIMER.seconds("crypto.")
    per_report = {
        "cpu_ms": 1000 * cpu_s / reports,
        "sqlite_ms": 1000 * sqlite_s / reports,
        "crypto_ms": 1000 * crypto_s / reports,
        "python_ms": 1000 * (cpu_s - sqlite_s - crypto_s) / reports,
    }
    floor_ms = per_report["sqlite_ms"] + per_report["crypto_ms"]
    return {
        "reports": reports,
        "process_cpu_s": round(cpu_s, 1),
        "sqlite_s": round(sqlite_s, 1),
        "crypto_s": round(crypto_s, 1),
        "per_report_ms": {k: round(v, 3) for k, v in per_report.items()},
        "timing_overhead_ns": {"cpu": TIMER.overhead_cpu_ns, "wall": TIMER.overhead_wall_ns},
        "sqlite_wall_s": round(TIMER.seconds("sqlite.", wall=True), 1),
        "by_kind": {
            kind: {
                "calls": TIMER.calls[kind],
                "per_report": round(TIMER.calls[kind] / reports, 2),
                "cpu_s": round(TIMER.net_ns(kind) / 1e9, 2),
                "wall_s": round(TIMER.net_ns(kind, wall=True) / 1e9, 2),
            }
            for kind in sorted(TIMER.calls)
        },
        "year": {
            "reports": YEAR_REPORTS,
            "native_floor_s": round(YEAR_REPORTS * floor_ms / 1000),
            "sqlite_only_s": round(YEAR_REPORTS * per_report["sqlite_ms"] / 1000),
            "at_this_cpu_s": round(YEAR_REPORTS * per_report["cpu_ms"] / 1000),
            "budget_ms_per_report_one_core": round(1000 * HOUR_S / YEAR_REPORTS, 3),
            "budget_ms_per_report_two_cores": round(2000 * HOUR_S / YEAR_REPORTS, 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    parser.add_argument("simulator", nargs=argparse.REMAINDER, help="-- then the simulator's arguments")
    options = parser.parse_args()
    arguments = [a for a in options.simulator if a != "--"]
    TIMER.calibrate()
    install()
    from simulator.cli import app  # after install: the nodes' engines are created inside the run

    cpu = time.process_time()
    with suppress(SystemExit):
        app(arguments, standalone_mode=False)
    cpu = time.process_time() - cpu
    summary = json.loads((Path(arguments[arguments.index("--out") + 1]) / "summary.json").read_text())
    result = {"simulator": arguments, **figures(int(summary["reports"]), cpu)}
    text = json.dumps(result, indent=2)
    print(text)
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
