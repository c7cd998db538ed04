"""`hotline-node hashes VERB`: known hashes beyond the import. Re-confirm an entry analysts disputed
(`confirm`), publish this node's verdict on a hash to the peers opted in or take it back (`publish`,
`withdraw`), and show what a peer shared (`bank`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from node.cases.model import KnownHash
from node.cli._common import ConfigOption, fail, load_settings
from node.errors import DomainError

__all__ = ["app", "bank", "confirm", "publish", "withdraw"]

app = typer.Typer(
    help="Known hashes: re-confirm a disputed one; publish or withdraw a verdict to peers; show a peer's bank. "
    "Exit codes: 0 done, 2 refused or usage error (the reason is printed).",
    no_args_is_help=True,
)


@app.command("confirm")
def confirm(
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


@app.command("publish")
def publish(algorithm: AlgorithmArgument, value: ValueArgument, config: ConfigOption = None) -> None:
    """Send this node's analysts' BASELINE or NATIONAL verdict on a hash to the peers in node.publish_verdicts_to."""
    _share(algorithm, value, config, withdraw=False)


@app.command("withdraw")
def withdraw(algorithm: AlgorithmArgument, value: ValueArgument, config: ConfigOption = None) -> None:
    """Take a published verdict back: the peers in node.publish_verdicts_to drop it from this node's bank."""
    _share(algorithm, value, config, withdraw=True)


@app.command("bank")
def bank(
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
