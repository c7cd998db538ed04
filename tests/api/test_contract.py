"""The generated code matches the .proto files, and the integrator API has no field that could carry content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from node.api._gen.hotline.node.v1 import (
    admin_service_pb2,
    case_service_pb2,
    event_service_pb2,
    intake_service_pb2,
    lea_service_pb2,
    types_pb2,
)

ROOT = Path(__file__).resolve().parents[2]
INTEGRATOR_FILES = [
    types_pb2,
    intake_service_pb2,
    case_service_pb2,
    lea_service_pb2,
    event_service_pb2,
    admin_service_pb2,
]


def test_regenerating_the_protobuf_code_changes_nothing() -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _messages(descriptor: Descriptor) -> list[Descriptor]:
    out = [descriptor]
    for nested in descriptor.nested_types:
        out += _messages(nested)
    return out


def test_no_integrator_message_has_a_bytes_field() -> None:
    checked = 0
    for module in INTEGRATOR_FILES:
        for message in module.DESCRIPTOR.message_types_by_name.values():
            for descriptor in _messages(message):
                for field in descriptor.fields:
                    checked += 1
                    assert field.type != FieldDescriptor.TYPE_BYTES, f"{descriptor.full_name}.{field.name} is bytes"
    assert checked > 100
