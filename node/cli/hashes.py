"""Known hashes: bulk-import a hash list (all or nothing); re-confirm an entry analysts disputed; publish or
withdraw this node's verdict on a hash to the peers opted in, and show what a peer shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from node.cases.model import Classification, KnownHash
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "confirm_hash", "hash_bank", "import_hashes", "publish_hash", "withdraw_hash"]

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
    typer.echo(json.dumps(_shown(entry)) if as_json else f"confirmed known hash {entry.known_hash_id} ({entry.source})")


AlgorithmArgument = Annotated[str, typer.Argument(help="sha256, sha1, md5 or pdq")]
ValueArgument = Annotated[str, typer.Argument(help="The digest, in hex.")]


@app.command("publish-hash")
def publish_hash(algorithm: AlgorithmArgument, value: ValueArgument, config: ConfigOption = None) -> None:
    """Send this node's analysts' BASELINE or NATIONAL verdict on a hash to the peers in node.publish_verdicts_to."""
    _share(algorithm, value, config, withdraw=False)


@app.command("withdraw-hash")
def withdraw_hash(algorithm: AlgorithmArgument, value: ValueArgument, config: ConfigOption = None) -> None:
    """Take a published verdict back: the peers in node.publish_verdicts_to drop it from this node's bank."""
    _share(algorithm, value, config, withdraw=True)


@app.command("hash-bank")
def hash_bank(
    peer: Annotated[str, typer.Argument(help="The peer's node id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON lines.")] = False,
    config: ConfigOption = None,
) -> None:
    """The hash verdicts a peer shared with this node (its bank), oldest first."""
    from node.app import build_node

    node = build_node(load_settings(config))
    try:
        entries = node.cases.peer_bank(peer)
    except DomainError as error:
        fail(f"error: {error}")
    finally:
        node.engine.dispose()
    for entry in entries:
        shown = _shown(entry) | {"algorithm": str(entry.hash.algorithm), "hash": entry.hash.hex}
        text = f"{entry.known_hash_id} {entry.hash.algorithm} {entry.hash.hex} {entry.classification}"
        typer.echo(json.dumps(shown) if as_json else text)


def _share(algorithm: str, value: str, config: Path | None, *, withdraw: bool) -> None:
    from node.app import SYSTEM, build_node
    from node.hashes import parse_hash

    node = build_node(load_settings(config))
    try:
        content_hash = parse_hash(algorithm, value)
        share = node.cases.withdraw_hash_verdict if withdraw else node.cases.publish_hash_verdict
        peers = share(SYSTEM, content_hash)
    except DomainError as error:
        fail(f"error: {error}")
    finally:
        node.engine.dispose()
    typer.echo(f"{'withdrawn from' if withdraw else 'published to'} {', '.join(peers)}")


def _shown(entry: KnownHash) -> dict[str, object]:
    return {
        "known_hash_id": entry.known_hash_id,
        "source": entry.source,
        "version": entry.version,
        "classification": str(entry.classification),
        "disputes": entry.disputes,
    }
