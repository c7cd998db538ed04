"""One simulation run: build the network, drive the workload on simulated time, apply the fault timeline,
drain, check the invariants, and write the run directory:

    scenario.resolved.toml   the scenario with every default filled in
    items.csv                one row per reported URL (see simulator/README.md for the columns)
    timeline.csv             per node, sampled every `sample_minutes` of simulated time
    faults.csv               the fault timeline as it was applied
    attacks.csv              the rogue member's messages and what each victim answered
    summary.json             the figures and the invariant results
    host.json                the host's facts about the run (pid, wall time, CPU, memory): never compared
    ledger.db                the case systems' ledger: the URLs each report form sent, the items answered
    *.png                    plots drawn from the CSV files
    nodes/<node>/            each node's database, keys and the signed rosters

What each file holds is declared where it is made: the CSV files in `metrics`, summary.json in `summary`, the
plots in `plots`; `faults` applies the fault timeline.

Two modes. Deterministic (`run_deterministic`, the default): the run executes on a virtual-time event loop
(simulator.virtual_loop) without sockets or threads, so the same scenario and seed give byte-identical
result files. Live (`run_scenario` on an ordinary loop): real gRPC, TLS and the fault proxy on an
accelerated wall clock.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from node.app import freeze_startup_heap
from node.clock import AcceleratedClock, LoopClock
from simulator.driver import CaseSystems
from simulator.faults import apply_fault
from simulator.invariants import InvariantResult, check_invariants
from simulator.lag import LoopLag
from simulator.ledger import LEDGER_DB, Ledger
from simulator.metrics import Item, item_rows, items_from_rows, timeline_rows, write_run_files
from simulator.network import Network
from simulator.plots import PlotContext, draw_plots
from simulator.proxy import LinkRules
from simulator.records import Sampler
from simulator.run_metadata import RunMetadata
from simulator.scenario import Scenario, to_toml
from simulator.sim_log import SIM_TIME
from simulator.stores import EndStores
from simulator.summary import SUMMARY_JSON, RunSummary, summarise
from simulator.virtual_loop import run_virtual
from simulator.world import build_workload

__all__ = ["RunDirectoryError", "RunResult", "run_deterministic", "run_scenario"]

_log = structlog.get_logger(__name__)


@dataclass
class Progress:
    """What a progress display needs; the CLI renders it, tests ignore it."""

    simulated_hours: float = 0.0
    total_hours: float = 0.0
    submitted: int = 0
    planned: int = 0
    phase: str = "starting"


@dataclass
class RunResult:
    run_dir: Path
    run_summary: RunSummary
    invariants: list[InvariantResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.invariants)


def run_deterministic(
    scenario: Scenario,
    run_dir: Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    overrides: Mapping[str, Any] | None = None,
    warmup_hours: float = 0.0,
) -> RunResult:
    """The run on a virtual-time loop: no sockets, no threads, no wall clock; results depend on the seed."""
    return run_virtual(
        run_scenario(
            scenario,
            run_dir,
            on_progress=on_progress,
            deterministic=True,
            overrides=overrides,
            warmup_hours=warmup_hours,
        )
    )


async def run_scenario(
    scenario: Scenario,
    run_dir: Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    deterministic: bool = False,
    overrides: Mapping[str, Any] | None = None,
    warmup_hours: float = 0.0,
) -> RunResult:
    """The run; `deterministic` expects a virtual-time loop (use `run_deterministic`). `overrides` are the
    simulation settings given on the command line (recorded in the metadata); `warmup_hours` starts the
    observation window (`survival.ObservationWindow`)."""
    _prepare(run_dir, scenario)
    sim = scenario.simulation
    workload = build_workload(scenario)
    # Host facts only (host.json): perf_counter is never read to decide anything in the run.
    wall_start = time.perf_counter()
    cpu_start = time.process_time()
    clock: AcceleratedClock | LoopClock
    if deterministic:
        clock = LoopClock(asyncio.get_running_loop(), scenario.start - timedelta(minutes=1))
    else:
        clock = AcceleratedClock(scenario.start - timedelta(minutes=1), sim.clock_scale, running=False)
    SIM_TIME.follow(clock.now, scenario.start)
    rules = LinkRules(random.Random(sim.seed))
    network = Network(scenario, run_dir, clock, rules, deterministic=deterministic)
    progress = Progress(total_hours=sim.duration_hours + sim.drain_hours, planned=workload.planned_count())
    report = on_progress or (lambda _p: None)
    timeline: list[dict[str, Any]] = []
    fault_log: list[dict[str, Any]] = []
    attacks: list[dict[str, Any]] = []
    driver: CaseSystems | None = None
    ledger = Ledger(run_dir / LEDGER_DB)
    sampler: Sampler | None = None
    tasks: list[asyncio.Task[Any]] = []
    drained = False
    cpu_cores: float | None = None  # process CPU per wall second while the clock ran
    lag = LoopLag()
    try:
        await network.start()
        sampler = Sampler({n.node_id: n.database for n in network.members})
        driver = CaseSystems(network, workload, clock, ledger, seed=sim.seed)
        await driver.import_known_hashes()
        driver.start()  # the flows are planned; none runs before the next await
        freeze_startup_heap()  # every node and the planned flows: out of the collector's sight
        if isinstance(clock, AcceleratedClock):
            clock.run()  # building the network took no simulated time
            tasks.append(asyncio.create_task(lag.run()))
        progress.phase = "running"
        running_from = (time.perf_counter(), time.process_time())
        tasks.append(asyncio.create_task(_sample(scenario, clock, sampler, timeline, inline=deterministic)))
        for fault in scenario.faults:
            tasks.append(asyncio.create_task(apply_fault(scenario, network, clock, fault, fault_log, attacks)))
        end = scenario.start + timedelta(hours=sim.duration_hours + sim.drain_hours)
        while clock.now() < end:
            elapsed = (clock.now() - scenario.start).total_seconds() / 3600
            progress.simulated_hours = max(0.0, elapsed)
            progress.submitted = driver.stats.submitted
            if elapsed > sim.duration_hours:
                progress.phase = "draining"
            report(progress)
            # Virtual time: report each simulated hour (sleeping costs nothing); live: five times a second.
            await asyncio.sleep(min(3600.0, (end - clock.now()).total_seconds()) if deterministic else 0.2)
        cpu_cores = (time.process_time() - running_from[1]) / max(1e-9, time.perf_counter() - running_from[0])
        progress.phase = "settling"
        report(progress)
        for task in tasks:
            task.cancel()
        await driver.stop()
        rules.heal()
        rules.clear_faults()
        for node in network.members:
            if not node.up:
                await network.restart(node.node_id)
        drained = await _drain(network, sampler, sim.drain_timeout_seconds, deterministic=deterministic)
        timeline.extend(_rows_at(scenario, clock, sampler))
    finally:
        gc.unfreeze()  # what the run built may be collected again, even if stopping it fails
        for task in tasks:
            task.cancel()
        if driver is not None:
            await driver.stop()
        if sampler is not None:
            sampler.close()
        await network.stop()
        SIM_TIME.stop()
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    simulated_hours = (clock.now() - scenario.start).total_seconds() / 3600

    assert driver is not None
    rogues = {h.node_id for h in scenario.hotlines if h.rogue}
    inactive = {n.node_id for n in network.nodes.values() if n.status in ("suspended", "revoked")}
    databases = {n.node_id: n.database for n in network.members}
    progress.phase = "checking"  # the invariants, the files, the summary and the plots
    report(progress)
    # The end of the run reads the stores row by row: its memory does not grow with the number of items.
    with EndStores(databases, honest=set(databases) - rogues, scratch_parent=run_dir) as stores:
        invariants = check_invariants(
            stores,
            submitted=ledger.sent_urls(),
            origin_items=ledger.answered_items().values(),
            inactive=inactive,
            rogues=rogues,
            attacks=attacks,
        )
        items: list[Item] = []
        rows = item_rows(scenario, workload, stores, ledger.answered_items())
        write_run_files(run_dir, items=_read_back(rows, items), timeline=timeline, faults=fault_log, attacks=attacks)
    ledger.close()
    summary = summarise(
        scenario,
        workload,
        items,
        invariants,
        network,
        wall=wall,
        cpu=cpu,
        simulated_hours=simulated_hours,
        drained=drained,
        driver_refused=dict(driver.stats.refused),
        retries=driver.stats.retries,
        attacks=len(attacks),
        metadata=RunMetadata(
            scenario=sim.name,
            seed=sim.seed,
            mode="deterministic" if deterministic else "live",
            clock_scale=sim.clock_scale,
            overrides=dict(overrides or {}),
        ),
        warmup_hours=warmup_hours,
    )
    if not deterministic:  # under virtual time the loop never lags the clock: the clock waits for it
        summary.event_loop_lag = lag.summary(sim.clock_scale, cpu_cores)
        summary.saturated = not drained or bool(summary.event_loop_lag.get("saturated"))
    del items  # the plots read items.csv back: one list of Items at a time
    plots = _draw(run_dir, summary)
    summary.plots = [p.name for p in plots]
    summary.write(run_dir)
    return RunResult(run_dir, summary, invariants)


class RunDirectoryError(Exception):
    """The run directory holds an earlier run; runs never overwrite each other."""


def _prepare(run_dir: Path, scenario: Scenario) -> None:
    if (run_dir / "nodes").exists() or (run_dir / SUMMARY_JSON).exists():
        raise RunDirectoryError(f"{run_dir} holds an earlier run; choose another directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.resolved.toml").write_text(to_toml(scenario))


# ---------------------------------------------------------------------------------------------- during


async def _sample(
    scenario: Scenario,
    clock: AcceleratedClock | LoopClock,
    sampler: Sampler,
    out: list[dict[str, Any]],
    *,
    inline: bool,
) -> None:
    interval = timedelta(minutes=scenario.simulation.sample_minutes)
    target = scenario.start
    while True:
        wait = (target - clock.now()).total_seconds() / clock.scale
        if wait > 0:
            await asyncio.sleep(wait)
        if inline:
            out.extend(_rows_at(scenario, clock, sampler))
        else:
            out.extend(await asyncio.get_running_loop().run_in_executor(None, _rows_at, scenario, clock, sampler))
        target += interval


def _rows_at(scenario: Scenario, clock: AcceleratedClock | LoopClock, sampler: Sampler) -> list[dict[str, Any]]:
    t_s = round((clock.now() - scenario.start).total_seconds(), 1)
    return timeline_rows(t_s, sampler.sample())


# Deterministic mode: simulated seconds the drain may take (live mode: `drain_timeout_seconds` of wall time).
_DRAIN_SIMULATED_SECONDS = 6 * 3600.0


async def _drain(network: Network, sampler: Sampler, wall_seconds: float, *, deterministic: bool) -> bool:
    """Wait until no outbox holds a message for an active member (messages held for a suspended or
    revoked member stay, by design, as do status updates for the rogue, which runs no receiver), then let
    the last receipts and status updates settle."""
    loop = asyncio.get_running_loop()
    now = loop.time if deterministic else time.monotonic
    deadline = now() + (_DRAIN_SIMULATED_SECONDS if deterministic else wall_seconds)
    held = {n.node_id for n in network.nodes.values() if n.status in ("suspended", "revoked") or n.hotline.rogue}
    while now() < deadline:
        if deterministic:
            pending = sampler.pending_peers()
        else:
            pending = await loop.run_in_executor(None, sampler.pending_peers)
        if all(node in held or peers <= held for node, peers in pending.items()):
            await asyncio.sleep(1.0)
            return True
        await asyncio.sleep(0.5)
    return False


# ---------------------------------------------------------------------------------------------- after


def _read_back(rows: Iterable[dict[str, Any]], out: list[Item]) -> Iterator[dict[str, Any]]:
    """The items.csv rows as they are written, each also read back as the summary reads it (into `out`)."""
    for row in rows:
        out.extend(items_from_rows((row,)))
        yield row


def _draw(run_dir: Path, summary: RunSummary) -> list[Path]:
    try:
        return draw_plots(run_dir, context=PlotContext.of(summary))
    except Exception:  # a run's outcome stands without its pictures; the log says why they are missing
        _log.exception("sim.plots_failed")
        return []
