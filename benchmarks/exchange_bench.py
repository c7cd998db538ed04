"""Exchange throughput and latency between two nodes over mutual TLS, end to end.

    python -m benchmarks.exchange_bench [--referrals 20000] [--latency-seconds 10] [--suites classic,pq]

Two nodes on loopback with SQLite stores: DE is a `hotline-node serve` process; NL is built and served by the
same composition root inside the benchmark's process (so the benchmark can hold its outbox and queue messages
at chosen times, as its case workflow does). For each suite (Ed25519 with X25519 HPKE; then Ed25519 +
ML-DSA-65 signatures with MLKEM768-X25519 HPKE), one run measures:

1. **Throughput.** With delivery held (a persisted backoff, as after failures), NL's own intake makes N
   referrals: reports of DE-hosted URLs with a known NATIONAL hash, each classified and referred at once.
   Released at T0; done at the last receipt stored at NL. Every referral is signed (a batch's Merkle root, an
   inclusion proof in each), sealed to DE (HPKE per message), delivered over mutual TLS, opened, verified,
   deduplicated and applied at DE (an item with its hashes, hosting and the origin's assessment, its events,
   audit entry and inbox row) and receipted (signed); NL verifies each receipt, stores it and acks the outbox
   row. DE re-assesses NATIONAL items itself, so nothing flows back in this run.
2. **Bare stream.** The same referrals sealed again by NL's keys, in the node's batches (the same bytes up to
   HPKE's randomness), streamed over one bare grpc.aio bidirectional stream with the same mutual TLS to a
   server in its own process that answers each batch with the response bytes DE gave for it (results with
   receipts) and parses nothing. Also one envelope per stream message. Ratio = throughput / bare stream.
3. **Latency at half load.** Open-loop arrivals at half the measured throughput: real referrals (made by NL's
   intake beforehand and taken out of its outbox) queued again at fixed times whatever happens to earlier ones,
   each tick in a transaction on NL's database threads followed by the sender's wake-up, as the workflow queues
   them (the event loop serving NL's exchange never waits on the transaction). Latency of each
   from its outbox enqueue to its receipt stored at NL (both on NL's clock): p50, p99 and max.

The machine's load average (1, 5, 15 minutes) is recorded at the start of each measurement: other work may be
running. Results: benchmarks/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from sqlalchemy import delete, select

from benchmarks.node_bench import _machine
from node.api._gen.hotline.exchange.v1 import exchange_service_pb2 as ex_pb
from node.app import SYSTEM, build_node
from node.cases.model import Classification, OutboxMessage
from node.cases.requests import NewReport, NewUrl, RawHash
from node.clock import ManualClock
from node.config import load_config
from node.crypto.keystore import KeyStore
from node.exchange.codec import encode_body
from node.exchange.ports import OutboxStatus, PeerBackoff
from node.exchange.sender import SendSettings
from node.hashes import ContentHash, HashAlgorithm
from node.logs import configure_logging
from node.store import schema as t
from tests.exchange.test_crash import NodeProcess, _count, _wait_for_api
from tests.exchange.test_two_nodes import NODES, _free_port, _roster

RESULTS = Path(__file__).parent / "results" / "exchange.json"
KNOWN = "c0" * 32
NL, DE = "nl-hotline", "de-hotline"
SUITES = {"classic": ("ed25519_x25519", False), "pq": ("pq_hybrid", True)}
BARE_SERVICE = "bench.Bare"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Pair:
    """The two nodes: NL built and served by the composition root in this process (so the benchmark can put
    messages in its outbox at chosen times, as its case workflow does), DE as a `hotline-node serve` process."""

    def __init__(self, tmp: Path, post_quantum: bool) -> None:
        self.tmp = tmp
        self.exchange_ports = {n: _free_port() for n in NODES}
        self.api_ports = {n: _free_port() for n in NODES}
        roster_file = _roster(tmp, self.exchange_ports, ManualClock(), post_quantum=post_quantum)
        self.post_quantum = post_quantum
        self.configs: dict[str, Path] = {}
        for node_id, country in NODES.items():
            config = tmp / node_id / "node.toml"
            config.write_text(
                f'[node]\nid = "{node_id}"\njurisdiction = "{country}"\n'
                f'listen = "127.0.0.1:{self.api_ports[node_id]}"\n'
                f'database_url = "sqlite+pysqlite:///{tmp / node_id}/node.db"\nlog_format = "json"\n'
                '[hosting]\nresolver = "static"\n'
                '[[hosting.static]]\nhost = "de.host.example"\ncountry = "DE"\nip = "198.51.100.20"\n'
                f'[exchange]\nlisten = "127.0.0.1:{self.exchange_ports[node_id]}"\nroster_file = "{roster_file}"\n'
                f'key_dir = "{tmp / node_id / "keys"}"\npost_quantum = {"true" if post_quantum else "false"}\n'
                # The per-peer limits are far above what this machine can do, so they never throttle here.
                "rate_limit_records_per_second = 1000000\nrate_limit_bytes_per_second = 1073741824\n"
            )
            self.configs[node_id] = config
        self.db = {n: tmp / n / "node.db" for n in NODES}
        self.de = NodeProcess(DE, self.configs[DE], tmp / DE / "node.log")
        self._log = (tmp / NL / "node.log").open("a")
        configure_logging("json", stream=self._log)
        self.nl = build_node(load_config(self.configs[NL], {}))
        known = ContentHash(HashAlgorithm.SHA256, bytes.fromhex(KNOWN))
        self.nl.cases.import_known_hashes(SYSTEM, [(known, Classification.NATIONAL)], "bench")
        self._made = 0

    def refer(self, count: int) -> None:
        """`count` referrals in NL's outbox, made by its own intake: reports of DE-hosted URLs with a known
        NATIONAL hash, each classified and referred at once."""
        for first in range(self._made, self._made + count, 100):
            urls = tuple(
                NewUrl(f"https://de.host.example/r/{i}", (RawHash("sha256", KNOWN),))
                for i in range(first, min(self._made + count, first + 100))
            )
            self.nl.cases.submit_reports([(SYSTEM, NewReport(urls), "")])
        self._made += count

    def hold(self) -> None:
        """NL sends nothing to DE until `release` (a persisted backoff, as after failures)."""
        with self.nl.store.transaction() as tx:
            tx.set_peer_backoff(
                DE, PeerBackoff(0, datetime.now(UTC) + timedelta(days=1)), error="held by the benchmark"
            )

    def release(self) -> datetime:
        with self.nl.store.transaction() as tx:
            tx.set_peer_backoff(DE, PeerBackoff())
        at = datetime.now(UTC)
        self.nl.cases.committed()  # wakes the sender, as any commit does
        return at

    def take_pending(self) -> list[OutboxMessage]:
        """Remove NL's pending referrals from its outbox and return them, to be queued again later."""
        with self.nl.store.transaction() as tx:
            pending = [message for _, message in tx.pending_outbox_after(DE, 0, 1_000_000)]
            tx.c.execute(delete(t.outbox).where(t.outbox.c.status == OutboxStatus.PENDING))
        return pending

    def enqueue(self, messages: list[OutboxMessage]) -> None:
        """Queue messages now, as the case workflow does: in a transaction, then wake the sender."""
        now = datetime.now(UTC)
        with self.nl.store.transaction() as tx:
            for message in messages:
                tx.enqueue_outbox(replace(message, created_at=now))
        self.nl.cases.committed()

    async def start(self) -> None:
        self.de.start()
        await _wait_for_api(self.exchange_ports[DE])
        await self.nl.start()

    async def stop(self) -> None:
        await self.nl.stop(grace=0)
        self.de.stop()
        self._log.close()


async def _until_receipts(db: Path, count: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while _count(db, "SELECT count(*) FROM receipts") < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{_count(db, 'SELECT count(*) FROM receipts')} of {count} receipts")
        await asyncio.sleep(0.05)


def _last_receipt(pair: Pair) -> datetime:
    with pair.nl.store.transaction(read_only=True) as tx:
        last: datetime = tx.c.execute(
            select(t.receipts.c.recorded_at).order_by(t.receipts.c.recorded_at.desc()).limit(1)
        ).scalar_one()
    return last


async def measure_throughput(pair: Pair, referrals: int) -> dict[str, Any]:
    pair.hold()
    pair.refer(referrals)
    load = _load()
    assert pair.de.process is not None
    cpu = {NL: time.process_time(), DE: _cpu_seconds(pair.de.process.pid)}
    started = pair.release()
    await _until_receipts(pair.db[NL], referrals, limit=600)
    seconds = (_last_receipt(pair) - started).total_seconds()
    cpu = {NL: round(time.process_time() - cpu[NL], 2), DE: round(_cpu_seconds(pair.de.process.pid) - cpu[DE], 2)}
    assert _count(pair.db[DE], "SELECT count(*) FROM items") == referrals
    assert _count(pair.db[DE], "SELECT count(*) FROM inbox WHERE status = 'accepted'") == referrals
    assert _count(pair.db[NL], "SELECT count(*) FROM outbox WHERE status = 'acked'") == referrals
    return {
        "load_average_at_start": load,
        "referrals": referrals,
        "seconds": round(seconds, 3),
        "referrals_per_second": round(referrals / seconds, 1),
        "cpu_seconds": cpu,
    }


# ---------------------------------------------------------------------------------------------- bare stream


def _bare_messages(pair: Pair) -> dict[str, tuple[list[bytes], list[bytes]]]:
    """The throughput phase's referrals sealed again by NL's keys in full batches, and the receipts DE gave for
    them: as DeliverRequest and DeliverResponse bytes per batch ("batches"), and as single sealed envelopes
    and single DeliveryResult bytes ("envelopes")."""
    exchange = pair.nl.exchange
    assert exchange is not None
    crypto, version = exchange.crypto, exchange.roster.membership.version
    with pair.nl.store.transaction(read_only=True) as tx:
        rows = tx.c.execute(
            select(t.outbox.c.message_id, t.outbox.c.kind, t.outbox.c.body, t.receipts.c.receipt)
            .join(t.receipts, t.receipts.c.message_id == t.outbox.c.message_id)
            .order_by(t.outbox.c.outbox_id)
        ).all()
    variants: dict[str, tuple[list[bytes], list[bytes]]] = {"batches": ([], []), "envelopes": ([], [])}
    size = SendSettings().batch_count
    now = datetime.now(UTC)
    for first in range(0, len(rows), size):
        chunk = rows[first : first + size]
        envelopes = crypto.seal_batch(
            [(*encode_body(r.kind, r.body), r.message_id) for r in chunk],
            recipient=DE,
            created_at=now,
            expires_at=now + timedelta(days=7),
        )
        results = [
            ex_pb.DeliveryResult(
                message_id=r.message_id, status=ex_pb.DELIVERY_STATUS_ACCEPTED, receipt=base64.b64decode(r.receipt)
            )
            for r in chunk
        ]
        variants["batches"][0].append(
            ex_pb.DeliverRequest(roster_version=version, envelopes=envelopes).SerializeToString()
        )
        variants["batches"][1].append(
            ex_pb.DeliverResponse(roster_version=version, results=results).SerializeToString()
        )
        variants["envelopes"][0].extend(envelopes)
        variants["envelopes"][1].extend(r.SerializeToString() for r in results)
    return variants


_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.max_send_message_length", 64 * 1024 * 1024)]


async def _bare_server(spec: dict[str, Any]) -> None:
    """The bare peer: on each stream, answers the i-th message with the i-th stored answer, parsing nothing."""

    def method(answers: list[bytes]) -> grpc.RpcMethodHandler[bytes, bytes]:
        async def stream(requests: Any, _context: Any) -> Any:
            i = 0
            async for _request in requests:
                yield answers[i % len(answers)]
                i += 1

        return grpc.stream_stream_rpc_method_handler(stream)

    server = aio.server(options=_OPTIONS)
    handlers = {name: method(answers) for name, (_, answers) in spec["variants"].items()}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(BARE_SERVICE, handlers)])
    credentials = grpc.ssl_server_credentials(
        [(spec["key_pem"], spec["cert_pem"])], root_certificates=spec["client_cert_pem"], require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


async def measure_bare(pair: Pair, rounds: int = 3) -> dict[str, Any]:
    """A bare grpc.aio stream of the same bytes, in the node's batches and one envelope per message."""
    variants = _bare_messages(pair)
    referrals = len(variants["envelopes"][0])
    assert pair.nl.exchange is not None
    nl_tls = pair.nl.exchange.keys.tls
    de_tls = KeyStore(pair.tmp / DE / "keys").load_or_create(DE, datetime.now(UTC), post_quantum=pair.post_quantum).tls
    spec = pair.tmp / "bare.pickle"
    spec.write_bytes(
        pickle.dumps(
            {
                "variants": variants,
                "key_pem": de_tls.key_pem,
                "cert_pem": de_tls.cert_pem,
                "client_cert_pem": nl_tls.cert_pem,
            }
        )
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.exchange_bench", "--bare-server", str(spec), stdout=asyncio.subprocess.PIPE
    )
    figures: dict[str, Any] = {}
    try:
        assert server.stdout is not None
        port = int((await server.stdout.readline()).decode())
        credentials = grpc.ssl_channel_credentials(
            root_certificates=de_tls.cert_pem, private_key=nl_tls.key_pem, certificate_chain=nl_tls.cert_pem
        )
        async with aio.secure_channel(
            f"127.0.0.1:{port}", credentials, options=[("grpc.ssl_target_name_override", DE), *_OPTIONS]
        ) as channel:
            for name, (messages, answers) in variants.items():
                # A round of batches streams at least 100,000 referrals; one envelope per message is far slower.
                repeat = max(1, -(-100_000 // referrals)) if name == "batches" else 1
                call_stream: Any = channel.stream_stream(f"/{BARE_SERVICE}/{name}")
                await _bare_round(call_stream, messages[:1])  # warm-up: connection and handshake
                results = []
                for _ in range(rounds):
                    load = _load()
                    results.append((await _bare_round(call_stream, messages * repeat), load))
                seconds, load = sorted(results)[len(results) // 2]  # the median round
                figures[name] = {
                    "load_average_at_start": load,
                    "referrals": referrals * repeat,
                    "messages": len(messages) * repeat,
                    "bytes_sent": sum(len(m) for m in messages) * repeat,
                    "bytes_answered": sum(len(a) for a in answers) * repeat,
                    "seconds": round(seconds, 4),
                    "referrals_per_second": round(referrals * repeat / seconds, 1),
                    "rounds_seconds": [round(r, 4) for r, _ in results],
                }
    finally:
        server.terminate()
        await server.wait()
    return figures


async def _bare_round(call_stream: Any, messages: list[bytes]) -> float:
    """Write every message while reading the answers (flow control would stall one without the other)."""
    started = time.perf_counter()
    call = call_stream()

    async def write() -> None:
        for message in messages:
            await call.write(message)
        await call.done_writing()

    writer = asyncio.create_task(write())
    answered = 0
    async for _answer in call:
        answered += 1
    await writer
    assert answered == len(messages)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- latency


async def measure_latency(pair: Pair, rate: float, seconds: float) -> dict[str, Any]:
    """Open-loop arrivals at `rate` referrals per second for `seconds`: real referrals (made by NL's intake
    beforehand, then taken out of the outbox) queued again at fixed times, whether or not earlier ones are
    done, each in a transaction followed by the sender's wake-up, as the case workflow queues them."""
    interval = 0.01
    per_tick = max(1, round(rate * interval))
    interval = per_tick / rate
    ticks = max(1, int(seconds / interval))
    pair.hold()
    pair.refer(per_tick * ticks)
    messages = pair.take_pending()
    pair.release()
    before = _count(pair.db[NL], "SELECT count(*) FROM receipts")
    load = _load()
    loop = asyncio.get_running_loop()
    start = loop.time()
    queued = []
    for tick in range(ticks):
        await asyncio.sleep(max(0.0, start + tick * interval - loop.time()))
        # On the node's database threads, as the case workflow queues them: the event loop that serves NL's
        # exchange never waits for a transaction, and a slow one does not hold back the next arrival.
        chunk = messages[tick * per_tick : (tick + 1) * per_tick]
        queued.append(loop.run_in_executor(pair.nl.executor, pair.enqueue, chunk))
    offered = loop.time() - start
    await asyncio.gather(*queued)
    await _until_receipts(pair.db[NL], before + len(messages), limit=600)
    ids = {m.message_id for m in messages}
    with pair.nl.store.transaction(read_only=True) as tx:
        rows = tx.c.execute(
            select(t.outbox.c.message_id, t.outbox.c.created_at, t.receipts.c.recorded_at).join(
                t.receipts, t.receipts.c.message_id == t.outbox.c.message_id
            )
        ).all()
    latencies = [(r.recorded_at - r.created_at).total_seconds() * 1000 for r in rows if r.message_id in ids]
    assert len(latencies) == len(messages)
    return {
        "load_average_at_start": load,
        "target_referrals_per_second": round(rate, 1),
        "offered_referrals_per_second": round(len(messages) / offered, 1),
        "arrivals": f"{per_tick} referrals queued every {interval * 1000:.1f} ms for {offered:.1f} s (open loop)",
        "referrals": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
    }


async def run_suite(referrals: int, post_quantum: bool, latency_seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for node_id in NODES:
            (tmp / node_id).mkdir()
        pair = Pair(tmp, post_quantum)
        await pair.start()
        try:
            throughput = await measure_throughput(pair, referrals)
            print(f"  end to end  {throughput['referrals_per_second']:8.0f} referrals/s", flush=True)
            bare = await measure_bare(pair)
            for name, figures in bare.items():
                print(f"  bare stream ({name}) {figures['referrals_per_second']:8.0f} referrals/s", flush=True)
            latency = await measure_latency(pair, throughput["referrals_per_second"] / 2, latency_seconds)
            print(f"  latency at half load: p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms", flush=True)
        finally:
            await pair.stop()
    return {
        "end_to_end": throughput,
        # The same sealed bytes in the node's batches (the ratio the issue asks for), and one envelope per message.
        "bare_grpc_stream": bare["batches"],
        "bare_grpc_stream_per_envelope": bare["envelopes"],
        "ratio": round(throughput["referrals_per_second"] / bare["batches"]["referrals_per_second"], 4),
        "ratio_per_envelope": round(throughput["referrals_per_second"] / bare["envelopes"]["referrals_per_second"], 4),
        "latency_at_half_load": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--suites", default="classic,pq", help="comma-separated: classic, pq")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--bare-server", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        asyncio.run(_bare_server(pickle.loads(args.bare_server.read_bytes())))
        return
    results: dict[str, Any] = {
        "machine": _machine(),
        "command": " ".join(["python -m benchmarks.exchange_bench", *sys.argv[1:]]),
        "load_average_at_start": _load(),
    }
    for suite in args.suites.split(","):
        label, post_quantum = SUITES[suite]
        print(label, flush=True)
        results[label] = asyncio.run(run_suite(args.referrals, post_quantum, args.latency_seconds))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
