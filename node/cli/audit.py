"""The audit log: verify its hash chain and the signed checkpoints, and export a checkpoint for an outside party."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "group", "verify_audit"]

app = typer.Typer()
group = typer.Typer(
    help="The audit log: export a signed checkpoint that an outside party keeps, and verify the log against "
    "it. Exit codes: 0 done, 1 the log does not verify (the first bad entry is named), 2 usage or file error.",
    no_args_is_help=True,
)

CheckpointFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--checkpoint",
        help="A checkpoint file exported earlier (audit export-checkpoint): the log must still extend it. "
        "May be given more than once.",
    ),
]


@app.command("verify-audit")
def verify_audit(config: ConfigOption = None, checkpoint: CheckpointFiles = None) -> None:
    """Check the audit log: its hash chain (keyed entries with the audit key in the key folder), the checkpoints
    the node signed, and any --checkpoint FILE. Exits 1 naming the first entry that does not verify."""
    from node.app import verify_audit_log

    try:
        problem = verify_audit_log(load_settings(config), checkpoint or [])
    except DomainError as error:
        fail(str(error))
    if problem is not None:
        fail(problem.message, code=1)
    typer.echo("audit log verifies")


group.command("verify")(verify_audit)


@group.command("export-checkpoint")
def export_checkpoint(
    config: ConfigOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the checkpoint here (default: print it).")
    ] = None,
) -> None:
    """Sign a checkpoint of the audit log now (its entry count and head hash, with the node's Ed25519 key),
    keep it, and print or write it for an outside party (the network authority, a peer) to hold."""
    from node.app import export_audit_checkpoint

    try:
        checkpoint = export_audit_checkpoint(load_settings(config))
    except DomainError as error:
        fail(str(error))
    if out is None:
        typer.echo(checkpoint.to_json())
        return
    try:
        out.write_text(checkpoint.to_json() + "\n")
    except OSError as error:
        fail(f"--out {out}: {error.strerror}", code=2)
    typer.echo(f"checkpoint of {checkpoint.entry_count} audit entries written to {out}")
