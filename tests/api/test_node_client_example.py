"""The Node.js worked example (examples/node-client, @grpc/grpc-js and @grpc/proto-loader) runs against a
serving node: it submits and retries a report, reads error reasons, pages events to an empty token and tails
the stream. Its packages are installed with `npm ci` into a cache folder keyed by the lock file, never into the
repository. Skipped, with the reason shown, when node or npm is missing or the registry cannot be reached."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from node.cases.model import Role
from tests.conftest import Served

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-client"


def _installed_packages() -> Path:
    """A folder holding node_modules for the example's lock file, installed once per lock."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not installed: the Node.js example cannot run")
    lock = (EXAMPLE / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline-exchange" / "node-client"
    folder = cache / hashlib.sha256(lock).hexdigest()[:16]
    if not (folder / "node_modules" / "@grpc" / "grpc-js").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(EXAMPLE / name, folder / name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"npm ci failed (no registry?): {result.stderr.strip()[-300:]}")
    return folder / "node_modules"


async def test_the_node_client_example_runs_against_a_node(served: Served) -> None:
    modules = _installed_packages()
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "HX_TARGET": served.target,
        "HX_INTAKE_TOKEN": served.tokens[Role.INTAKE],
        "HX_ANALYST_TOKEN": served.tokens[Role.ANALYST],
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        str(EXAMPLE / "client.js"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate()
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert process.returncode == 0, (lines, stderr.decode()[-2000:])
    steps = {(line["step"], line.get("reason", "")): line for line in lines}
    assert steps[("submitted", "")]["replayed_same"] is True
    malformed = steps[("refused", "MALFORMED_ID")]
    assert (malformed["code"], malformed["metadata"]) == ("INVALID_ARGUMENT", {"field": "item_id"})
    limit = steps[("refused", "LIMIT_EXCEEDED")]
    assert limit["metadata"] == {"field": "urls", "limit": "100", "unit": "urls"}
    paged = steps[("paged", "")]
    assert paged["events"] == 2 and paged["pages"] == 1  # report.received and item.created, then caught up
    streamed = steps[("streamed", "")]
    assert streamed["kind"] == "item.created"
    assert [line["step"] for line in lines][-1] == "done"
