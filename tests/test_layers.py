"""The domain (node.cases, node.hashes, node.hosting) depends on neither the transport nor the database: a
fresh interpreter that imports every domain module has loaded no grpc, protobuf, sqlalchemy or alembic, and
none of the node's own outer layers. The exchange reaches the store only through its ports, and only the
composition root (the node.app package) names the SQL store, or imports the store at all."""

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
# Any of node.store, which outside node/store only the composition root imports; the simulator's invariants read
# the schema's tables (and nothing else of the store).
MAY_IMPORT_THE_STORE = {
    "node/store/": "node.store",
    "node/app/": "node.store",
    "simulator/records.py": "node.store.schema",
}


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


def _project_files(root: Path) -> list[tuple[str, Path]]:
    """Each Python file of node/ and simulator/ below `root`, with its path relative to `root`."""
    paths = sorted([*(root / "node").rglob("*.py"), *(root / "simulator").rglob("*.py")])
    return [(path.relative_to(root).as_posix(), path) for path in paths]


def _sql_store_offenders(root: Path) -> list[str]:
    """Each import of the SQL store's classes by a file of node/ or simulator/ below `root` that may not name them."""
    offenders = []
    for relative, path in _project_files(root):
        if relative.startswith(MAY_NAME_THE_SQL_STORE):
            continue
        for name in _imported_names(path):
            module, _, last = name.rpartition(".")
            if name.startswith(SQL_STORE_MODULES) or (module.startswith("node.store") and last in SQL_STORE_NAMES):
                offenders.append(f"{relative}: {name}")
    return offenders


def _store_offenders(root: Path) -> list[str]:
    """Each import of any of node.store by a file of node/ or simulator/ below `root` that may not import it."""
    offenders = []
    for relative, path in _project_files(root):
        allowed = next((m for where, m in MAY_IMPORT_THE_STORE.items() if relative.startswith(where)), None)
        for name in _imported_names(path):
            if not (name == "node.store" or name.startswith("node.store.")):
                continue
            on_the_way = allowed is not None and allowed.startswith(name + ".")  # `from node.store import schema`
            if allowed is None or not (name == allowed or name.startswith(allowed + ".") or on_the_way):
                offenders.append(f"{relative}: {name}")
    return offenders


def test_only_the_composition_root_imports_the_sql_store() -> None:
    """Every other consumer is typed against its Protocol (CaseStore, ExchangeStore, TokenStore...)."""
    assert _sql_store_offenders(ROOT) == []


def test_only_the_composition_root_imports_the_store() -> None:
    """The CLI reaches the database through node.app (its operations, DatabaseNotReady), the exchange, the
    metrics and the notices through their ports."""
    assert _store_offenders(ROOT) == []


def test_the_store_rules_hold_for_the_whole_composition_root_and_no_one_else(tmp_path: Path) -> None:
    """A control: any module of the node.app package may name the store; node/exchange, node/cli, a module
    merely named like the root (node/application.py), or the simulator beyond the schema may not."""
    files = {
        "node/app/database.py": "from node.store.sql_store import SqlStore\nfrom node.store.engine import migrate\n",
        "node/app/__init__.py": "from node.store.preflight import DatabaseNotReady\n",
        "node/store/sql_store.py": "from node.store.txn import SqlTransaction\n",
        "node/exchange/sender.py": "def f() -> None:\n    from node.store.sql_store import SqlStore\n",
        "node/cli/serve.py": "from node.store.engine import migrate\n",
        "node/application.py": "from node.store import sql_store\n",
        "simulator/records.py": "from node.store import schema\nfrom node.store.sql_store import SqlStore\n",
    }
    for relative, source in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(source)
    assert sorted(_sql_store_offenders(tmp_path)) == [
        "node/application.py: node.store.sql_store",
        "node/exchange/sender.py: node.store.sql_store",
        "node/exchange/sender.py: node.store.sql_store.SqlStore",
        "simulator/records.py: node.store.sql_store",
        "simulator/records.py: node.store.sql_store.SqlStore",
    ]
    assert sorted(_store_offenders(tmp_path)) == [
        "node/application.py: node.store",
        "node/application.py: node.store.sql_store",
        "node/cli/serve.py: node.store.engine",
        "node/cli/serve.py: node.store.engine.migrate",
        "node/exchange/sender.py: node.store.sql_store",
        "node/exchange/sender.py: node.store.sql_store.SqlStore",
        "simulator/records.py: node.store.sql_store",
        "simulator/records.py: node.store.sql_store.SqlStore",
    ]


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
