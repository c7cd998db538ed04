"""The audit log: verify its hash chain."""

from __future__ import annotations

import typer

from node.cli._common import ConfigOption, fail, load_settings

__all__ = ["app", "verify_audit"]

app = typer.Typer()


@app.command("verify-audit")
def verify_audit(config: ConfigOption = None) -> None:
    """Check the audit log's hash chain; exits 1 at the first entry that does not verify."""
    from node.app import verify_audit_log

    bad = verify_audit_log(load_settings(config))
    if bad is not None:
        fail(f"audit log entry {bad} does not verify: the log was altered", code=1)
    typer.echo("audit log verifies")
