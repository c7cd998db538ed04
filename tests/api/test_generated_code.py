"""The committed generated code matches the .proto files, and no message of the integrator API has a `bytes`
field: the node carries URLs, hashes (as hex text) and metadata, never content."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from google.protobuf import wrappers_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

ROOT = Path(__file__).resolve().parents[2]
GEN_PACKAGE = "node.api._gen.hotline.node.v1"
GEN_DIR = ROOT / "node" / "api" / "_gen" / "hotline" / "node" / "v1"


def _bin_dir() -> Path:
    venv = ROOT / ".venv" / "bin"
    return venv if (venv / "python").exists() else Path(sys.executable).parent


def test_regenerating_the_protobuf_code_changes_nothing() -> None:
    bin_dir = _bin_dir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(bin_dir / "python"), "scripts/gen_proto.py", "--check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"generated code is stale:\n{result.stdout}\n{result.stderr}"
    assert "current" in result.stdout


def integrator_modules() -> list[ModuleType]:
    """Every generated *_pb2 module of the integrator API (hotline.node.v1), found on disk."""
    names = sorted(p.stem for p in GEN_DIR.glob("*_pb2.py"))
    return [importlib.import_module(f"{GEN_PACKAGE}.{name}") for name in names]


def reachable_messages(roots: Iterable[Descriptor]) -> dict[str, Descriptor]:
    """The messages in `roots`, their nested messages, and every message a field of theirs refers to."""
    seen: dict[str, Descriptor] = {}
    pending = list(roots)
    while pending:
        message = pending.pop()
        if message.full_name in seen:
            continue
        seen[message.full_name] = message
        pending.extend(message.nested_types)
        pending.extend(f.message_type for f in message.fields if f.message_type is not None)
    return seen


def bytes_fields(messages: Iterable[Descriptor]) -> list[str]:
    return [
        f"{message.full_name}.{field.name}"
        for message in messages
        for field in message.fields
        if field.type == FieldDescriptor.TYPE_BYTES
    ]


def api_roots() -> list[Descriptor]:
    roots: list[Descriptor] = []
    for module in integrator_modules():
        roots += module.DESCRIPTOR.message_types_by_name.values()
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                roots += [method.input_type, method.output_type]
    return roots


def test_the_walk_covers_the_whole_integrator_api() -> None:
    modules = {m.__name__.rsplit(".", 1)[-1] for m in integrator_modules()}
    assert {
        "types_pb2",
        "intake_service_pb2",
        "case_service_pb2",
        "lea_service_pb2",
        "event_service_pb2",
        "admin_service_pb2",
    } <= modules
    messages = reachable_messages(api_roots())
    for name in (
        "hotline.node.v1.Item",
        "hotline.node.v1.ContentHash",
        "hotline.node.v1.SubmitReportRequest",
        "hotline.node.v1.ReportedUrl",
        "hotline.node.v1.ImportKnownHashesRequest",
        "hotline.node.v1.StreamEventsResponse",
        "google.protobuf.Timestamp",
    ):
        assert name in messages
    assert sum(len(m.fields) for m in messages.values()) > 150


def test_no_integrator_message_has_a_bytes_field() -> None:
    assert bytes_fields(reachable_messages(api_roots()).values()) == []


def test_the_check_would_see_a_bytes_field() -> None:
    """The walker itself: a message with a bytes field, nested or referred to, is found."""
    found = bytes_fields(reachable_messages([wrappers_pb2.BytesValue.DESCRIPTOR]).values())
    assert found == ["google.protobuf.BytesValue.value"]


def test_hashes_travel_as_hex_text() -> None:
    from node.api._gen.hotline.node.v1 import types_pb2

    value = types_pb2.ContentHash.DESCRIPTOR.fields_by_name["value"]
    assert value.type == FieldDescriptor.TYPE_STRING
