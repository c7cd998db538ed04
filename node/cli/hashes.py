"""Known hashes: bulk-import a hash list (all or nothing); re-confirm an entry analysts disputed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from node.cases.model import Classification
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "confirm_hash", "import_hashes"]

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


@app.command("confirm-hash")
def confirm_hash(
    known_hash_id: Annotated[int, typer.Argument(help="The entry's id, as the known_hash.* events name it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the entry as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Re-confirm a known hash that analysts disputed: its disputes count from zero and it matches again."""
    from node.app import SYSTEM, build_node

    node = build_node(load_settings(config))
    try:
        entry = node.cases.confirm_known_hash(SYSTEM, known_hash_id)
    except DomainError as error:
        fail(f"error: {error}")
    finally:
        node.engine.dispose()
    shown = {
        "known_hash_id": entry.known_hash_id,
        "source": entry.source,
        "version": entry.version,
        "classification": str(entry.classification),
        "disputes": entry.disputes,
    }
    typer.echo(json.dumps(shown) if as_json else f"confirmed known hash {entry.known_hash_id} ({entry.source})")
