"""deploy/: the container image's recipe, the compose file, the systemd unit and the Prometheus files hold what
the README promises (non-root, read-only root, volumes for data and keys, a health check, hardening), and the
alert rules name only metrics the node exports (checked with promtool too, where it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from node.cli import app

DEPLOY = Path(__file__).parent.parent / "deploy"
METRICS_SOURCE = "\n".join(p.read_text() for p in (Path(__file__).parent.parent / "node" / "metrics").glob("*.py"))
# Prometheus' own series, and the suffixes a histogram or counter adds to the name the node declares.
_PROMETHEUS_SERIES = {"up"}
_SUFFIXES = ("_bucket", "_sum", "_count")


def _yaml(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml("prometheus/alerts.yml")["groups"] for rule in group["rules"]]


def _metric_names(expr: str) -> set[str]:
    """The series an expression reads: its identifiers less functions (followed by a parenthesis), label
    matchers, ranges, grouping clauses and operators spelled as words."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)
    names = set(re.findall(r"\b[a-z_][a-z0-9_]*\b(?!\s*\()", bare))
    return names - {"and", "or", "unless", "bool", "offset"}


def test_every_alert_rule_is_complete_and_reads_only_metrics_the_node_exports() -> None:
    rules = _rules()
    alerts = {rule["alert"] for rule in rules}
    expected = {"HotlineOutboxStuck", "HotlineRosterExpiresSoon", "HotlineCertificateExpiresSoon", "HotlineStoreDown"}
    assert expected <= alerts
    assert len(alerts) == len(rules)  # no name used twice
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        for name in _metric_names(str(rule["expr"])):
            if name in _PROMETHEUS_SERIES:
                continue
            declared = next((name.removesuffix(s) for s in _SUFFIXES if name.endswith(s)), name)
            assert f'"{declared}"' in METRICS_SOURCE, f"{rule['alert']}: {name} is not a metric of node/metrics"


def test_the_metric_check_sees_a_name_the_node_does_not_export() -> None:
    assert _metric_names('sum by (peer) (rate(hx_no_such_total{kind="x"}[5m])) > 0') == {"hx_no_such_total"}


def test_the_scrape_config_loads_the_rules_and_scrapes_the_node() -> None:
    config = _yaml("prometheus/prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "hotline-node"
    assert job["static_configs"][0]["targets"] == ["node:9464"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_config_and_the_rules() -> None:
    for args in (["check", "config"], ["check", "rules"]):
        target = "prometheus.yml" if args[1] == "config" else "alerts.yml"
        result = subprocess.run(["promtool", *args, target], cwd=DEPLOY / "prometheus", capture_output=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_user_with_volumes_for_data_and_keys_and_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001:10001$", final_stage, re.MULTILINE)
    assert 'VOLUME ["/var/lib/hotline/data", "/var/lib/hotline/keys"]' in final_stage
    assert "HEALTHCHECK" in final_stage and "healthcheck.py" in final_stage
    assert '".[postgres]"' in dockerfile  # the PostgreSQL driver is installed
    assert "chmod 0700 /var/lib/hotline /var/lib/hotline/data /var/lib/hotline/keys" in final_stage


def test_compose_runs_the_node_read_only_and_non_root_beside_postgresql() -> None:
    services = _yaml("compose.yaml")["services"]
    node = services["node"]
    assert node["read_only"] is True
    assert node["user"] == "10001:10001"
    assert node["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in node["security_opt"]
    assert {"data:/var/lib/hotline/data", "keys:/var/lib/hotline/keys"} <= set(node["volumes"])
    assert node["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "9464" not in str(node.get("ports", []))  # the metrics stay on the compose network


def test_the_container_config_is_valid(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check-config", str(DEPLOY / "node.toml"), "--json"])
    assert result.exit_code == 0, result.output


def test_the_systemd_unit_is_hardened_and_verifies() -> None:
    unit = (DEPLOY / "hotline-node.service").read_text()
    for directive in (
        "User=hotline",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "UMask=0077",
        "StateDirectoryMode=0700",
        "RestartPreventExitStatus=2",
        "ExecStart=/opt/hotline/bin/hotline-node serve --config /etc/hotline/node.toml",
    ):
        assert re.search(rf"^{re.escape(directive)}$", unit, re.MULTILINE), directive


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    command = str(Path(sys.executable).parent / "hotline-node")
    if not Path(command).exists():
        pytest.skip("no hotline-node console script beside this Python")
    unit = tmp_path / "hotline-node.service"
    unit.write_text((DEPLOY / "hotline-node.service").read_text().replace("/opt/hotline/bin/hotline-node", command))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_health_check_names_what_is_wrong(tmp_path: Path) -> None:
    from tests.exchange.test_two_nodes import _free_port

    result = subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), f"http://127.0.0.1:{_free_port()}/metrics"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("unhealthy: the metrics endpoint")
