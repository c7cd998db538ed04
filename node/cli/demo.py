"""The demo: one node on SQLite, driven through its API."""

from __future__ import annotations

import typer

__all__ = ["app", "demo"]

app = typer.Typer()


@app.command()
def demo() -> None:
    """One node on SQLite, driven through its API from intake to removal."""
    from node.demo import main

    main()
