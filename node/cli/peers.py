"""The links to peers, for the operator: delivery backoff, last success and error, each peer's clock skew, and
when the two nodes' views last agreed (reconciliation). `hotline-node peers` lists them; its verbs
(`peers reset-backoff`) are in node/cli/federation.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.cli._roster_files import JsonOption, print_json
from node.config import NodeConfig
from node.errors import DomainError
from node.exchange.ports import PeerRefusal, PeerState, ReconcileState

__all__ = ["app", "format_peer", "format_refusal", "iso", "peer_json", "peers", "refusal_json", "skew_limit"]

app = typer.Typer(
    help="Each peer's link: clock skew, failures, last success, next attempt, last error, last agreement. Exit "
    "codes: 0 done, 1 refused (the reason is printed), 2 usage or config error.",
    invoke_without_command=True,
)

# Receivers refuse messages dated beyond their clock skew limit; flag a peer well before it is reached.
_WARN_FRACTION = 0.5


@app.callback()
def peers(ctx: typer.Context, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Each peer this node has delivered to or reconciled with: its clock skew (its clock minus ours),
    failures, last success, next attempt, last error (a peer's refusal of this node shows there, e.g.
    SENDER_SUSPENDED), and when the two nodes' views last agreed. A skew at half the limit or beyond is flagged.
    A peer whose messages are held by the roster (suspended, revoked, not a member, or an expired roster) is
    marked `held: REASON`; a peer that refused this node (kept across restarts until the roster changes),
    `REFUSED this node: CODE ...`."""
    from node.app import read_held_peers, read_peer_refusals, read_peer_states, read_reconciliations

    if ctx.invoked_subcommand is not None:  # `peers -c FILE VERB`: the verb uses this config unless given its own
        ctx.obj = {"config": config}
        return
    settings = load_settings(config)
    limit = skew_limit(settings)
    states = {s.peer: s for s in read_peer_states(settings)}
    reconciled = {r.peer: r for r in read_reconciliations(settings)}
    refusals = {r.peer: r for r in read_peer_refusals(settings)}
    try:
        held = read_held_peers(settings)
    except DomainError as error:
        fail(f"error: {error}")
    rows = [
        (
            states.get(peer) or PeerState(peer, 0, None, "", None, None, None),
            reconciled.get(peer),
            held.get(peer),
            refusals.get(peer),
        )
        for peer in sorted(states.keys() | reconciled.keys() | held.keys() | refusals.keys())
    ]
    if as_json:
        print_json(
            [
                {**peer_json(state, agreement), "held": reason, "refused_by_peer": refusal_json(refusal)}
                for state, agreement, reason, refusal in rows
            ]
        )
        return
    if not rows:
        typer.echo("no peers yet")
    for state, agreement, reason, refusal in rows:
        line = format_peer(state, limit, agreement) + (f"  held: {reason}" if reason else "")
        typer.echo(line + (f"  {format_refusal(refusal)}" if refusal else ""))


def skew_limit(settings: NodeConfig) -> timedelta:
    """The clock skew receivers refuse beyond (format_peer flags a peer nearing it)."""
    return timedelta(seconds=settings.exchange.max_clock_skew_seconds) if settings.exchange else timedelta(minutes=5)


def peer_json(state: PeerState, reconciled: ReconcileState | None = None) -> dict[str, Any]:
    skew = state.clock_skew
    return {
        "peer": state.peer,
        "consecutive_failures": state.failures,
        "next_attempt_at": iso(state.next_attempt_at),
        "last_success_at": iso(state.last_success_at),
        "last_error": state.last_error,
        "clock_skew_seconds": None if skew is None else skew.total_seconds(),
        "clock_measured_at": iso(state.clock_measured_at),
        "last_agreed_at": iso(reconciled.agreed_at) if reconciled else None,
        "last_reconciled_at": iso(reconciled.checked_at) if reconciled else None,
    }


def format_refusal(refusal: PeerRefusal) -> str:
    return (
        f"REFUSED this node: {refusal.reason_code} (at {_when(refusal.refused_at)}, under roster version "
        f"{refusal.roster_version}: nothing goes to it until the roster changes)"
    )


def refusal_json(refusal: PeerRefusal | None) -> dict[str, Any] | None:
    if refusal is None:
        return None
    return {
        "reason_code": refusal.reason_code,
        "reason": refusal.reason,
        "roster_version": refusal.roster_version,
        "refused_at": iso(refusal.refused_at),
    }


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def format_peer(state: PeerState, limit: timedelta, reconciled: ReconcileState | None = None) -> str:
    """One line for a peer, e.g. `de-hotline  skew +0.4 s (at 2026-01-05T09:00:00+00:00)  ok  ...  agreed
    2026-01-05T03:00:00+00:00`. `reconciled`: the last reconciliation with it, if any."""
    if state.clock_skew is None:
        skew = "skew unknown"
    else:
        skew = f"skew {state.clock_skew.total_seconds():+.1f} s (at {_when(state.clock_measured_at)})"
        if abs(state.clock_skew) >= limit * _WARN_FRACTION:
            beyond = "BEYOND" if abs(state.clock_skew) > limit else "NEAR"
            skew += f" WARNING: {beyond} the {limit.total_seconds():.0f} s limit"
    health = "ok" if not state.failures else f"{state.failures} failures, next attempt {_when(state.next_attempt_at)}"
    parts = [state.peer, skew, health, f"last success {_when(state.last_success_at)}"]
    if state.last_error:
        parts.append(f"last error: {state.last_error}")
    parts.append(_agreement(reconciled))
    return "  ".join(parts)


def _agreement(reconciled: ReconcileState | None) -> str:
    if reconciled is None:
        return "never reconciled"
    if reconciled.agreed_at is not None and reconciled.agreed_at >= reconciled.checked_at:
        return f"agreed {_when(reconciled.agreed_at)}"
    differed = f"{reconciled.differences} items differed at {_when(reconciled.checked_at)}"
    text = f"last agreed {_when(reconciled.agreed_at)}, {differed}"
    return f"{text} ({reconciled.detail})" if reconciled.detail else text


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "never"
