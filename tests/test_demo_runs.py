from __future__ import annotations

from pathlib import Path

from node.demo import run_demo


async def test_the_demo_takes_reports_from_intake_to_removal(tmp_path: Path) -> None:
    lines: list[str] = []
    final = await run_demo(tmp_path, lines)
    assert final == {
        "known": "ITEM_STATE_CLOSED_REMOVED",
        "domestic": "ITEM_STATE_CLOSED_REMOVED",
        "abroad": "ITEM_STATE_REFERRED",
        "no-member": "ITEM_STATE_CLOSED_UNAVAILABLE",
        "not-illegal": "ITEM_STATE_CLOSED_NOT_ILLEGAL",
    }
    text = "\n".join(lines)
    assert "deadline.escalated" in text and "NTD refused while the hold runs: FAILED_PRECONDITION" in text
