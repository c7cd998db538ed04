"""The domain (node.cases, node.hashes, node.hosting) depends on neither the transport nor the database: a
fresh interpreter that imports every domain module has loaded no grpc, protobuf, sqlalchemy or alembic, and
none of the node's own outer layers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ("node.cases", "node.hashes", "node.hosting")
FORBIDDEN_ROOTS = ("grpc", "google", "sqlalchemy", "alembic", "psycopg", "apscheduler")
OUTER_LAYERS = ("node.api", "node.store", "node.exchange", "node.app", "node.cli", "node.crypto")

PROBE = """
import importlib, json, pkgutil, sys
imported = []
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    imported.append(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
print(json.dumps({"imported": imported, "loaded": sorted(sys.modules)}))
"""


def probe(*packages: str) -> tuple[list[str], list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *packages], capture_output=True, text=True, check=True, cwd=ROOT, timeout=60
    )
    data = json.loads(result.stdout)
    return data["imported"], data["loaded"]


def offenders(loaded: list[str]) -> list[str]:
    return sorted(
        m
        for m in loaded
        if m.split(".")[0] in FORBIDDEN_ROOTS or any(m == o or m.startswith(o + ".") for o in OUTER_LAYERS)
    )


def test_the_domain_packages_import_no_transport_and_no_database() -> None:
    imported, loaded = probe(*DOMAIN)
    assert {"node.cases.service", "node.cases.model", "node.hashes.pdq_index", "node.hosting.static"} <= set(imported)
    assert offenders(loaded) == []


@pytest.mark.parametrize(("package", "expected"), [("node.store", "sqlalchemy"), ("node.api", "grpc")])
def test_the_probe_does_see_an_outer_layer(package: str, expected: str) -> None:
    """A control: the same probe, pointed at an outer layer, reports what it pulls in."""
    _, loaded = probe(package)
    assert expected in offenders(loaded)
