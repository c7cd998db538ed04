"""What the deterministic simulator's memory is made of, at the end of each simulated day (issue 10).

    python -m benchmarks.mem_probe --days 4 [--tracemalloc] [--out benchmarks/results/mem_probe.json]

At each day boundary it records: the RSS; glibc's heap (mallinfo2: in use, free inside the arenas, mmapped);
the Python heap (`sys.getallocatedblocks`, and tracemalloc's traced size with --tracemalloc); SQLite's own heap
(`sqlite3_memory_used` of the libsqlite3 the `_sqlite3` module links) and, per kind of connection (a node's
store, the timeline sampler's read-only view, the ledger), the page cache and the prepared statements each
holds (`sqlite3_db_status`); the asyncio tasks alive; and the gc-tracked objects by type, whose growth between
two days is printed. With --tracemalloc (one frame) it prints the allocation sites that grew most between the
second day and the last. The probe only reads: a run's outputs are the same with or without it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import ctypes.util
import gc
import json
import logging
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from node.logs import configure_logging
from simulator.runner import Progress, run_deterministic
from simulator.scenario import load_scenario

_CACHE_USED, _SCHEMA_USED, _STMT_USED = 1, 2, 3  # SQLITE_DBSTATUS_*


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def _libsqlite() -> ctypes.CDLL:
    """The libsqlite3 the `_sqlite3` module is linked against (the one whose counters count)."""
    import _sqlite3

    out = subprocess.run(["ldd", _sqlite3.__file__], capture_output=True, text=True, check=True).stdout
    path = next(line.split("=>")[1].split()[0] for line in out.splitlines() if "libsqlite3" in line)
    lib = ctypes.CDLL(path)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    lib.sqlite3_db_status.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    lib.sqlite3_db_filename.restype = ctypes.c_char_p
    lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    return lib


class _Connections:
    """Every sqlite3 connection the run opens (sqlite3.connect wrapped, and sqlite3.dbapi2.connect, which
    SQLAlchemy's pysqlite dialect calls), with the `sqlite3 *` of each (the first field after the object
    head of CPython's pysqlite_Connection)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        # Held (sqlite3 connections take no weak references); a closed one (its `sqlite3 *` NULL) is let go.
        self._live: list[tuple[sqlite3.Connection, str]] = []
        original = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection = original(*args, **kwargs)
            self._live.append((connection, str(args[0] if args else kwargs.get("database"))))
            return connection

        sqlite3.connect = sqlite3.dbapi2.connect = connect  # type: ignore[assignment]

    def by_kind(self) -> dict[str, dict[str, float]]:
        kinds: dict[str, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(float))
        alive = []
        for connection, name in self._live:
            kind = "ledger" if name.endswith("ledger.db") else "sampler" if "mode=ro" in name else "node"
            if "scratch" in name:
                kind = "end-of-run"
            db = ctypes.c_void_p.from_address(id(connection) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
            if not db:
                continue
            alive.append((connection, name))
            figures = kinds[kind]
            figures["connections"] += 1
            for label, op in (("cache_mib", _CACHE_USED), ("statements_mib", _STMT_USED), ("schema_mib", _SCHEMA_USED)):
                current, high = ctypes.c_int(), ctypes.c_int()
                self._lib.sqlite3_db_status(db, op, ctypes.byref(current), ctypes.byref(high), 0)
                figures[label] += current.value / 2**20
        self._live = alive
        return {kind: {k: round(v, 1) for k, v in figures.items()} for kind, figures in kinds.items()}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="inhope-2024")
    parser.add_argument("--days", type=float, default=4.0)
    parser.add_argument("--drain-hours", type=float, default=1.0)
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (one frame)")
    parser.add_argument("--types", type=int, default=25, help="the object types that grew most, printed per day")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    lib = _libsqlite()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = _MallInfo2
    connections = _Connections(lib)
    if args.tracemalloc:
        tracemalloc.start(1)
    scenario = load_scenario(args.scenario)
    sim = replace(scenario.simulation, duration_hours=args.days * 24, drain_hours=args.drain_hours)
    scenario = replace(scenario, simulation=sim)
    run_dir = Path(tempfile.mkdtemp(prefix="mem-probe-")) / "run"
    log = (run_dir.parent / "nodes.log").open("w")
    configure_logging("json", logging.WARNING, stream=log)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    days: list[dict[str, Any]] = []
    previous_types: collections.Counter[str] = collections.Counter()
    snapshots: dict[int, tracemalloc.Snapshot] = {}
    started = time.process_time()

    def on_progress(progress: Progress) -> None:
        nonlocal previous_types
        day = progress.simulated_hours / 24
        if progress.phase not in ("running", "draining") or (days and day < days[-1]["day"] + 1):
            return
        probe_cpu = time.process_time()
        info = libc.mallinfo2()
        types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        row: dict[str, Any] = {
            "day": round(day, 2),
            "cpu_s": round(probe_cpu - started, 1),
            "rss_mib": _rss_mib(),
            "malloc_in_use_mib": round(info.uordblks / 2**20, 1),
            "malloc_free_in_arenas_mib": round(info.fordblks / 2**20, 1),
            "malloc_mmapped_mib": round(info.hblkhd / 2**20, 1),
            "python_blocks": sys.getallocatedblocks(),
            "sqlite_heap_mib": round(lib.sqlite3_memory_used() / 2**20, 1),
            "sqlite_heap_highwater_mib": round(lib.sqlite3_memory_highwater(0) / 2**20, 1),
            "sqlite_by_connection_kind": connections.by_kind(),
            "tasks": len(asyncio.all_tasks()),
            "gc_objects": sum(types.values()),
        }
        if args.tracemalloc:
            row["traced_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
            whole = int(day)
            if whole in (2, int(args.days)):
                snapshots[whole] = tracemalloc.take_snapshot()
        grown = (types - previous_types).most_common(args.types)
        row["types_grown"] = dict(grown)
        previous_types = types
        row["probe_cpu_s"] = round(time.process_time() - probe_cpu, 1)
        days.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "types_grown"}), flush=True)
        print("   grew:", ", ".join(f"{name} +{n}" for name, n in grown[:15]), flush=True)

    try:
        run_deterministic(scenario, run_dir, on_progress=on_progress)
    finally:
        configure_logging("console", logging.WARNING)
        log.close()
    if len(snapshots) == 2:
        first, last = (snapshots[k] for k in sorted(snapshots))
        print(f"tracemalloc, day {min(snapshots)} to day {max(snapshots)}: the sites that grew most")
        for stat in last.compare_to(first, "lineno")[:40]:
            print(f"  {stat.size_diff / 2**20:+8.2f} MiB {stat.count_diff:+9d} blocks  {stat.traceback}")
    if args.out:
        args.out.write_text(json.dumps({"days": days, "run_dir": str(run_dir)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
