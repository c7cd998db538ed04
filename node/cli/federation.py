"""The operator's view of the federation: `hotline-node status`, `outbox list`, `rejections list` and
`peers reset-backoff PEER`. Each reads the node's database through its config, whether the node runs or not;
the FederationAdminService RPCs serve the same data (node.exchange.admin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.cli._roster_files import REFUSED, JsonOption, print_json
from node.cli.peers import format_peer, format_refusal, iso, peer_json, refusal_json, skew_limit
from node.config import NodeConfig
from node.errors import DomainError, NotFound
from node.exchange.admin import MAX_LIST, FederationAdmin, FederationStatus
from node.exchange.ports import OutboxEntry, OutboxStatus, PeerState, ReconcileState, Rejection

__all__ = ["app", "outbox_app", "rejections_app", "reset_backoff"]

T = TypeVar("T")
app = typer.Typer()
outbox_app = typer.Typer(
    help="The messages queued for peers (ids, kinds, status and timing; never a body). "
    "Exit codes: 0 done, 2 usage or config error.",
    no_args_is_help=True,
)
rejections_app = typer.Typer(
    help="Messages refused for good: by a peer (this node's) or by this node (a peer's). "
    "Exit codes: 0 done, 2 usage or config error.",
    no_args_is_help=True,
)
PeerFilter = Annotated[str, typer.Option("--peer", help="Only this peer's (a node id).")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=MAX_LIST, help="At most this many.")]


@contextmanager
def _admin(settings: NodeConfig) -> Iterator[FederationAdmin]:
    from node.app import federation_admin

    try:
        with federation_admin(settings) as admin:
            yield admin
    except NotFound as error:
        fail(f"refused: {error}", REFUSED)
    except DomainError as error:
        fail(f"error: {error}")


def _read(config: Path | None, read: Callable[[FederationAdmin], T], settings: NodeConfig | None = None) -> T:
    """`read` on the admin view of the node `config` names (or of `settings`, loaded already)."""
    with _admin(settings or load_settings(config)) as admin:
        return read(admin)


@app.command("status")
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """This node and each peer's link: outbox depth and oldest message, backoff, last contact, rejections;
    the trusted roster's version and expiry. Exit codes: 0 done, 2 usage or config error."""
    from node.app import read_reconciliations

    settings = load_settings(config)
    found = _read(config, FederationAdmin.status, settings)
    reconciled = {r.peer: r for r in read_reconciliations(settings)}
    if as_json:
        print_json(status_json(found, reconciled))
        return
    typer.echo(f"node {found.node_id}")
    if found.roster is None:
        typer.echo("roster none (no [exchange] section)")
    else:
        typer.echo(f"roster version {found.roster.version}, expires {iso(found.roster.expires_at)}")
    for warning in found.warnings:
        typer.echo(f"warned {iso(warning.given_at)}: {warning.code}: {warning.detail}")
    if not found.peers:
        typer.echo("no peers yet")
    limit = skew_limit(settings)
    for peer in found.peers:
        link = peer.link or PeerState(peer.peer, 0, None, "", None, None, None)
        line = format_peer(link, limit, reconciled.get(peer.peer))
        oldest = f" (oldest {iso(peer.oldest_pending_at)})" if peer.oldest_pending_at else ""
        refused = f"  {format_refusal(peer.refusal)}" if peer.refusal else ""
        typer.echo(f"{line}  outbox {peer.pending}{oldest}  rejections {peer.rejections}{refused}")


def status_json(found: FederationStatus, reconciled: Mapping[str, ReconcileState] | None = None) -> dict[str, Any]:
    peers = []
    for peer in found.peers:
        agreement = (reconciled or {}).get(peer.peer)
        link = peer_json(peer.link, agreement) if peer.link else {"peer": peer.peer}
        peers.append(
            {**link, "outbox_pending": peer.pending, "oldest_pending_at": iso(peer.oldest_pending_at)}
            | {"rejections": peer.rejections, "refused_by_peer": refusal_json(peer.refusal)}
        )
    roster = (
        None if found.roster is None else {"version": found.roster.version, "expires_at": iso(found.roster.expires_at)}
    )
    warnings = [{k: _plain(v) for k, v in w._asdict().items()} for w in found.warnings]
    return {"node_id": found.node_id, "roster": roster, "peers": peers, "warnings": warnings}


def reset_backoff(
    ctx: typer.Context,
    peer: Annotated[str, typer.Argument(help="The peer's node id.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forget a peer's delivery backoff and make its deferred messages due now; a running node tries the
    peer at its next delivery round. Exit codes: 0 done, 1 no delivery record of the peer, 2 usage error."""
    given: Path | None = config or (ctx.obj or {}).get("config")  # `peers -c FILE reset-backoff PEER` too
    due = _read(given, lambda admin: admin.reset_backoff(peer))
    if as_json:
        print_json({"peer": peer, "messages_due": due})
    else:
        typer.echo(f"backoff of {peer} reset; {due} deferred messages due now")


@outbox_app.command("list")
def outbox_list(
    config: ConfigOption = None,
    peer: PeerFilter = "",
    state: Annotated[OutboxStatus | None, typer.Option("--status", help="Only messages in this status.")] = None,
    limit: Limit = 100,
    as_json: JsonOption = False,
) -> None:
    """Queued messages, oldest first."""
    found = _read(config, lambda admin: admin.outbox(peer, state, limit))
    if as_json:
        print_json([outbox_json(e) for e in found])
        return
    if not found:
        typer.echo("no messages")
    for e in found:
        due = f"  next attempt {iso(e.next_attempt_at)}" if e.status is OutboxStatus.PENDING else ""
        error = f"  last error: {e.last_error}" if e.last_error else ""
        typer.echo(
            f"{e.message_id}  {e.peer}  {e.kind}  item {e.item_id}  {e.status.value}  attempts {e.attempts}"
            f"  queued {iso(e.created_at)}{due}{error}"
        )


def outbox_json(entry: OutboxEntry) -> dict[str, Any]:
    return {k: _plain(v) for k, v in entry._asdict().items()}


@rejections_app.command("list")
def rejections_list(
    config: ConfigOption = None, peer: PeerFilter = "", limit: Limit = 100, as_json: JsonOption = False
) -> None:
    """Refused messages, newest first: by_peer (a peer refused this node's) or by_node (this node refused a
    peer's)."""
    found = _read(config, lambda admin: admin.rejections(peer, limit))
    if as_json:
        print_json([rejection_json(r) for r in found])
        return
    if not found:
        typer.echo("no rejections")
    for r in found:
        item = f"  item {r.item_id}" if r.item_id else ""
        typer.echo(
            f"{iso(r.at)}  {r.side.value}  {r.peer}  {r.kind}  {r.message_id}{item}  {r.reason_code}: {r.reason}"
        )


def rejection_json(rejection: Rejection) -> dict[str, Any]:
    return {k: _plain(v) for k, v in rejection._asdict().items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
