"""The links to peers, for the operator: delivery backoff, last success and error, and each peer's clock skew."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError
from node.exchange.ports import PeerState

__all__ = ["app", "format_peer", "peers"]

app = typer.Typer()

# Receivers refuse messages dated beyond their clock skew limit; flag a peer well before it is reached.
_WARN_FRACTION = 0.5


@app.command("peers")
def peers(config: ConfigOption = None) -> None:
    """Each peer this node has delivered to: its clock skew (its clock minus ours), failures, last success,
    next attempt and last error (a peer's refusal of this node shows there, e.g. SENDER_SUSPENDED). A skew at
    half the limit or beyond is flagged. A peer whose messages are held by the roster (suspended, revoked, not
    a member, or an expired roster) is marked `held: REASON`."""
    from node.app import read_held_peers, read_peer_states

    settings = load_settings(config)
    limit = timedelta(seconds=settings.exchange.max_clock_skew_seconds) if settings.exchange else timedelta(minutes=5)
    states = read_peer_states(settings)
    try:
        held = read_held_peers(settings)
    except DomainError as error:
        fail(f"error: {error}")
    if not states and not held:
        typer.echo("no peers yet")
    for state in states:
        line = format_peer(state, limit)
        typer.echo(line + (f"  held: {held.pop(state.peer)}" if state.peer in held else ""))
    for peer, reason in sorted(held.items()):
        typer.echo(f"{peer}  never reached  held: {reason}")


def format_peer(state: PeerState, limit: timedelta) -> str:
    """One line for a peer, e.g. `de-hotline  skew +0.4 s (at 2026-01-05T09:00:00+00:00)  ok  ...`."""
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
    return "  ".join(parts)


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "never"
