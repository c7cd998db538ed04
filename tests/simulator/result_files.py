"""A run's result files, as tests compare them across runs: what the scenario and seed decide, and nothing that
the checkout decides."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.metrics import ATTACKS_CSV, FAULTS_CSV, ITEMS_CSV, TIMELINE_CSV
from simulator.summary import SUMMARY_JSON

RESULT_FILES = (SUMMARY_JSON, ITEMS_CSV, TIMELINE_CSV, FAULTS_CSV, ATTACKS_CSV)


def result_files(run_dir: Path, names: Sequence[str] = RESULT_FILES) -> dict[str, Any]:
    """Each file's bytes; summary.json as its content less `metadata.code`. That says which code ran (the package
    version, the git commit and whether the worktree was dirty), not what it gave: a run in another process
    reads the git state again, and an edit to the worktree while the tests run flips `git_dirty`."""
    return {name: _summary(run_dir / name) if name == SUMMARY_JSON else (run_dir / name).read_bytes() for name in names}


def _summary(path: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(path.read_text())
    del summary["metadata"]["code"]
    return summary
