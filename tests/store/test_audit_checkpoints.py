"""An audit log that detects truncation and rewriting, on SQLite and PostgreSQL, through the operator's commands:
entries hashed with a key kept in the key folder (older, unkeyed entries still verify), checkpoints signed with
the node's key that `hotline-node audit export-checkpoint` exports, and `hotline-node verify-audit --checkpoint
FILE` that proves the log still extends what was seen. Each tampering is found, naming the first bad entry."""

from __future__ import annotations

import stat
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update
from typer.testing import CliRunner, Result

from node.cli import app
from node.crypto.audit import AUDIT_KEY_FILE, SCHEME_KEYED, SCHEME_UNKEYED, entry_hash
from node.store import schema as t
from node.store.sql_store import SqlStore
from node.store.txn.transaction import AUDIT_GENESIS
from tests.conftest import START

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Engine) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "{database_url}"\n'
        f'[exchange]\nlisten = "127.0.0.1:50061"\nroster_file = "{tmp_path}/roster.signed"\n'
        f'key_dir = "{tmp_path}/keys"\n'
    )
    return path


def keys(config: Path) -> Path:
    return config.parent / "keys"


def append(engine: Engine, count: int, *, key: bytes | None) -> None:
    """`count` audit entries, as a node with (or, an older node, without) the audit key writes them."""
    store = SqlStore(engine, audit_key=key)
    for i in range(count):
        with store.transaction() as tx:
            tx.append_audit(
                at=START + timedelta(seconds=i),
                actor="analyst-1",
                action="AssessItem",
                subject=str(uuid.uuid4()),
                detail="",
            )


def audit_key(config: Path) -> bytes:
    return bytes.fromhex((keys(config) / AUDIT_KEY_FILE).read_text())


def seqs(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return [int(s) for s in c.execute(select(t.audit_log.c.seq).order_by(t.audit_log.c.seq)).scalars()]


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def verify(config: Path, *checkpoints: Path) -> Result:
    return cli("verify-audit", "-c", str(config), *[a for c in checkpoints for a in ("--checkpoint", str(c))])


def export(config: Path, name: str = "seen.json") -> Path:
    out = config.parent / name
    result = cli("audit", "export-checkpoint", "-c", str(config), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def refused(result: Result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def drop_triggers(engine: Engine) -> None:
    """What an intruder with the database's owner rights does first."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            c.execute(text("DROP TRIGGER audit_log_no_update"))
            c.execute(text("DROP TRIGGER audit_log_no_delete"))


def keyed_log(config: Path, engine: Engine, count: int = 4) -> None:
    """A node that has run for a while: an exported checkpoint makes the audit key (0600, in the 0700 folder)."""
    export(config, "first.json")
    append(engine, count, key=audit_key(config))


def test_the_key_is_made_on_first_use_outside_the_database_and_entries_are_keyed(config: Path, engine: Engine) -> None:
    keyed_log(config, engine)
    assert stat.S_IMODE((keys(config) / AUDIT_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys(config).stat().st_mode) == 0o700
    with engine.connect() as c:
        assert set(c.execute(select(t.audit_log.c.scheme)).scalars()) == {SCHEME_KEYED}
    seen = export(config)
    assert verify(config, seen).exit_code == 0 and "audit log verifies" in verify(config, seen).output


def test_entries_from_before_the_key_still_verify_and_the_log_goes_on_keyed(config: Path, engine: Engine) -> None:
    append(engine, 3, key=None)  # an older node's entries
    keyed_log(config, engine, 2)
    with engine.connect() as c:
        schemes = list(c.execute(select(t.audit_log.c.scheme).order_by(t.audit_log.c.seq)).scalars())
    assert schemes == [SCHEME_UNKEYED] * 3 + [SCHEME_KEYED] * 2
    result = verify(config, export(config))
    assert result.exit_code == 0, result.output


def test_a_deleted_tail_is_found_by_the_checkpoint_naming_the_first_missing_entry(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 5)
    seen = export(config)
    drop_triggers(engine)
    fourth = seqs(engine)[3]
    with engine.begin() as c:  # the last two entries go, and so does every checkpoint the node kept
        c.execute(delete(t.audit_log).where(t.audit_log.c.seq >= fourth))
        c.execute(delete(t.audit_checkpoints))
    refused(
        verify(config, seen), "audit log entry 4 (by count) is missing", "covers 5 entries, the log has 3", "truncated"
    )


def test_a_deleted_tail_is_found_by_the_checkpoints_the_node_kept(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 5)
    export(config)
    drop_triggers(engine)
    last = seqs(engine)[-1]
    with engine.begin() as c:
        c.execute(delete(t.audit_log).where(t.audit_log.c.seq == last))
    refused(verify(config), "audit log entry 5 (by count) is missing", "truncated")


def test_an_entry_rewritten_and_recomputed_without_the_key_is_named(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 4)
    seen = export(config)
    drop_triggers(engine)
    second = seqs(engine)[1]
    guessed = b"\x00" * 32  # the intruder has the database, not the key folder
    with engine.begin() as c:
        rows = c.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all()
        previous = rows[0].entry_hash
        for row in rows[1:]:  # rewrite the second entry and recompute the chain from there
            detail = "NOT_ILLEGAL" if row.seq == second else row.detail
            forged = entry_hash(SCHEME_KEYED, guessed, previous, row.at, row.actor, row.action, row.subject, detail)
            c.execute(
                update(t.audit_log)
                .where(t.audit_log.c.seq == row.seq)
                .values(detail=detail, prev_hash=previous, entry_hash=forged)
            )
            previous = forged
    refused(verify(config, seen), f"audit log entry {second} does not verify", "altered")


def test_a_log_rewritten_whole_as_unkeyed_is_found_by_the_checkpoint(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 3)
    seen = export(config)
    drop_triggers(engine)
    with engine.begin() as c:  # every entry recomputed with the old, unkeyed scheme: a chain that verifies
        c.execute(delete(t.audit_checkpoints))
        previous = AUDIT_GENESIS
        for row in c.execute(select(t.audit_log).order_by(t.audit_log.c.seq)).all():
            detail = "rewritten"
            forged = entry_hash(SCHEME_UNKEYED, None, previous, row.at, row.actor, row.action, row.subject, detail)
            c.execute(
                update(t.audit_log)
                .where(t.audit_log.c.seq == row.seq)
                .values(detail=detail, prev_hash=previous, entry_hash=forged, scheme=SCHEME_UNKEYED)
            )
            previous = forged
    refused(verify(config, seen), f"audit log entry {seqs(engine)[-1]} differs from the checkpoint", "rewritten")


def test_an_unkeyed_entry_after_keyed_ones_is_named(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 2)
    append(engine, 1, key=None)  # appended by someone without the key (no trigger stops an insert)
    refused(verify(config), f"audit log entry {seqs(engine)[-1]} is unkeyed after keyed entries")


def test_dropped_triggers_are_found_even_when_every_entry_still_verifies(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 2)
    drop_triggers(engine)
    refused(verify(config), "append-only triggers are missing or disabled")


def test_a_checkpoint_not_signed_by_this_node_is_refused(config: Path, engine: Engine) -> None:
    keyed_log(config, engine, 2)
    seen = export(config)
    forged = seen.read_text().replace('"entry_count": 2', '"entry_count": 1')
    seen.write_text(forged)
    refused(verify(config, seen), "is not signed by this node")


def test_a_file_that_is_no_checkpoint_is_named_in_one_line(config: Path, engine: Engine) -> None:
    bad = config.parent / "bad.json"
    bad.write_text("{}")
    result = verify(config, bad)
    assert result.exit_code == 2 and "bad.json" in result.output and "not an audit checkpoint" in result.output
    assert "Traceback" not in result.output
