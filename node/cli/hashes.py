"""Known hashes: bulk-import a hash list, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from node.cases.model import Classification
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "import_hashes"]

app = typer.Typer()


@app.command("import-hashes")
def import_hashes(
    csv_file: Annotated[
        Path,
        typer.Argument(
            help="CSV with the header algorithm,hash,classification[,source]",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    source: Annotated[str, typer.Option(help="Where the list came from (its entries are kept per source).")],
    list_version: Annotated[str, typer.Option("--list-version", help="The list's version, as published.")] = "",
    config: ConfigOption = None,
) -> None:
    """Bulk-import known hashes. Every row is checked first; one bad row imports nothing."""
    from node.app import SYSTEM, build_node
    from node.hashes import parse_hash_list_csv

    node = build_node(load_settings(config))
    try:
        entries = parse_hash_list_csv(csv_file.read_text().splitlines(), default_source=source)
        imported, known = node.cases.import_known_hashes(
            SYSTEM, [(e.hash, Classification(e.classification)) for e in entries], source, version=list_version
        )
    except DomainError as error:
        fail(f"error: {error}")
    finally:
        node.engine.dispose()
    typer.echo(f"imported {imported}; {known} already known from this source")
