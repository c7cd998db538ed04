"""Exchange throughput between two node processes over mutual TLS, end to end.

    python -m benchmarks.exchange_bench [--referrals 3000] [--post-quantum]

Two `hotline-node serve` processes (NL and DE) on loopback. The driver submits reports of DE-hosted URLs that
carry a known BASELINE hash, so the NL node classifies and refers each at once; DE re-classifies (BASELINE
stands) and sends a status update back. Every message is signed, sealed, persisted on both sides and
receipted. Measured: referrals per second from the first submission until every referral and every status
update is acknowledged. Results go to benchmarks/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from benchmarks.node_bench import _machine
from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.clock import ManualClock
from tests.exchange.test_crash import NodeProcess, _cli, _count, _wait_for_api
from tests.exchange.test_two_nodes import NODES, _free_port, _roster

RESULTS = Path(__file__).parent / "results" / "exchange.json"
KNOWN = "c0" * 32


async def run(referrals: int, post_quantum: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        exchange_ports = {n: _free_port() for n in NODES}
        api_ports = {n: _free_port() for n in NODES}
        roster_file = _roster(tmp, exchange_ports, ManualClock(), post_quantum=post_quantum)
        processes = {}
        for node_id, country in NODES.items():
            config = tmp / node_id / "node.toml"
            config.write_text(
                f'[node]\nid = "{node_id}"\njurisdiction = "{country}"\nlisten = "127.0.0.1:{api_ports[node_id]}"\n'
                f'database_url = "sqlite+pysqlite:///{tmp / node_id}/node.db"\nlog_format = "json"\n'
                '[hosting]\nresolver = "static"\n'
                '[[hosting.static]]\nhost = "de.host.example"\ncountry = "DE"\nip = "198.51.100.20"\n'
                f'[exchange]\nlisten = "127.0.0.1:{exchange_ports[node_id]}"\nroster_file = "{roster_file}"\n'
                f'key_dir = "{tmp / node_id / "keys"}"\npost_quantum = {"true" if post_quantum else "false"}\n'
            )
            processes[node_id] = NodeProcess(node_id, config, tmp / node_id / "node.log")
        nl_config = processes["nl-hotline"].config
        intake_token = _cli(nl_config, "create-token", "--name", "bench-intake", "--role", "intake")
        admin_token = _cli(nl_config, "create-token", "--name", "bench-admin", "--role", "admin")
        for process in processes.values():
            process.start()
        nl_db, de_db = (tmp / n / "node.db" for n in NODES)
        try:
            await _wait_for_api(api_ports["nl-hotline"])
            target = f"127.0.0.1:{api_ports['nl-hotline']}"
            async with NodeClient(target, admin_token) as admin:
                await admin.admin.ImportKnownHashes(
                    admin_pb.ImportKnownHashesRequest(
                        source="bench",
                        hashes=[
                            admin_pb.KnownHash(
                                hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN),
                                classification=pb.CLASSIFICATION_BASELINE,
                            )
                        ],
                    )
                )
            known = pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=KNOWN)
            started = time.perf_counter()
            async with NodeClient(target, intake_token) as intake:
                for first in range(0, referrals, 100):
                    urls = [
                        intake_pb.ReportedUrl(url=f"https://de.host.example/b/{i}", hashes=[known])
                        for i in range(first, min(referrals, first + 100))
                    ]
                    await intake.intake.SubmitReport(intake_pb.SubmitReportRequest(urls=urls), timeout=60)
            submitted = time.perf_counter() - started
            while _count(nl_db, "SELECT count(*) FROM items WHERE status_sequence >= 1") < referrals:  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.1)
            elapsed = time.perf_counter() - started
            assert _count(de_db, "SELECT count(*) FROM items") == referrals
        finally:
            for process in processes.values():
                process.stop()
    return {
        "referrals": referrals,
        "seconds": elapsed,
        "intake_seconds": submitted,
        "referrals_per_second": referrals / elapsed,
        "messages_per_second": 2 * referrals / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--referrals", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {"machine": _machine()}
    for label, pq in (("ed25519_x25519", False), ("pq_hybrid", True)):
        result = asyncio.run(run(args.referrals, pq))
        results[label] = result
        print(
            f"{label:16} {result['referrals_per_second']:7.0f} referrals/s end to end "
            f"({result['referrals']} in {result['seconds']:.1f} s; intake took {result['intake_seconds']:.1f} s)",
            flush=True,
        )
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
