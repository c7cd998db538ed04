"""Integrator tokens: create, rotate, list and revoke them (the node keeps only the secret's hash).

`hotline-node tokens VERB`; `hotline-node create-token` stays as the first releases had it (same options).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from node.access import StoredToken
from node.cases.model import Role
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

if TYPE_CHECKING:
    from node.app import Node

__all__ = ["app", "create_token", "group", "parse_duration"]

app = typer.Typer()
group = typer.Typer(
    help="Integrator tokens: create (with an optional expiry and group), rotate with an overlap, list, revoke. "
    "Exit codes: 0 done, 2 refused or usage error (the reason is printed).",
    no_args_is_help=True,
)

_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
T = TypeVar("T")


def parse_duration(text: str, option: str, *, zero: bool = False) -> timedelta:
    """'30d', '12h', '15m', '90s' (and '0' where `zero`); exits 2 naming the option otherwise."""
    if zero and text.strip() == "0":
        return timedelta(0)
    match = _DURATION.match(text.strip())
    if match is None:
        fail(f"error: {option} must be a number and a unit: s, m, h or d (e.g. 30d, 1h); got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@contextmanager
def _node(config: ConfigOption) -> Iterator[Node]:
    from node.app import build_node

    node = build_node(load_settings(config))
    try:
        yield node
    finally:
        node.engine.dispose()


def _run(config: ConfigOption, call: Callable[[Node], T]) -> T:
    with _node(config) as node:
        try:
            return call(node)
        except DomainError as error:
            fail(f"error: {error}")


def _describe(token: StoredToken) -> dict[str, object]:
    def at(value: object) -> str:
        return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]

    return {
        "token_id": token.token_id,
        "name": token.name,
        "roles": sorted(token.roles),
        "group": token.group,
        "created_at": at(token.created_at),
        "expires_at": at(token.expires_at),
        "last_used_at": at(token.last_used_at),
        "revoked_at": at(token.revoked_at),
        "previous_secret_valid_until": at(token.previous_valid_until),
    }


ExpiresIn = Annotated[
    str | None, typer.Option("--expires-in", help="The token stops working after this long: 30d, 12h, 90m.")
]
GroupOption = Annotated[
    str,
    typer.Option(
        "--group",
        help="A group (an integration's several tokens, or an LEA agency): tokens of one group read each other's "
        "reports, and may release each other's holds if lea_group_may_release is on.",
    ),
]


@app.command("create-token")
@group.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="Who the token is for, e.g. report-form.")],
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    expires_in: ExpiresIn = None,
    group_name: GroupOption = "",
    config: ConfigOption = None,
) -> None:
    """Create an integrator token. The secret is printed once; the node keeps only its hash."""
    lifetime = parse_duration(expires_in, "--expires-in") if expires_in is not None else None
    token, secret = _run(
        config, lambda node: node.access.create_token("operator", name, role, expires_in=lifetime, group=group_name)
    )
    expiry = f"; expires {token.expires_at.isoformat()}" if token.expires_at else ""
    typer.echo(f"token {token.token_id} ({token.name}; roles {', '.join(sorted(token.roles))}{expiry})")
    typer.echo(secret)


@group.command("rotate")
def rotate_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (16 hex digits).")],
    overlap: Annotated[
        str, typer.Option(help="How long the old secret keeps working, so clients can switch: 1h, 30m, or 0.")
    ] = "1h",
    config: ConfigOption = None,
) -> None:
    """Give a token a new secret (same id, roles and group); the old one works for the overlap. Printed once."""
    window = parse_duration(overlap, "--overlap", zero=True)
    token, secret = _run(config, lambda node: node.access.rotate_token("operator", token_id, window))
    until = token.previous_valid_until.isoformat() if token.previous_valid_until else ""
    typer.echo(f"token {token.token_id} ({token.name}) rotated; the previous secret works until {until}")
    typer.echo(secret)


@group.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (16 hex digits).")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token: every node sharing the database refuses it within a second, and its streams end."""
    token = _run(config, lambda node: node.access.revoke_token("operator", token_id))
    typer.echo(f"token {token.token_id} ({token.name}) revoked")


@group.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    config: ConfigOption = None,
) -> None:
    """Every token: roles, group, expiry, last use (to the minute) and whether it is revoked. Never a secret."""

    def every(node: Node) -> list[StoredToken]:
        tokens: list[StoredToken] = []
        while page := node.access.list_tokens(tokens[-1].token_id if tokens else "", 500):
            tokens.extend(page)
        return tokens

    rows = [_describe(token) for token in _run(config, every)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else (f"expires {row['expires_at']}" if row["expires_at"] else "")
        roles = ",".join(row["roles"])  # type: ignore[arg-type]
        used = row["last_used_at"] or "never used"
        typer.echo(f"{row['token_id']}  {row['name']}  {roles}  group={row['group'] or '-'}  {used}  {state}".rstrip())
