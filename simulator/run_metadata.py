"""What identifies a run: scenario, seed, mode, clock scale, the overrides given on the command line, and the code
version (the package version, and the git commit when the code runs from a git checkout). summary.json carries it
under `metadata`, and every plot prints it in its footer.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["CodeVersion", "RunMetadata", "code_version"]

_PACKAGE = "hotline-exchange"


@dataclass(frozen=True, slots=True)
class CodeVersion:
    package: str
    # None outside a git checkout (an installed wheel, say), or when git is not installed.
    git_commit: str | None
    git_dirty: bool | None

    def label(self) -> str:
        if self.git_commit is None:
            return f"{_PACKAGE} {self.package}"
        return f"{_PACKAGE} {self.package} (git {self.git_commit[:10]}{'+dirty' if self.git_dirty else ''})"


@dataclass(frozen=True, slots=True)
class RunMetadata:
    scenario: str
    seed: int
    mode: str  # "deterministic" or "live"
    clock_scale: float
    # simulation.* settings given on the command line (`--seed`, `--hours`, ...), by setting name.
    overrides: dict[str, Any] = field(default_factory=dict)
    code: CodeVersion = field(default_factory=lambda: _current())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunMetadata:
        code = raw.get("code") or {}
        return cls(
            scenario=str(raw.get("scenario", "")),
            seed=int(raw.get("seed", 0)),
            mode=str(raw.get("mode", "")),
            clock_scale=float(raw.get("clock_scale", 0.0)),
            overrides=dict(raw.get("overrides") or {}),
            code=CodeVersion(
                package=str(code.get("package", "unknown")),
                git_commit=code.get("git_commit"),
                git_dirty=code.get("git_dirty"),
            ),
        )

    def label(self) -> str:
        """One line for a plot's footer."""
        overrides = ", ".join(f"{k}={v}" for k, v in sorted(self.overrides.items())) or "none"
        scale = f", scale {self.clock_scale:g}" if self.mode == "live" else ""
        return (
            f"scenario {self.scenario}, seed {self.seed}, {self.mode}{scale}, overrides: {overrides}; "
            f"{self.code.label()}"
        )


def _current() -> CodeVersion:
    return code_version()


@cache
def code_version() -> CodeVersion:
    """The package version and, from a git checkout, the commit: never fails, whatever git says."""
    try:
        package = version(_PACKAGE)
    except PackageNotFoundError:
        package = "unknown"
    here = Path(__file__).resolve().parent
    commit = _git(here, "rev-parse", "HEAD")
    if commit is None:
        return CodeVersion(package, None, None)
    status = _git(here, "status", "--porcelain", "--untracked-files=no")
    return CodeVersion(package, commit, None if status is None else bool(status))


def _git(cwd: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        # Fixed arguments only: nothing from a user reaches the command line.
        done = subprocess.run(  # noqa: S603
            [git, *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
