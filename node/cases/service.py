"""The case workflow of one node, behind one entry point: CaseService.

Every public method is one transaction: the state change, its events, its audit entry and any outbox
message commit together or not at all. Inputs are validated before anything is written. Methods whose
names end in `_txn` run inside a transaction their caller holds (the exchange receiver's, for messages
from other nodes).

The work is done in the modules beside this one; each method here hands the call on to the one that owns it:
intake, known_content, assessment, actions, federation, upkeep and queries, over the shared context and
item workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from node.cases.actions import Actions
from node.cases.assessment import Assessments
from node.cases.context import CaseContext, CaseSettings
from node.cases.disputes import Disputes
from node.cases.exchange_messages import HashVerdicts, Referral, StatusUpdate, Withdrawal
from node.cases.federation import Federation
from node.cases.hash_sharing import HashSharing
from node.cases.intake import Intake
from node.cases.known_content import KnownContent
from node.cases.model import Assessment, Classification, Event, Item, ItemState, KnownHash, Principal, Report
from node.cases.opinions import Opinions
from node.cases.ports import CaseStore, CaseTransaction, ItemQuery, ItemReceipt, NoticeHook, PeerOpinions
from node.cases.queries import Queries
from node.cases.requests import HostingOverride, NewAction, NewReport
from node.cases.results import ImportResult, RecordedAction
from node.cases.routing import Membership
from node.cases.statistics import Statistics
from node.cases.upkeep import Upkeep
from node.cases.workflow import ItemWorkflow
from node.clock import Clock
from node.hashes import ContentHash, PdqIndex
from node.hosting import HostingResolver

__all__ = ["CaseService", "CaseSettings"]


class CaseService:
    def __init__(
        self,
        *,
        settings: CaseSettings,
        store: CaseStore,
        clock: Clock,
        resolver: HostingResolver,
        membership: Membership,
        pdq_index: PdqIndex,
        on_commit: Callable[[], None] = lambda: None,
        notices: NoticeHook | None = None,
    ) -> None:
        self._ctx = CaseContext(
            settings=settings,
            store=store,
            clock=clock,
            resolver=resolver,
            membership=membership,
            pdq=pdq_index,
            on_commit=on_commit,
            notices=notices,
        )
        workflow = ItemWorkflow(self._ctx)
        self._known = KnownContent(self._ctx)
        self._intake = Intake(self._ctx, workflow, self._known)
        self._assessments = Assessments(self._ctx, workflow, self._known)
        self._actions = Actions(self._ctx, workflow)
        self._opinions = Opinions(self._ctx)
        self._federation = Federation(self._ctx, workflow, self._opinions)
        self._disputes = Disputes(self._ctx)
        self._sharing = HashSharing(self._ctx, self._known)
        self._upkeep = Upkeep(self._ctx)
        self._queries = Queries(self._ctx)

    @property
    def settings(self) -> CaseSettings:
        return self._ctx.settings

    def set_membership(self, membership: Membership) -> None:
        """Use a new membership (a newer roster) from the next transaction on; no restart."""
        self._ctx.membership = membership

    def committed(self) -> None:
        """Tell event listeners that a transaction run outside this service (the exchange receiver) committed."""
        self._ctx.committed()

    # intake

    def submit_report(self, principal: Principal, request: NewReport, request_id: str = "") -> Report:
        return self._intake.submit_report(principal, request, request_id)

    def submit_reports(self, batch: Sequence[tuple[Principal, NewReport, str]]) -> list[Report | Exception]:
        return self._intake.submit_reports(batch)

    # reads

    def get_report(self, report_id: str, principal: Principal | None = None) -> Report:
        return self._queries.get_report(report_id, principal)

    def get_item(self, item_id: str) -> Item:
        return self._queries.get_item(item_id)

    def list_items(
        self,
        *,
        state: ItemState | None,
        hosting_country: str | None,
        after_item_id: str,
        limit: int,
        origin_node: str | None = None,
        updated_since: datetime | None = None,
    ) -> list[Item]:
        query = ItemQuery(after_item_id, limit, state, hosting_country, origin_node, updated_since)
        return self._queries.list_items(query)

    def timeline(self, item_id: str) -> list[Event]:
        return self._queries.timeline(item_id)

    def receipts(self, item_id: str) -> list[ItemReceipt]:
        return self._queries.receipts(item_id)

    def list_events(self, *, after_seq: int, limit: int) -> list[Event]:
        return self._queries.list_events(after_seq=after_seq, limit=limit)

    def statistics(
        self, *, start: datetime | None, end: datetime | None, hosting_country: str = ""
    ) -> tuple[Statistics, list[Statistics]]:
        return self._queries.statistics(start=start, end=end, hosting_country=hosting_country)

    def peer_opinions(self) -> list[PeerOpinions]:
        """Per peer, how often its re-assessment of a referral confirmed this node's classification."""
        return self._opinions.counts()

    # assessment and hosting

    def assess(
        self,
        principal: Principal,
        item_id: str,
        assessment: Assessment,
        request_id: str = "",
        attested_hashes: Sequence[ContentHash] = (),
    ) -> Item:
        return self._assessments.assess(principal, item_id, assessment, request_id, attested_hashes)

    def trace_hosting(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        return self._assessments.trace_hosting(principal, item_id, request_id)

    def override_hosting(
        self, principal: Principal, item_id: str, override: HostingOverride, request_id: str = ""
    ) -> Item:
        return self._assessments.override_hosting(principal, item_id, override, request_id)

    # actions and holds

    def record_action(
        self, principal: Principal, item_id: str, action: NewAction, request_id: str = ""
    ) -> RecordedAction:
        return self._actions.record_action(principal, item_id, action, request_id)

    def place_hold(
        self, principal: Principal, item_id: str, until: datetime | None, reference: str, request_id: str = ""
    ) -> Item:
        return self._actions.place_hold(principal, item_id, until, reference, request_id)

    def release_hold(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        return self._actions.release_hold(principal, item_id, request_id)

    def clear_removal(self, principal: Principal, item_id: str, request_id: str = "") -> Item:
        return self._actions.clear_removal(principal, item_id, request_id)

    # federation

    def withdraw_referral(self, principal: Principal, item_id: str, reason: str, request_id: str = "") -> Item:
        return self._federation.withdraw_referral(principal, item_id, reason, request_id)

    def reroute_from(self, peer: str, reason: str) -> list[str]:
        return self._federation.reroute_from(peer, reason)

    def recover_referral_txn(self, tx: CaseTransaction, peer: str, referral: Referral, referred_at: datetime) -> bool:
        return self._federation.recover_referral_txn(tx, peer, referral, referred_at)

    def receive_referral_txn(self, tx: CaseTransaction, sender: str, referral: Referral) -> str:
        return self._federation.receive_referral_txn(tx, sender, referral)

    def apply_status_update_txn(self, tx: CaseTransaction, sender: str, update: StatusUpdate) -> None:
        self._federation.apply_status_update_txn(tx, sender, update)

    def apply_withdrawal_txn(self, tx: CaseTransaction, sender: str, withdrawal: Withdrawal) -> None:
        self._federation.apply_withdrawal_txn(tx, sender, withdrawal)

    # what the scheduler runs

    def escalate_overdue(self, limit: int = 500) -> list[str]:
        return self._upkeep.escalate_overdue(limit)

    def purge_closed(self, retention: timedelta, batch: int = 500) -> int:
        return self._upkeep.purge_closed(retention, batch)

    # known hashes

    def import_known_hashes(
        self,
        principal: Principal,
        entries: Sequence[tuple[ContentHash, Classification]],
        source: str,
        request_id: str = "",
        version: str = "",
    ) -> ImportResult:
        return self._known.import_known_hashes(principal, entries, source, request_id, version)

    def dispute_known_match(self, principal: Principal, item_id: str, reason: str, request_id: str = "") -> Item:
        return self._disputes.dispute_known_match(principal, item_id, reason, request_id)

    def confirm_known_hash(self, principal: Principal, known_hash_id: int, request_id: str = "") -> KnownHash:
        return self._disputes.confirm_known_hash(principal, known_hash_id, request_id)

    # hash verdicts shared with peers

    def publish_hash_verdict(self, principal: Principal, content_hash: ContentHash, request_id: str = "") -> list[str]:
        return self._sharing.publish(principal, content_hash, request_id)

    def withdraw_hash_verdict(self, principal: Principal, content_hash: ContentHash, request_id: str = "") -> list[str]:
        return self._sharing.withdraw(principal, content_hash, request_id)

    def peer_bank(self, peer: str) -> list[KnownHash]:
        return self._sharing.bank(peer)

    def apply_hash_verdicts_txn(self, tx: CaseTransaction, sender: str, verdicts: HashVerdicts) -> None:
        self._sharing.apply_verdicts_txn(tx, sender, verdicts)
