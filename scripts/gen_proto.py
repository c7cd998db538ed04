"""Regenerate the Python code for proto/ into node/api/_gen, or check that the committed code is current.

    python scripts/gen_proto.py           # regenerate
    python scripts/gen_proto.py --check   # exit 1 if regenerating would change anything

The generators are pinned exactly (see pyproject.toml): the drift check compares their byte-for-byte output.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
GEN_DIR = ROOT / "node" / "api" / "_gen"
GEN_PACKAGE = "node.api._gen"
PINNED = {"grpcio-tools": "1.85.1", "mypy-protobuf": "5.1.0"}

# Generated modules import each other as `hotline.node.v1.x_pb2`; they live under node/api/_gen, so the
# import lines (never the serialised descriptors) are rewritten to the package path.
_IMPORT_LINE = re.compile(r"^(from|import) (hotline\.)", re.MULTILINE)
_QUALIFIED = re.compile(r"(?<![\w.])(hotline\.(?:node|exchange)\.v\d+\.\w+_pb2)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed code differs")
    args = parser.parse_args()
    _assert_pinned_versions()
    if not args.check:
        generate(GEN_DIR)
        print(f"generated into {GEN_DIR.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_gen"
        generate(fresh)
        diffs = diff_trees(fresh, GEN_DIR)
    if diffs:
        print("generated code is out of date; run `python scripts/gen_proto.py`:", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("generated code is current")
    return 0


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc  # a dev dependency, imported only here

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    argv = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(argv) != 0:
        raise SystemExit("protoc failed")
    for path in sorted(out_dir.rglob("*.py*")):
        text = path.read_text()
        text = _IMPORT_LINE.sub(rf"\1 {GEN_PACKAGE}.\2", text)
        if path.suffix == ".pyi":
            text = _QUALIFIED.sub(rf"{GEN_PACKAGE}.\1", text)
        path.write_text(text)
    for directory in [out_dir, *(d for d in out_dir.rglob("*") if d.is_dir())]:
        (directory / "__init__.py").touch()


def diff_trees(left: Path, right: Path) -> list[str]:
    """Paths (relative) that differ between two generated trees, ignoring caches."""

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}

    ours, theirs = files(left), files(right) if right.exists() else set()
    out = [f"missing: {p}" for p in sorted(ours - theirs)]
    out += [f"unexpected: {p}" for p in sorted(theirs - ours)]
    out += [f"differs: {p}" for p in sorted(ours & theirs) if not filecmp.cmp(left / p, right / p, shallow=False)]
    return out


def _assert_pinned_versions() -> None:
    for dist, wanted in PINNED.items():
        have = importlib.metadata.version(dist)
        if have != wanted:
            raise SystemExit(f"{dist} {have} is installed, but the generated code is pinned to {wanted}")


if __name__ == "__main__":
    sys.exit(main())
