"""CaseService is the one entry point of the case workflow: the servicers, the exchange receiver, the CLI, the
scheduler and the tests call it. Its public methods and their parameters are pinned here, so that splitting
its work into modules cannot drop, rename or reshape one (as Temporal's tests/test_client_exports.py does)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from node.cases.service import CaseService

EXPECTED_SURFACE = {
    "apply_status_update_txn": "(tx, sender, update)",
    "apply_withdrawal_txn": "(tx, sender, withdrawal)",
    "recover_referral_txn": "(tx, peer, referral, referred_at)",
    "apply_hash_verdicts_txn": "(tx, sender, verdicts)",
    "publish_hash_verdict": "(principal, content_hash, request_id='')",
    "withdraw_hash_verdict": "(principal, content_hash, request_id='')",
    "peer_bank": "(peer)",
    "assess": "(principal, item_id, assessment, request_id='', attested_hashes=())",
    "committed": "()",
    "confirm_known_hash": "(principal, known_hash_id, request_id='')",
    "dispute_known_match": "(principal, item_id, reason, request_id='')",
    "escalate_overdue": "(limit=500)",
    "get_item": "(item_id)",
    "get_report": "(report_id, principal=None)",
    "import_known_hashes": "(principal, entries, source, request_id='', version='')",
    "list_events": "(*, after_seq, limit)",
    "list_items": "(*, state, hosting_country, after_item_id, limit, origin_node=None, updated_since=None)",
    "peer_opinions": "()",
    "override_hosting": "(principal, item_id, override, request_id='')",
    "place_hold": "(principal, item_id, until, reference, request_id='')",
    "purge_closed": "(retention, batch=500)",
    "receipts": "(item_id)",
    "receive_referral_txn": "(tx, sender, referral)",
    "record_action": "(principal, item_id, action, request_id='')",
    "release_hold": "(principal, item_id, request_id='')",
    "clear_removal": "(principal, item_id, request_id='')",
    "reroute_from": "(peer, reason)",
    "set_membership": "(membership)",
    "settings": "property",
    "statistics": "(*, start, end, hosting_country='')",
    "submit_report": "(principal, request, request_id='')",
    "submit_reports": "(batch)",
    "timeline": "(item_id)",
    "trace_hosting": "(principal, item_id, request_id='')",
    "withdraw_referral": "(principal, item_id, reason, request_id='')",
}


def _parameters(function: Callable[..., Any]) -> str:
    """The parameters after `self`, as they are called: names, defaults, and `*` before keyword-only ones."""
    shown: list[str] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in shown:
            shown.append("*")
        default = "" if parameter.default is parameter.empty else f"={parameter.default!r}"
        shown.append(parameter.name + default)
    return "(" + ", ".join(shown) + ")"


def test_the_public_methods_of_case_service_are_these() -> None:
    surface = {}
    for name in dir(CaseService):
        if not name.startswith("_"):
            member = inspect.getattr_static(CaseService, name)
            surface[name] = "property" if isinstance(member, property) else _parameters(member)
    assert surface == EXPECTED_SURFACE


def test_case_service_is_built_from_the_same_keywords() -> None:
    parameters = list(inspect.signature(CaseService.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [
        "settings",
        "store",
        "clock",
        "resolver",
        "membership",
        "pdq_index",
        "on_commit",
        "notices",
    ]
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters)
    assert [p.name for p in parameters if p.default is not p.empty] == ["on_commit", "notices"]
