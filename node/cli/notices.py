"""`hotline-node notices VERB`: the LEA notices and NTDs the node sends itself ([notices]): what is queued,
sent or failed, and queuing a failed one again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.notices.ports import NoticeRow, NoticeStatus

__all__ = ["app"]

app = typer.Typer(
    help="The notices this node sends itself (LEA notices and NTDs). Exit codes: 0 done, 1 nothing to do "
    "(no such failed notice), 2 usage or config error.",
    no_args_is_help=True,
)


@app.command("list")
def list_notices(
    status: Annotated[NoticeStatus | None, typer.Option(help="Only notices in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Notices, newest first: kind, item, recipient, state, attempts, next attempt and the last error."""
    from node.app import operator_store

    with operator_store(load_settings(config)) as store, store.transaction(read_only=True) as tx:
        rows = tx.list_notices(status, limit)
    for row in rows:
        typer.echo(json.dumps(_as_dict(row)) if as_json else _line(row))
    if not rows and not as_json:
        typer.echo("no notices")


@app.command("retry")
def retry(
    notice_id: Annotated[str, typer.Argument(help="A failed notice's id (`notices list --status failed`).")],
    config: ConfigOption = None,
) -> None:
    """Queue a notice that failed for good to be sent again now (after fixing its cause: an address, the
    SMTP relay, the webhook receiver)."""
    from node.app import operator_store

    with operator_store(load_settings(config)) as store, store.transaction() as tx:
        queued = tx.retry_notice(notice_id, datetime.now(UTC))
    if not queued:
        fail(f"no failed notice {notice_id!r} (see `hotline-node notices list --status failed`)", code=1)
    typer.echo(f"notice {notice_id} queued again")


def _as_dict(row: NoticeRow) -> dict[str, object]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else str(value) if key == "status" else value
        for key, value in row._asdict().items()
    }


def _line(row: NoticeRow) -> str:
    due = f" next {row.next_attempt_at.isoformat()}" if row.next_attempt_at and row.status != "sent" else ""
    sent = f" sent {row.sent_at.isoformat()}" if row.sent_at else ""
    error = f" last error: {row.last_error}" if row.last_error else ""
    return (
        f"{row.notice_id}  {row.kind:3}  item {row.item_id}  to {row.recipient} by {row.channel}  {row.status}  "
        f"attempts {row.attempts}{due}{sent}{error}"
    )
