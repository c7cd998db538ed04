"""Where an experiment's runs execute: one after another in this process, in a local process pool, or on a
Ray cluster. Every run is deterministic and independent (its own scenario, seed and run directory), so the
three give the same files; only the wall time differs.

    Serial()                  in this process, in order (`--workers 1`)
    ProcessPool(workers)      a `concurrent.futures.ProcessPoolExecutor` with the spawn context (the default)
    RayCluster(address)       Ray tasks (`--ray ADDRESS`; the optional extra `hotline-exchange[ray]`)

A Ray worker may be on another machine, so it runs into a temporary directory of its own and sends the run's
files back; the driver writes them into the run directory. The nodes' databases and keys (`nodes/`) stay
behind: everything the figures, plots and `compare` read comes back.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from node.logs import configure_logging
from simulator.runner import run_deterministic
from simulator.scenario import parse_scenario
from simulator.sim_log import SIM_TIME

__all__ = [
    "Executor",
    "ExecutorError",
    "ProcessPool",
    "RayCluster",
    "RunOutcome",
    "RunTask",
    "Serial",
    "run_task",
    "start_ray",
]

# Left on the Ray worker: each node's database and keys (large, and read by no figure).
_NOT_SENT_BACK = "nodes"


class ExecutorError(RuntimeError):
    """The runs cannot be started where asked (Ray missing, or its cluster unreachable): one line for people."""


@dataclass(frozen=True, slots=True)
class RunTask:
    """One run: the resolved scenario (TOML text, as in scenario.resolved.toml) and where its files go."""

    key: str
    scenario_toml: str
    run_dir: Path
    # The settings this run changes from the scenario file (`KEY: VALUE` as given), for its metadata.
    overrides: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RunOutcome:
    key: str
    # Every invariant held; False with an error when the run did not finish.
    ok: bool
    error: str | None = None


class Executor(Protocol):
    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        """Run every task; yield each outcome as its run finishes (in any order)."""
        ...


def run_task(task: RunTask) -> RunOutcome:
    """One deterministic run into task.run_dir, the nodes' logs in its nodes.log. Never raises: a run that fails
    is an outcome with the error, so that the other runs of an experiment go on."""
    try:
        scenario = parse_scenario(tomllib.loads(task.scenario_toml))
        task.run_dir.mkdir(parents=True, exist_ok=True)
        with (task.run_dir / "nodes.log").open("w") as log:
            configure_logging("json", logging.WARNING, stream=log, extra=[SIM_TIME])
            logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running" is expected
            try:
                result = run_deterministic(
                    scenario, task.run_dir, overrides={"set": [f"{k}={v}" for k, v in task.overrides]}
                )
            finally:
                configure_logging("console", logging.WARNING)  # back to stderr before the file closes
    except Exception as error:  # reported per run; the experiment's table says which runs are missing
        return RunOutcome(task.key, ok=False, error=f"{type(error).__name__}: {error}")
    return RunOutcome(task.key, ok=result.ok)


class Serial:
    """In this process, one run after another."""

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        for task in tasks:
            yield run_task(task)


class ProcessPool:
    """A local pool of `workers` processes (spawn: each starts clean, nothing inherited from this one)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(self.workers, max(1, len(tasks))), mp_context=context) as pool:
            futures = {pool.submit(run_task, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool as error:  # a worker died (killed, out of memory)
                    yield RunOutcome(futures[future].key, ok=False, error=f"worker process died: {error}")


class RayCluster:
    """Ray tasks of one CPU each. `address`: "local" starts a Ray instance on this machine for the experiment,
    "auto" joins the one running here, "ray://HOST:10001" a remote cluster (where hotline-exchange must be
    installed). `num_cpus` caps a local instance."""

    def __init__(self, address: str, num_cpus: int | None = None) -> None:
        _import_ray()  # refused before anything runs when Ray is missing
        self.address = address
        self.num_cpus = num_cpus

    def run(self, tasks: Sequence[RunTask]) -> Iterator[RunOutcome]:
        ray = _import_ray()
        started = not ray.is_initialized()
        if started:
            start_ray(ray, self.address, self.num_cpus)
        try:
            remote = ray.remote(num_cpus=1)(_run_and_pack)
            pending = {remote.remote(task): task for task in tasks}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        outcome, files = ray.get(ref)
                    except Exception as error:  # the task's worker died
                        yield RunOutcome(task.key, ok=False, error=f"Ray task failed: {error}")
                        continue
                    _unpack(task.run_dir, files)
                    yield outcome
        finally:
            if started:
                ray.shutdown()


# Ray's own fixed waits for a local instance's processes, run out on a busy machine: for the raylet, and for the
# file in which its GCS server writes its port.
_SLOW_START = ("timed out during startup", "Timed out waiting for file")


def start_ray(ray: Any, address: str, num_cpus: int | None) -> None:
    """Start or join Ray at `address`; ExecutorError, naming --ray, when that fails. A local instance whose start
    ran out Ray's fixed wait for its raylet (a loaded machine) is shut down and started once more."""
    for attempt in (1, 2):
        try:
            ray.init(
                address=address,
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
            return
        except Exception as error:  # Ray raises ConnectionError, ValueError, RuntimeError for a bad address
            if attempt == 1 and address == "local" and any(slow in str(error) for slow in _SLOW_START):
                ray.shutdown()
                continue
            raise ExecutorError(f"--ray {address}: cannot reach a Ray cluster ({error})") from None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            "--ray needs Ray, which is not installed: pip install 'hotline-exchange[ray]' (or drop --ray to run "
            "in a local process pool)"
        ) from None
    return ray


def _run_and_pack(task: RunTask) -> tuple[RunOutcome, dict[str, bytes]]:
    """On a Ray worker: the run into a directory of its own, and its files (but `nodes/`) to send back."""
    with tempfile.TemporaryDirectory(prefix="hotline-sim-") as scratch:
        local = replace(task, run_dir=Path(scratch) / "run")
        outcome = run_task(local)
        files = {
            path.relative_to(local.run_dir).as_posix(): path.read_bytes()
            for path in sorted(local.run_dir.rglob("*"))
            if path.is_file() and path.relative_to(local.run_dir).parts[0] != _NOT_SENT_BACK
        }
    return outcome, files


def _unpack(run_dir: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        target = run_dir / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            continue  # only the worker's own relative names are written
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
