"""The domain (node.cases, node.hashes, node.hosting) depends on neither the transport nor the database: a
fresh interpreter that imports every domain module has loaded no grpc, protobuf, sqlalchemy or alembic, and
none of the node's own outer layers. The exchange reaches the store only through its ports, and only the
composition root names the SQL store."""

from __future__ import annotations

import ast
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


def test_the_exchange_reaches_the_store_only_through_its_ports() -> None:
    """node.exchange is typed against node.exchange.ports: importing all of it loads neither node.store nor
    sqlalchemy."""
    imported, loaded = probe("node.exchange")
    assert {"node.exchange.ports", "node.exchange.receiver", "node.exchange.sender"} <= set(imported)
    store = [m for m in loaded if m.split(".")[0] == "sqlalchemy" or m.startswith("node.store")]
    assert store == []


# The SQL store's implementation, which only node/store and the composition root (the node.app package) may
# import.
SQL_STORE_MODULES = ("node.store.sql_store", "node.store.txn")
SQL_STORE_NAMES = {"SqlStore", "SqlTransaction"}
MAY_NAME_THE_SQL_STORE = ("node/store/", "node/app/")


def _imported_names(path: Path) -> set[str]:
    """Every module and `module.name` a file imports, at any depth (imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_composition_root_imports_the_sql_store() -> None:
    """Every other consumer is typed against its Protocol (CaseStore, ExchangeStore, TokenStore...)."""
    offenders = []
    for path in sorted([*(ROOT / "node").rglob("*.py"), *(ROOT / "simulator").rglob("*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(MAY_NAME_THE_SQL_STORE):
            continue
        for name in _imported_names(path):
            module, _, last = name.rpartition(".")
            if name.startswith(SQL_STORE_MODULES) or (module.startswith("node.store") and last in SQL_STORE_NAMES):
                offenders.append(f"{relative}: {name}")
    assert offenders == []


def test_the_import_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """A control: the scan reads nested imports, as the CLI's."""
    source = tmp_path / "probe.py"
    source.write_text("def f() -> None:\n    from node.store.sql_store import SqlStore\n")
    assert "node.store.sql_store.SqlStore" in _imported_names(source)


# What the exchange may build on: the case domain it carries messages for, the crypto that signs and seals
# them, the generated wire code, the shared protobuf helpers, and the node's foundation modules (time, errors,
# asyncio helpers). Never the integrator API's adapter, the store, the CLI or the composition root.
EXCHANGE_MAY_IMPORT = (
    "node.cases",
    "node.crypto",
    "node.exchange",
    "node.api._gen",
    "node.proto_types",
    "node.hashes",
    "node.hosting",
    "node.clock",
    "node.errors",
    "node.aio",
    "node.grpc_ports",
)


def test_the_exchange_imports_only_the_domain_crypto_and_generated_code() -> None:
    offenders = []
    for path in sorted((ROOT / "node" / "exchange").rglob("*.py")):
        for name in _imported_names(path):
            if name.startswith("node.") and not any(name == m or name.startswith(m + ".") for m in EXCHANGE_MAY_IMPORT):
                offenders.append(f"{path.relative_to(ROOT).as_posix()}: {name}")
    assert offenders == []
