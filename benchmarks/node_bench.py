"""Benchmarks of one node: intake throughput against a bare grpc.aio echo, lookups at scale, memory.

    python -m benchmarks.node_bench            # full run (1,000,000 items), about 5 minutes on 2 cores
    python -m benchmarks.node_bench --quick    # a smoke run in under a minute

The server (the node, or the echo) runs in its own process; the load generator in this one. Every request
goes to 127.0.0.1 only, and every loop is bounded in time. Results go to benchmarks/results/node.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "node.json"
HOST = "127.0.0.1"


# ---------------------------------------------------------------------- servers (child processes)


def _serve_node(db_dir: str, conn: Any) -> None:
    import logging

    from node.app import build_node
    from node.cases.model import Role
    from node.config import parse_config
    from node.hosting import HostingFacts, StaticResolver
    from node.logs import configure_logging

    configure_logging("json", logging.WARNING)

    async def main() -> None:
        config = parse_config(
            {
                "node": {
                    "id": "bench-node",
                    "jurisdiction": "NL",
                    "listen": f"{HOST}:0",
                    "database_url": f"sqlite+pysqlite:///{db_dir}/bench.db",
                }
            },
            {},
        )
        resolver = StaticResolver({"nl.host.example": HostingFacts("192.0.2.1", "NL", 64500, "Example", False, "s")})
        node = build_node(config, resolver=resolver)
        _, secret = node.access.create_token("bench", "bench-intake", [Role.INTAKE])
        port = await node.start()
        conn.send((port, secret))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
        conn.send(_vm_hwm_kib())
        await node.stop(grace=0)

    asyncio.run(main())


def _serve_echo(conn: Any) -> None:
    import grpc
    from grpc import aio

    async def main() -> None:
        server = aio.server()

        async def echo(request: bytes, _context: Any) -> bytes:
            return request

        handler = grpc.method_handlers_generic_handler(
            "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
        )
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port(f"{HOST}:0")
        await server.start()
        conn.send((port, ""))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(_vm_hwm_kib())
        await server.stop(0)

    asyncio.run(main())


def _vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------- load generator


async def _load(call: Any, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker(worker_id: int) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await call(worker_id, n)
            latencies.append(time.perf_counter() - started)
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
    }


def _report_bytes(worker: int, n: int) -> bytes:
    from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb

    url = f"https://nl.host.example/bench/{worker:03d}/{n:08d}/{random.getrandbits(32):08x}"
    return intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url=url)]).SerializeToString()


async def _intake_round(kind: str, concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    from grpc import aio

    from node.api.client import NodeClient

    parent, child = mp.Pipe()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        target = _serve_node if kind == "node" else _serve_echo
        args = (tmp, child) if kind == "node" else (child,)
        process = ctx.Process(target=target, args=args, daemon=True)
        process.start()
        port, secret = parent.recv()
        address = f"{HOST}:{port}"
        if kind == "node":
            client = NodeClient(address, secret)
            method = client.channel.unary_unary(
                "/hotline.node.v1.IntakeService/SubmitReport",
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )
            channel = client.channel
        else:
            channel = aio.insecure_channel(address)
            method = channel.unary_unary(
                "/bench.Echo/Echo", request_serializer=lambda b: b, response_deserializer=lambda b: b
            )

        async def call(worker: int, n: int) -> None:
            await method(_report_bytes(worker, n))

        await _load(call, concurrency, warmup)
        result = await _load(call, concurrency, seconds)
        await channel.close()
        parent.send("stop")
        result["server_peak_rss_mib"] = parent.recv() / 1024
        process.join(10)
    result["message_bytes"] = len(_report_bytes(0, 0))
    return result


def bench_intake(seconds: float, warmup: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for concurrency in (1, 8, 64):
        node = asyncio.run(_intake_round("node", concurrency, seconds, warmup))
        echo = asyncio.run(_intake_round("echo", concurrency, seconds, warmup))
        out[str(concurrency)] = {"node": node, "echo": echo, "ratio": node["per_second"] / echo["per_second"]}
        print(
            f"  intake c={concurrency:>2}: node {node['per_second']:7.0f}/s  echo {echo['per_second']:7.0f}/s"
            f"  ratio {out[str(concurrency)]['ratio']:.2f}",
            flush=True,
        )
    return out


# ---------------------------------------------------------------------- lookups at scale


def bench_lookups(items: int, samples: int) -> dict[str, Any]:
    import hashlib

    import numpy as np
    from sqlalchemy import insert

    from node.hashes import ContentHash, HashAlgorithm, PdqIndex
    from node.store import schema as t
    from node.store.engine import create_store_engine, migrate
    from node.store.sql_store import SqlStore
    from node.store.txn.rows import url_key

    rng = random.Random(7)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    out: dict[str, Any] = {"items": items}
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite+pysqlite:///{tmp}/scale.db")
        migrate(engine)
        started = time.perf_counter()
        batch = 20_000
        for start in range(0, items, batch):
            item_rows, hash_rows, known_rows = [], [], []
            for i in range(start, min(items, start + batch)):
                url = f"https://site{i % 5000}.example/path/{i}"
                digest = hashlib.sha256(f"content-{i}".encode()).hexdigest()
                item_rows.append(
                    {
                        "item_id": f"{i:036d}",
                        "url": url,
                        "url_key": url_key(url),
                        "host": f"site{i % 5000}.example",
                        "state": "AWAITING_ASSESSMENT",
                        "is_open": True,
                        "assigned_node": "bench-node",
                        "route": None,
                        "referred_to": "",
                        "known_content": False,
                        "report_count": 1,
                        "hosting_country": "NL",
                        "classification": None,
                        "first_reported_at": now,
                        "created_at": now,
                        "version": 0,
                        "origin_node": "",
                        "origin_item_id": "",
                        "status_sequence": 0,
                        "referred_by": "",
                    }
                )
                hash_rows.append({"item_id": f"{i:036d}", "algorithm": "sha256", "digest": digest})
                known_rows.append(
                    {
                        "algorithm": "sha256",
                        "digest": digest,
                        "classification": "BASELINE",
                        "source": "bench",
                        "created_at": now,
                    }
                )
            with engine.begin() as connection:
                connection.execute(insert(t.items), item_rows)
                connection.execute(insert(t.item_hashes), hash_rows)
                connection.execute(insert(t.known_hashes), known_rows)
        out["load_seconds"] = time.perf_counter() - started
        print(f"  loaded {items} items, hashes and known hashes in {out['load_seconds']:.0f} s", flush=True)

        store = SqlStore(engine)
        url_times, hash_times = [], []
        for _ in range(samples):
            i = rng.randrange(items * 2)  # half hits, half misses
            url = f"https://site{i % 5000}.example/path/{i}"
            with store.transaction(read_only=True) as tx:
                started = time.perf_counter()
                found = tx.find_open_item_by_url(url)
                url_times.append(time.perf_counter() - started)
            assert (found is not None) == (i < items)
            digest = hashlib.sha256(f"content-{i}".encode()).digest()
            with store.transaction(read_only=True) as tx:
                started = time.perf_counter()
                known = tx.find_known_hashes(ContentHash(HashAlgorithm.SHA256, digest))
                hash_times.append(time.perf_counter() - started)
            assert bool(known) == (i < items)
        out["url_lookup"] = _quantiles(url_times)
        out["exact_hash_lookup"] = _quantiles(hash_times)
        engine.dispose()

    index = PdqIndex()
    digests = np.random.default_rng(7).integers(0, 256, size=(items, 32), dtype=np.uint8)
    started = time.perf_counter()
    index.add_many([bytes(row) for row in digests], list(range(items)))
    out["pdq_load_seconds"] = time.perf_counter() - started
    pdq_times = []
    for k in range(min(samples, 500)):
        query = bytearray(digests[rng.randrange(items)].tobytes()) if k % 2 else bytearray(rng.randbytes(32))
        query[0] ^= 0x0F
        started = time.perf_counter()
        index.nearest(bytes(query))
        pdq_times.append(time.perf_counter() - started)
    out["pdq_match"] = _quantiles(pdq_times)
    out["peak_rss_mib"] = _vm_hwm_kib() / 1024
    return out


def _quantiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "samples": len(ms),
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[int(len(ms) * 0.99)],
        "mean_ms": statistics.fmean(ms),
    }


def _machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "packages": {p: version(p) for p in ("grpcio", "protobuf", "sqlalchemy", "numpy")},
        "date": datetime.now(UTC).date().isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs: a smoke test")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    items, seconds, warmup, samples = args.items, args.seconds, 1.0, 2000
    if args.quick:
        items, seconds, warmup, samples = 20_000, 1.0, 0.3, 200
    print("intake throughput (server and load generator in separate processes):", flush=True)
    intake = bench_intake(seconds, warmup)
    print("lookups at scale:", flush=True)
    lookups = bench_lookups(items, samples)
    result = {
        "machine": _machine(),
        "settings": {"seconds_per_round": seconds, "warmup_seconds": warmup, "items": items, "quick": args.quick},
        "intake": intake,
        "lookups": lookups,
        "peak_rss_mib": {
            "node_server": max(r["node"]["server_peak_rss_mib"] for r in intake.values()),
            "lookup_process": lookups["peak_rss_mib"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("url_lookup", "exact_hash_lookup", "pdq_match"):
        q = lookups[name]
        print(f"  {name:18} p50 {q['p50_ms']:.3f} ms  p99 {q['p99_ms']:.3f} ms", flush=True)
    print(
        f"peak RSS: node server {result['peak_rss_mib']['node_server']:.0f} MiB, "
        f"lookup process {lookups['peak_rss_mib']:.0f} MiB"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
