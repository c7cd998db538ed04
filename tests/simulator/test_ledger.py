"""The case systems' ledger on disk: what the report forms sent and which item each answered report became,
read back by the invariants and items.csv as the in-memory sets and maps were."""

from __future__ import annotations

import csv
import sqlite3
import tomllib
from pathlib import Path

import pytest

from simulator.ledger import LEDGER_DB, Ledger
from simulator.runner import run_deterministic
from simulator.scenario import parse_scenario
from tests.simulator.small_scenarios import Place, tiny_network

pytestmark = pytest.mark.timeout(120)


def test_what_was_written_reads_back_at_once_and_after_closing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / LEDGER_DB)
    ledger.sent("nl-hotline", "https://c1.hosting-nl-1.example/a.html")
    ledger.sent("nl-hotline", "https://c1.hosting-nl-1.example/a.html")  # a retry: still one
    ledger.sent("de-hotline", "https://c2.hosting-de-2.test/b.html")
    ledger.answered("nl-0-0", "nl-hotline", "item-1")
    ledger.answered("de-0-0", "de-hotline", "item-2")

    sent = ledger.sent_urls()
    assert sorted(sent) == ["de-hotline", "nl-hotline"]
    assert "https://c1.hosting-nl-1.example/a.html" in sent["nl-hotline"]
    assert "https://c1.hosting-nl-1.example/a.html" not in sent["de-hotline"]
    assert sent.get("fr-hotline") is None
    with pytest.raises(KeyError):
        sent["fr-hotline"]
    answered = ledger.answered_items()
    assert answered.get("nl-0-0") == ("nl-hotline", "item-1")
    assert answered.get("xx-9-9") is None
    assert sorted(answered.values()) == [("de-hotline", "item-2"), ("nl-hotline", "item-1")]
    assert len(answered) == 2
    ledger.close()

    with sqlite3.connect(tmp_path / LEDGER_DB) as db:
        assert db.execute("SELECT COUNT(*) FROM sent").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM answered").fetchone()[0] == 2


TINY = tiny_network(
    "tiny-ledger", [Place("NL", 0.5, 0.5, 2), Place("DE", 0.5, 0.5, 3)], seed=11, duration_hours=6, max_reports=12
)


def test_a_run_keeps_every_sent_url_and_answered_report_in_its_ledger(tmp_path: Path) -> None:
    result = run_deterministic(parse_scenario(tomllib.loads(TINY)), tmp_path / "run")
    assert result.ok
    with sqlite3.connect(tmp_path / "run" / LEDGER_DB) as db:
        sent = db.execute("SELECT COUNT(*) FROM sent").fetchone()[0]
        answered = dict(db.execute("SELECT plan, node FROM answered").fetchall())
    assert sent == result.run_summary.reports == 12
    with (tmp_path / "run" / "items.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {row["item"]: row["origin_node"] for row in rows} == answered
