"""The operator's federation commands through the CLI: `status`, `outbox list`, `rejections list` and
`peers reset-backoff`, as text and as JSON, on a database the node is not running on; and their bad input."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from node.cases.model import OutboxMessage
from node.cli import app
from node.exchange.ports import InboxEntry, OutboxMark, OutboxStatus, PeerBackoff, PeerRefusal
from node.store.engine import create_store_engine, migrate
from node.store.sql_store import SqlStore

runner = CliRunner()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DE, BE, FR = "de-hotline", "be-hotline", "fr-hotline"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/n.db"\n'
        '[hosting]\nresolver = "static"\n'
    )
    assert _invoke("migrate", "-c", str(path))[0] == 0  # as an install does: the commands below need the database
    return path


def _seed(tmp_path: Path) -> dict[str, str]:
    """Two messages queued for DE (backed off), one BE refused, one FR message this node refused."""
    engine = create_store_engine(f"sqlite+pysqlite:///{tmp_path}/n.db")
    migrate(engine)
    ids = {name: str(uuid.uuid4()) for name in ("de1", "de2", "be", "fr")}
    with SqlStore(engine).transaction() as tx:
        for name, peer, minutes in (("de1", DE, 0), ("de2", DE, 5), ("be", BE, 1)):
            body = '{"url": "https://secret.example/page"}'
            tx.enqueue_outbox(
                OutboxMessage(ids[name], peer, "referral", f"item-{name}", body, T0 + timedelta(minutes=minutes))
            )
        tx.mark_outbox_many([OutboxMark(ids["be"], OutboxStatus.REJECTED, "MALFORMED: no url")], T0)
        tx.set_peer_backoff(DE, PeerBackoff(3, T0 + timedelta(days=3650)), error="UNAVAILABLE: connection refused")
        tx.put_inbox_many([InboxEntry(FR, ids["fr"], "status", T0, "rejected", "STALE", "too old")])
    engine.dispose()
    return ids


def _invoke(*args: str) -> tuple[int, str]:
    """The exit code and what the command printed: its standard output, or for a failure, the last line on
    standard error (the refusal; log lines come before it)."""
    result = runner.invoke(app, list(args))
    if result.exit_code == 0:
        return 0, result.stdout
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.strip().splitlines()[-1]


def test_status_shows_each_peers_link(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    code, output = _invoke("status", "-c", config)
    assert code == 0 and output.splitlines() == [
        "node nl-hotline",
        "roster none (no [exchange] section)",
        "no peers yet",
    ]
    _seed(tmp_path)
    code, output = _invoke("status", "-c", config)
    lines = output.splitlines()
    assert code == 0 and lines[0] == "node nl-hotline"
    be, de, fr = lines[2:]
    assert be.startswith(BE) and "outbox 0" in be and "rejections 1" in be
    assert de.startswith(DE) and "3 failures" in de and "outbox 2 (oldest 2026-03-02T09:00:00+00:00)" in de
    assert "last error: UNAVAILABLE: connection refused" in de and fr.startswith(FR) and "rejections 1" in fr
    code, output = _invoke("status", "-c", config, "--json")
    data = json.loads(output)
    assert data["node_id"] == "nl-hotline" and data["roster"] is None
    de_json = next(p for p in data["peers"] if p["peer"] == DE)
    assert (de_json["outbox_pending"], de_json["consecutive_failures"], de_json["rejections"]) == (2, 3, 0)
    assert "secret.example" not in output


def test_outbox_and_rejections_lists(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    ids = _seed(tmp_path)
    code, output = _invoke("outbox", "list", "-c", config, "--peer", DE, "--status", "pending")
    lines = output.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == [ids["de1"], ids["de2"]]
    assert "secret.example" not in output
    code, output = _invoke("outbox", "list", "-c", config, "--json", "--limit", "1")
    assert [m["message_id"] for m in json.loads(output)] == [ids["de1"]]
    code, output = _invoke("rejections", "list", "-c", config, "--json")
    found = json.loads(output)
    assert code == 0 and {(r["side"], r["peer"], r["message_id"], r["reason_code"]) for r in found} == {
        ("by_peer", BE, ids["be"], "MALFORMED"),
        ("by_node", FR, ids["fr"], "STALE"),
    }
    code, output = _invoke("rejections", "list", "-c", config, "--peer", FR)
    assert code == 0 and output.splitlines() == [
        f"2026-03-02T09:00:00+00:00  by_node  {FR}  status  {ids['fr']}  STALE: too old"
    ]


def test_reset_backoff(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    _seed(tmp_path)
    code, output = _invoke("peers", "reset-backoff", DE, "-c", config, "--json")
    assert code == 0 and json.loads(output) == {"peer": DE, "messages_due": 0}
    code, output = _invoke("peers", "-c", config, "--json")
    de = next(p for p in json.loads(output) if p["peer"] == DE)
    assert (de["consecutive_failures"], de["next_attempt_at"]) == (0, None)
    code, output = _invoke("peers", "-c", config, "reset-backoff", BE)  # the group's --config serves the verb
    assert code == 0 and output.strip() == f"backoff of {BE} reset; 0 deferred messages due now"


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    _seed(tmp_path)
    code, output = _invoke("peers", "reset-backoff", "xx-hotline", "-c", config)
    assert code == 1 and output.strip() == "refused: peer: this node has no delivery record of 'xx-hotline'"
    code, output = _invoke("peers", "reset-backoff", "Not/A/Node", "-c", config)
    assert code == 2 and output.strip().startswith("error: peer: must be a node id")
    code, output = _invoke("outbox", "list", "-c", config, "--peer", "BAD PEER")
    assert code == 2 and output.startswith("error: peer: must be a node id")
    result = runner.invoke(app, ["outbox", "list", "-c", config, "--status", "lost"])
    assert result.exit_code == 2 and "'lost' is not one of" in result.stderr
    code, output = _invoke("peers", "-c", config, "--json")
    de = next(p for p in json.loads(output) if p["peer"] == DE)
    assert de["consecutive_failures"] == 3  # the refused resets changed nothing


def test_status_shows_the_trusted_roster(tmp_path: Path) -> None:
    from node.clock import ManualClock
    from tests.exchange.test_two_nodes import NODES, _free_port, _roster

    roster = _roster(tmp_path, {node_id: _free_port() for node_id in NODES}, ManualClock())
    config = tmp_path / "exchange.toml"
    config.write_text(
        f'[node]\nid = "nl-hotline"\njurisdiction = "NL"\ndatabase_url = "sqlite+pysqlite:///{tmp_path}/x.db"\n'
        f'[exchange]\nlisten = "127.0.0.1:{_free_port()}"\nroster_file = "{roster}"\n'
        f'key_dir = "{tmp_path}/nl-hotline/keys"\n'
    )
    assert _invoke("migrate", "-c", str(config))[0] == 0
    code, output = _invoke("status", "-c", str(config))
    lines = output.splitlines()
    assert code == 0 and lines[1] == "roster version 1, expires 2030-01-01T00:00:00+00:00"
    # A member never contacted is listed too; this node is not.
    assert lines[2:] == ["de-hotline  skew unknown  ok  last success never  never reconciled  outbox 0  rejections 0"]
    code, output = _invoke("status", "-c", str(config), "--json")
    assert json.loads(output)["roster"] == {"version": 1, "expires_at": "2030-01-01T00:00:00+00:00"}
    fresh = tmp_path / "fresh.toml"  # a new database, and a roster file that is not one
    (tmp_path / "bad.signed").write_bytes(b"not a roster")
    fresh.write_text(config.read_text().replace("x.db", "fresh.db").replace(str(roster), str(tmp_path / "bad.signed")))
    assert _invoke("migrate", "-c", str(fresh))[0] == 0
    code, output = _invoke("status", "-c", str(fresh))
    assert code == 2 and output.startswith("error: exchange.roster_file: the roster is not trusted")


def test_status_and_peers_show_a_peers_refusal_and_the_warnings_given_across_restarts(tmp_path: Path) -> None:
    """What the node keeps (a peer's refusal of it, the once-only warnings it gave) shows in `status` and
    `peers`, read from the store: a restart, or a command run while the node is down, sees it too."""
    config = str(_config(tmp_path))
    engine = create_store_engine(f"sqlite+pysqlite:///{tmp_path}/n.db")
    migrate(engine)
    with SqlStore(engine).transaction() as tx:
        tx.put_peer_refusal(PeerRefusal(DE, "SENDER_SUSPENDED", "nl-hotline is suspended", 4, T0, b"signed"))
        assert tx.give_warning("4:expiring", "ROSTER_EXPIRING", "roster version 4 expires soon", T0)
        assert not tx.give_warning("4:expiring", "ROSTER_EXPIRING", "roster version 4 expires soon", T0)
    engine.dispose()
    code, output = _invoke("status", "-c", config)
    lines = output.splitlines()
    assert code == 0 and lines[2] == "warned 2026-03-02T09:00:00+00:00: ROSTER_EXPIRING: roster version 4 expires soon"
    assert lines[3].startswith(DE) and lines[3].endswith(
        "REFUSED this node: SENDER_SUSPENDED (at 2026-03-02T09:00:00+00:00, under roster version 4: nothing goes "
        "to it until the roster changes)"
    )
    data = json.loads(_invoke("status", "-c", config, "--json")[1])
    assert data["warnings"] == [
        {
            "warning": "4:expiring",
            "code": "ROSTER_EXPIRING",
            "detail": "roster version 4 expires soon",
            "given_at": "2026-03-02T09:00:00+00:00",
        }
    ]
    (de,) = data["peers"]
    assert de["refused_by_peer"] == {
        "reason_code": "SENDER_SUSPENDED",
        "reason": "nl-hotline is suspended",
        "roster_version": 4,
        "refused_at": "2026-03-02T09:00:00+00:00",
    }
    code, output = _invoke("peers", "-c", config)
    assert code == 0 and output.startswith(DE) and "REFUSED this node: SENDER_SUSPENDED" in output
    (peer,) = json.loads(_invoke("peers", "-c", config, "--json")[1])
    assert peer["refused_by_peer"]["roster_version"] == 4
