from __future__ import annotations

from pathlib import Path

from node.config import load_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_example_config_loads_and_means_what_its_comments_say() -> None:
    config = load_config(EXAMPLES / "node.toml", env={})
    assert config.node_id == "nl-example-hotline"
    assert config.jurisdiction == "NL"
    assert config.removal_deadline.total_seconds() == 72 * 3600
    assert (config.retention.days, config.retention_check_seconds) == (365, 3600)
    assert (config.max_report_age.days, config.stream_heartbeat_seconds, config.min_client_ping_seconds) == (
        365,
        30,
        10,
    )
    membership = config.membership()
    assert membership.receiver_for("DE") == "de-example-hotline-a"
    assert membership.receiver_for("NL") == "nl-example-hotline"
    assert membership.receiver_for("BR") is None
