"""`hotline-sim`: run a network of real hotline nodes under a scenario.

    hotline-sim demo                      a small network, a simulated day and more in about a minute (live)
    hotline-sim run SCENARIO [--out DIR]  a bundled scenario by name, or a scenario file; deterministic
                                          (virtual time, no sockets) unless --mode live
    hotline-sim scenarios                 the bundled scenarios
    hotline-sim show-config SCENARIO      the scenario with every default filled in
    hotline-sim sweep SCENARIO --set K=V1,V2 --seeds N   a grid of settings times seeds, one table with intervals
    hotline-sim compare RUN_OR_SWEEP...   differences between variants with intervals, overlay plots
    hotline-sim calibrate [SCENARIO]      simulated against published figures over N seeds (+-10%, relative)

Exit status: 0 when every invariant holds, 1 when one is violated, 2 for a bad scenario or option, 3 for a
saturated live run under --strict (its drain timed out or its clock fell behind).

Text from outside (scenario errors and names, paths, invariant violations) is escaped before it reaches rich's
markup. Progress is a live bar on a terminal and a plain line every tenth of the run otherwise (a CI log, a pipe).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from node.logs import configure_logging
from simulator.overrides import apply_overrides, parse_override
from simulator.runner import Progress as RunProgress
from simulator.runner import RunResult, run_deterministic, run_scenario
from simulator.scenario import Scenario, ScenarioError, bundled_scenarios, load_scenario, to_toml
from simulator.sim_log import SIM_TIME
from simulator.summary import SUMMARY_JSON, RunSummary
from simulator.survival import Survival

app = typer.Typer(
    help="The hotline network simulator: real nodes, on virtual time or on loopback.", no_args_is_help=True
)
_console = Console()


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"hotline-sim {version('hotline-exchange')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """The hotline network simulator: real nodes on loopback."""


class Mode(enum.StrEnum):
    DETERMINISTIC = "deterministic"
    LIVE = "live"


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def _load(name: str, sets: list[str] | None = None, **overrides: object) -> Scenario:
    try:
        scenario = apply_overrides(load_scenario(name), [parse_override(s) for s in sets or []])
        changes = {k: v for k, v in overrides.items() if v is not None}
        if changes:
            from simulator.scenario import parse_scenario

            raw = _as_raw(scenario)
            raw["simulation"] = {**raw["simulation"], **changes}
            scenario = parse_scenario(raw)
    except ScenarioError as error:
        _console.print(f"[red]hotline-sim: bad scenario: {escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    return scenario


def _as_raw(scenario: Scenario) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(to_toml(scenario))


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    table = Table("scenario", "description")
    for name, description in bundled_scenarios().items():
        table.add_row(escape(name), escape(description))
    _console.print(table)


@app.command("show-config")
def show_config(scenario: str) -> None:
    """Print the fully resolved scenario (every default filled in), as TOML."""
    typer.echo(to_toml(_load(scenario)), nl=False)


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="a bundled scenario name or a .toml file")],
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=V1,V2,...",
            help="an axis of the grid (repeatable): the values of one scenario field, e.g. world.known_share=0.1,0.4",
        ),
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="runs per variant: the scenario's seed and the ones after it")] = 5,
    out: Annotated[Path | None, typer.Option(help="the sweep directory (default runs/NAME-sweep-TIME)")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="local worker processes (default: the CPU count; 1 = in this process)")
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option("--ray", metavar="ADDRESS", help="run on Ray: local (a new instance), auto, or ray://HOST:PORT"),
    ] = None,
) -> None:
    """Run a grid of settings times N seeds, each run deterministic in its own directory; write sweep.csv and
    sweep.json (per variant: each headline figure's mean across seeds and its 95% t interval)."""
    from simulator.experiments import execute_sweep

    raise typer.Exit(execute_sweep(_console, _load(scenario), sets or [], seeds, out, workers, ray))


@app.command()
def calibrate(
    scenario: Annotated[
        str, typer.Argument(help="the calibration scenario: a bundled name or a .toml file")
    ] = "calibration",
    seeds: Annotated[int, typer.Option(min=1, help="runs: the scenario's seed and the ones after it")] = 5,
    out: Annotated[Path | None, typer.Option(help="the output directory (default runs/NAME-calibration-TIME)")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="local worker processes (default: one per seed up to the CPU count)")
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="change one scenario field (repeatable), as for run"),
    ] = None,
) -> None:
    """Run the calibration scenario for N seeds and print each published figure against its simulated value,
    with the spread across seeds and whether it is within +-10% (relative); write calibration.json and .csv."""
    from simulator.calibrate import execute_calibration

    raise typer.Exit(execute_calibration(_console, _load(scenario, sets), seeds, out, workers))


@app.command()
def compare(
    paths: Annotated[
        list[Path],
        typer.Argument(help="run or sweep directories; the first variant is the baseline", metavar="RUN_OR_SWEEP..."),
    ],
    out: Annotated[
        Path | None, typer.Option(help="where compare.json and the plots go (default runs/compare-TIME)")
    ] = None,
) -> None:
    """Each headline figure's difference from the first variant, with its 95% interval (paired by seed where both
    ran the same seeds, else Welch's), and overlay plots: time to removal per variant, and the share within 72 h
    per country."""
    from simulator.experiments import execute_compare

    raise typer.Exit(execute_compare(_console, paths, out))


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="a bundled scenario name or a .toml file")],
    out: Annotated[Path | None, typer.Option(help="the run directory (default runs/NAME-TIME)")] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="change one scenario field (repeatable): simulation.seed=3, world.known_share=0.4, "
            "countries.PA.provider.median_hours=12, hotlines.NODE_ID.FIELD=...",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="override simulation.seed")] = None,
    scale: Annotated[float | None, typer.Option(help="override simulation.clock_scale")] = None,
    hours: Annotated[float | None, typer.Option(help="override simulation.duration_hours")] = None,
    days: Annotated[
        float | None, typer.Option(help="override simulation.duration_hours, in days (--days 365: a year)")
    ] = None,
    drain_hours: Annotated[float | None, typer.Option(help="override simulation.drain_hours")] = None,
    max_reports: Annotated[int | None, typer.Option(help="override simulation.max_reports")] = None,
    warmup_hours: Annotated[
        float,
        typer.Option(min=0.0, help="reports in the first hours of the run do not count in the time-to-removal figures"),
    ] = 0.0,
    strict: Annotated[
        bool, typer.Option(help="exit 3 when a live run saturated (its drain timed out or its clock fell behind)")
    ] = False,
    mode: Annotated[
        Mode,
        typer.Option(
            help="deterministic: virtual time, no sockets, the same seed gives the same files; "
            "live: real gRPC, TLS and the fault proxy on an accelerated wall clock"
        ),
    ] = Mode.DETERMINISTIC,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            help="the nodes' log level in nodes.log (default: warning in deterministic mode, where info would "
            "write about ten lines per report, gigabytes for a year; info in live mode)"
        ),
    ] = None,
) -> None:
    """Run a scenario: real nodes, the workload on simulated time, faults, invariants, plots."""
    if hours is not None and days is not None:
        _console.print("[red]hotline-sim: --hours and --days both set the duration; give one of them[/red]")
        raise typer.Exit(2)
    if days is not None:
        hours = days * 24
    overrides = {
        "seed": seed,
        "clock_scale": scale,
        "duration_hours": hours,
        "drain_hours": drain_hours,
        "max_reports": max_reports,
    }
    loaded = _load(scenario, sets, **overrides)
    given: dict[str, object] = {key: value for key, value in overrides.items() if value is not None}
    if sets:
        given["set"] = list(sets)
    result = _run(loaded, out, mode, overrides=given, warmup_hours=warmup_hours, log_level=log_level)
    raise typer.Exit(_exit_code(result, strict=strict))


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="the run directory")] = None,
    strict: Annotated[
        bool, typer.Option(help="exit 3 when the run saturated (its drain timed out or its clock fell behind)")
    ] = False,
) -> None:
    """A small network (six countries, one with no member hotline) over a simulated day and more, live: real
    sockets on an accelerated clock (`run demo` runs it in deterministic mode)."""
    result = _run(_load("demo"), out, Mode.LIVE)
    raise typer.Exit(_exit_code(result, strict=strict))


def _exit_code(result: RunResult, *, strict: bool) -> int:
    if not result.ok:
        return 1
    if strict and result.run_summary.saturated:
        _console.print(
            "[red]hotline-sim: the run saturated (--strict): its figures describe this machine's load; "
            "lower simulation.clock_scale or the report rate[/red]"
        )
        return 3
    return 0


def _run(
    scenario: Scenario,
    out: Path | None,
    mode: Mode,
    *,
    overrides: Mapping[str, object] | None = None,
    warmup_hours: float = 0.0,
    log_level: LogLevel | None = None,
) -> RunResult:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out or Path("runs") / f"{scenario.simulation.name}-{stamp}"
    if (run_dir / "nodes").exists() or (run_dir / SUMMARY_JSON).exists():
        _console.print(f"[red]hotline-sim: {escape(str(run_dir))} holds an earlier run; choose another --out[/red]")
        raise typer.Exit(2)
    run_dir.mkdir(parents=True, exist_ok=True)
    # gRPC reads the lower-case name; set (even empty) it stops a no_proxy setting from letting peer calls
    # bypass the fault proxy.
    os.environ["no_grpc_proxy"] = ""  # noqa: SIM112
    log_file = (run_dir / "nodes.log").open("w")
    if log_level is None:
        log_level = LogLevel.INFO if mode is Mode.LIVE else LogLevel.WARNING
    configure_logging("json", logging.getLevelNamesMapping()[log_level.upper()], stream=log_file, extra=[SIM_TIME])
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" is expected
    sim = scenario.simulation
    nodes = sum(1 for h in scenario.hotlines if not h.rogue)
    _console.print(
        f"[bold]{escape(sim.name)}[/bold]: {nodes} nodes, {len(scenario.countries)} countries, "
        f"{sim.duration_hours:g} h of reports + {sim.drain_hours:g} h to drain, "
        + (
            f"1 s = {sim.clock_scale:g} simulated s, seed {sim.seed}"
            if mode is Mode.LIVE
            else f"deterministic (virtual time, link {sim.link_latency_ms:g} ms), seed {sim.seed}"
        )
    )
    with _progress_display(sim.duration_hours + sim.drain_hours) as show:
        try:
            if mode is Mode.LIVE:
                result = asyncio.run(
                    run_scenario(scenario, run_dir, on_progress=show, overrides=overrides, warmup_hours=warmup_hours)
                )
            else:
                result = run_deterministic(
                    scenario, run_dir, on_progress=show, overrides=overrides, warmup_hours=warmup_hours
                )
        finally:
            configure_logging("console", logging.WARNING)  # back to stderr before the file closes
            log_file.close()
    _print_summary(result)
    return result


@contextmanager
def _progress_display(total_hours: float) -> Iterator[Callable[[RunProgress], None]]:
    """A live bar on a terminal; otherwise a plain line at each phase change and every tenth of the run."""
    if _console.is_terminal:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=_console,
            transient=False,
        ) as bar:
            task = bar.add_task("starting", total=total_hours, status="")

            def show_bar(progress: RunProgress) -> None:
                bar.update(
                    task,
                    completed=progress.simulated_hours,
                    description=progress.phase,
                    status=f"{progress.simulated_hours:6.1f} h simulated, "
                    f"{progress.submitted}/{progress.planned} reports",
                )

            yield show_bar
        return
    step = max(total_hours / 10, 1e-9)
    last: dict[str, Any] = {"phase": None, "mark": -1, "from": None}

    def show_line(progress: RunProgress) -> None:
        mark = int(progress.simulated_hours // step)
        if progress.phase == last["phase"] and mark <= last["mark"]:
            return
        last.update(phase=progress.phase, mark=mark)
        if last["from"] is None and progress.phase == "running":
            last["from"] = (time.monotonic(), progress.simulated_hours)  # the simulation's own pace from here
        left = ""
        if progress.phase in ("running", "draining") and last["from"] is not None:
            started, from_hours = last["from"]
            left = time_left(
                time.monotonic() - started,
                progress.simulated_hours - from_hours,
                total_hours - progress.simulated_hours,
            )
        typer.echo(
            f"progress: {progress.phase}, {progress.simulated_hours:.1f} of {total_hours:g} h simulated, "
            f"{progress.submitted}/{progress.planned} reports{left}",
        )

    yield show_line


def time_left(elapsed_s: float, done_hours: float, left_hours: float) -> str:
    """`, about N left` at the pace so far (wall seconds per simulated hour), once an hour has been simulated;
    else nothing. The end of the run (invariants, files, plots) is not counted."""
    if done_hours < 1 or left_hours <= 0:
        return ""
    seconds = elapsed_s / done_hours * left_hours
    if seconds < 90:
        return f", about {seconds:.0f} s left"
    if seconds < 5400:
        return f", about {seconds / 60:.0f} min left"
    return f", about {seconds / 3600:.1f} h left"


def _seconds(value: float | None) -> str:
    """Sub-second simulated latencies (deterministic mode's link model) stay visible."""
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _lag(lag: dict[str, Any] | None) -> str:
    if not lag or lag.get("p50_ms") is None:
        return "—"
    text = f"{lag['p50_ms']:.0f} / {lag['p99_ms']:.0f} ms wall ({lag['p99_simulated_s']:.0f} s simulated at p99)"
    if lag.get("cpu_cores") is not None:
        text += f"; CPU {lag['cpu_cores']:.2f} cores"
    return f"[yellow]{text}, saturated[/yellow]" if lag["saturated"] else text


def _share(survival: Survival, window_complete: bool) -> str:
    """A share within 72 h with its interval, or why there is none."""
    if not window_complete:
        return "[yellow]not observable: the run is shorter than warm-up + 72 h[/yellow]"
    if survival.within_horizon is None:
        return "—"
    return (
        f"{survival.within_horizon:.1%} (95% CI {survival.within_horizon_low or 0:.1%} to "
        f"{survival.within_horizon_high or 0:.1%}; n={survival.n})"
    )


def _median(survival: Survival) -> str:
    """A Kaplan-Meier median over every counted item, or "not reached"."""
    if survival.n == 0:
        return "—"
    if not survival.median_reached or survival.median_hours is None:
        return f"not reached: under half of {survival.n} items by the end of the run"
    low = "?" if survival.median_low_hours is None else f"{survival.median_low_hours:.1f}"
    high = "not reached" if survival.median_high_hours is None else f"{survival.median_high_hours:.1f} h"
    return f"{survival.median_hours:.1f} h (95% CI {low} to {high}; {survival.censored} open, censored)"


def _time_rows(s: RunSummary) -> list[tuple[str, str]]:
    window = s.window
    counted = (
        f"{window.counted} illegal items reported {window.first_report_hours:g} to {window.last_report_hours:g} h "
        f"(warm-up {window.warmup_hours:g} h, cool-down {window.cooldown_hours:g} h; "
        f"left out {window.excluded_warmup} + {window.excluded_cooldown})"
    )
    if not window.complete:
        counted = f"[yellow]{escape(window.note)}[/yellow]; {window.counted} illegal items, open ones censored"
    return [
        ("counted (the denominator)", counted),
        ("removed within 72 h", _share(s.removal, window.complete)),
        ("median time to removal", _median(s.removal)),
        ("LEA notice within 72 h", _share(s.lea_notice, window.complete)),
        ("median time to LEA notice", _median(s.lea_notice)),
        ("NTD within 72 h", _share(s.ntd, window.complete)),
        ("median time to NTD", _median(s.ntd)),
    ]


def _print_summary(result: RunResult) -> None:
    s = result.run_summary
    table = Table(title=f"{escape(s.scenario)}, seed {s.seed} — summary", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")

    latency = s.delivery_latency_seconds
    rows = [
        ("nodes / countries", f"{s.nodes} / {s.countries}"),
        ("reports (planned)", f"{s.reports} ({s.planned_reports})"),
        ("routes", escape(", ".join(f"{k} {v}" for k, v in sorted(s.routes.items())))),
        ("referrals", str(s.referral_count)),
        *_time_rows(s),
        (
            "delivery latency p50 / p99",
            "—" if latency.p50 is None else f"{_seconds(latency.p50)} / {_seconds(latency.p99)} (simulated)",
        ),
        ("simulated / wall time", f"{s.simulated_hours:.1f} h / {s.wall_seconds:.1f} s ({s.speedup}x)"),
        ("event-loop lag p50 / p99", _lag(s.event_loop_lag)),
        ("node crashes, roster version", f"{s.node_crashes}, v{s.roster_version}"),
        ("rogue messages", str(s.rogue_messages)),
        ("drained", "yes" if s.drained else "[red]no[/red]"),
        ("saturated", "[red]yes[/red]" if s.saturated else "no"),
        ("code", escape(s.metadata.code.label())),
    ]
    for name, value in rows:
        table.add_row(name, value)
    for invariant in result.invariants:
        status = "[green]holds[/green]" if invariant.ok else f"[red]VIOLATED ({invariant.violation_count})[/red]"
        excused = f", excused {sum(invariant.excused.values())}" if invariant.excused else ""
        table.add_row(f"invariant {escape(invariant.name)}", f"{status} ({invariant.checked} checked{excused})")
    _console.print(table)
    lag = s.event_loop_lag or {}
    if lag.get("saturated"):
        why = []
        if "loop_lag" in lag.get("saturated_by", []):
            why.append(
                f"the shared event loop ran {lag['p99_ms']:.0f} ms late at p99, "
                f"{lag['p99_simulated_s']:.0f} simulated seconds"
            )
        if "cpu" in lag.get("saturated_by", []):
            why.append(
                f"the one process used {lag['cpu_cores']:.2f} cores while the clock ran, the limit of one GIL, "
                "so work queued for it"
            )
        _console.print(
            f"[yellow]The simulator fell behind: {'; '.join(why)}. Latencies and removal times describe this "
            "machine's load as much as the network; lower simulation.clock_scale for faithful figures.[/yellow]"
        )
    for invariant in result.invariants:
        for violation in invariant.violations:
            _console.print(f"[red]  {escape(invariant.name)}: {escape(str(violation))}[/red]")
    plots = s.plots
    _console.print(f"run directory: {escape(str(result.run_dir))}")
    if plots:
        _console.print(f"plots: {escape(', '.join(str(result.run_dir / p) for p in plots))}")
