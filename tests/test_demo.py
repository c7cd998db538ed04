"""The demo drives one node through its gRPC API from intake to removal and reports the final states."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from node.demo import DEMO_HOSTING, run_demo

FINAL = {
    "known": "ITEM_STATE_CLOSED_REMOVED",
    "domestic": "ITEM_STATE_CLOSED_REMOVED",
    "abroad": "ITEM_STATE_REFERRED",
    "no-member": "ITEM_STATE_CLOSED_UNAVAILABLE",
    "not-illegal": "ITEM_STATE_CLOSED_NOT_ILLEGAL",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], list[str], Path]:
    workdir = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    final = asyncio.run(run_demo(workdir, lines))
    return final, lines, workdir


def test_the_demo_ends_in_the_expected_states(demo: tuple[dict[str, str], list[str], Path]) -> None:
    final, _, workdir = demo
    assert final == FINAL
    assert (workdir / "nl-demo-hotline.db").is_file()  # the database went where it was asked to


def test_the_demo_shows_the_hold_the_escalation_and_the_statistics(
    demo: tuple[dict[str, str], list[str], Path],
) -> None:
    _, lines, _ = demo
    text = "\n".join(lines)
    assert "NTD refused while the hold runs: FAILED_PRECONDITION" in text
    assert "no-member item escalated: True" in text
    # Removed: known (~29 h), domestic (~29 h) and no-member (unavailable after ~4 days); the referred item is
    # still open: 2 of the 4 illegal items in time.
    assert "items 5; removed 3; of the 4 illegal, 50% removed within 72 h" in text
    assert "deadline.escalated" in text and "item.known_match" in text and "item.repeat_report" in text


def test_the_demo_uses_only_reserved_names_and_documentation_addresses(
    demo: tuple[dict[str, str], list[str], Path],
) -> None:
    _, lines, _ = demo
    text = "\n".join(lines)
    hosts = set(re.findall(r"https?://([^/\s:?#]+)", text))
    assert hosts, "the demo printed no URL"
    assert all(host.endswith(".example") for host in hosts), hosts
    assert hosts <= set(DEMO_HOSTING)
    for facts in DEMO_HOSTING.values():
        assert facts.ip is not None and facts.ip.startswith(("192.0.2.", "198.51.100.", "203.0.113."))


async def test_the_demo_can_run_again_in_the_same_directory(tmp_path: Path) -> None:
    first = await run_demo(tmp_path, [])
    second = await run_demo(tmp_path, [])  # the old database is replaced, not reused
    assert first == second == FINAL


def test_the_assessment_step_prints_each_items_new_state(demo: tuple[dict[str, str], list[str], Path]) -> None:
    _, lines, _ = demo
    step3 = {line.split()[0]: line.rsplit(" ", 1)[-1] for line in lines if "NATIONAL, hosted" in line}
    assert step3 == {
        "domestic": "ITEM_STATE_AWAITING_LEA",
        "abroad": "ITEM_STATE_REFERRED",
        "no-member": "ITEM_STATE_AWAITING_LEA",
    }
