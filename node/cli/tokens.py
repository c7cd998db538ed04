"""Integrator tokens: create one for an integration (the node keeps only the secret's hash)."""

from __future__ import annotations

from typing import Annotated

import typer

from node.cases.model import Role
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "create_token"]

app = typer.Typer()


@app.command("create-token")
def create_token(
    name: Annotated[str, typer.Option(help="Who the token is for, e.g. report-form.")],
    role: Annotated[list[Role], typer.Option(help="Repeat for several roles.")],
    config: ConfigOption = None,
) -> None:
    """Create an integrator token. The secret is printed once; the node keeps only its hash."""
    from node.app import build_node

    node = build_node(load_settings(config))
    try:
        token, secret = node.access.create_token("operator", name, role)
    except DomainError as error:
        fail(f"error: {error}")
    finally:
        node.engine.dispose()
    typer.echo(f"token {token.token_id} ({token.name}; roles {', '.join(sorted(token.roles))})")
    typer.echo(secret)
