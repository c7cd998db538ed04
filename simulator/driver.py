"""The case systems: each hotline's report form, analysts, police contact and hosting providers, driving
its node through the integrator gRPC API on simulated time, as real case systems would.

- The report form submits each planned report when it falls due.
- The analyst assesses after the planned delay; at a receiving hotline the analyst re-assesses a NATIONAL
  referral (BASELINE stands and needs no second look).
- The assigned hotline notifies the police, waits out a hold if the police place one, sends the notice to
  the hosting provider, and records the provider's response: removal, a move to another country, or
  nothing at all (an unresponsive provider, left to the 72-hour escalation).

Items that arrive from other hotlines are found the way an integrator finds them: on the node's event
stream (`referral.received`). Calls that fail because a node is down are retried with the same request id,
so a retry never applies anything twice.

Memory stays flat as simulated time grows: the plans are generated as they fall due; an item's work at its
assigned hotline runs as steps, and between two steps (the police's delay, a hold, the provider's answer,
content that goes by itself: days, weeks in the long tail) it is parked as a small record on a loop timer, not
held as a suspended task; what the flows share is dropped when a flow ends; and what the invariants and
items.csv need afterwards (the URLs sent, the items answered) goes to the run's ledger on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeAlias, TypeVar

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.clock import AcceleratedClock, LoopClock
from simulator.hours import OfficeHours
from simulator.ledger import Ledger
from simulator.network import Network
from simulator.world import ReportPlan, Workload

__all__ = ["CaseSystems", "DriverStats"]

_log = structlog.get_logger(__name__)
_T = TypeVar("_T")
_RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
_CLASSIFICATION = {
    "NOT_ILLEGAL": pb.CLASSIFICATION_NOT_ILLEGAL,
    "NATIONAL": pb.CLASSIFICATION_NATIONAL,
    "BASELINE": pb.CLASSIFICATION_BASELINE,
}
_OPEN_FOR_LEA = (pb.ITEM_STATE_AWAITING_LEA, pb.ITEM_STATE_AWAITING_ASSESSMENT)
# The events a case system acts on (`_watch`): the node streams these kinds only.
_WATCHED = (pb.EVENT_KIND_REFERRAL_RECEIVED, pb.EVENT_KIND_STATUS_APPLIED)


@dataclass
class DriverStats:
    """Counts only (the URLs sent and the items answered are in the ledger, on disk)."""

    submitted: int = 0
    retries: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # gRPC code -> calls the node refused for good
    flows_started: int = 0


@dataclass(slots=True)
class _Work:
    """One item's work at one assigned hotline: all a flow keeps while it is parked between its steps."""

    node_id: str
    item_id: str
    plan: ReportPlan
    stage_index: int
    seen: tuple[str, str] | None  # the origin's mark that its flow is under way, released when this work ends

    @property
    def prefix(self) -> str:
        """Of the request ids of this work's calls (a retry after a crash reuses them)."""
        return f"sim-{self.plan.key}-{self.stage_index}-{self.node_id}"


# A positive wait in the loop's seconds, and the step that follows it.
_Next: TypeAlias = "tuple[float, _Step]"
_Step: TypeAlias = "Callable[[_Work], Awaitable[_Next | None]]"


class CaseSystems:
    def __init__(
        self,
        network: Network,
        workload: Workload,
        clock: AcceleratedClock | LoopClock,
        ledger: Ledger,
        *,
        seed: int,
    ) -> None:
        self._network = network
        self._workload = workload
        self._clock = clock
        self.ledger = ledger
        self.stats = DriverStats()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Flows under way, so that a second trigger (a repeat report, a second event) does not start another:
        # (node, item id, stage) at an assignee, (node, item id) at an origin. Each entry leaves with its flow.
        self._started: set[tuple[str, str, int]] = set()
        self._cursors: dict[str, str] = {}
        self._items_seen: set[tuple[str, str]] = set()
        self._stopping = False
        # Deterministic mode: the simulated time each integrator call takes (live: whatever the sockets take).
        sim = network.scenario.simulation
        self._api_latency = sim.api_latency_ms / 1000 if network.deterministic else 0.0
        self._hours = {h.node_id: OfficeHours(h.hours) for h in network.scenario.hotlines}
        self._country = {h.node_id: h.country for h in network.scenario.hotlines}

    # ------------------------------------------------------------------------------------------ running

    async def import_known_hashes(self) -> None:
        """Every hotline starts with the shared list of content classified before (the known share)."""
        for node in self._network.members:
            request = admin_pb.ImportKnownHashesRequest(
                request_id=f"sim-known-{node.node_id}",
                source="simulated shared hash list",
                hashes=[
                    admin_pb.KnownHash(
                        hash=pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=digest),
                        classification=pb.CLASSIFICATION_BASELINE,
                    )
                    for digest in self._workload.known_hashes
                ],
            )
            await self._call(node.node_id, lambda c, r=request: c.admin.ImportKnownHashes(r))  # type: ignore[misc]

    def start(self) -> None:
        for node in self._network.members:
            self._spawn(self._watch(node.node_id))
        self._spawn(self._feed())

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("sim.flow_failed", error=repr(task.exception()))

    # ------------------------------------------------------------------------------------------ time

    async def _until_hours(self, hours: float) -> None:
        target = self._network.scenario.start + timedelta(hours=hours)
        await self._sleep_until(target)

    async def _sleep_until(self, target: Any) -> None:
        wait = self._seconds_until(target)
        if wait > 0:
            await asyncio.sleep(wait)

    def _seconds_until(self, target: datetime) -> float:
        """The loop's seconds until simulated time `target` (negative: it is past)."""
        return (target - self._clock.now()).total_seconds() / self._clock.scale

    async def _after_hours(self, hours: float) -> None:
        await asyncio.sleep(max(0.0, hours * 3600.0 / self._clock.scale))

    async def _at_work(self, node_id: str) -> None:
        """Wait for the hotline's next opening, if it is closed now (its analysts, police contact and
        notices to providers work in its hours only)."""
        hours = self._hours[node_id]
        if not hours.always:
            now = self._clock.now()
            opening = hours.next_open(now)
            if opening > now:
                await self._sleep_until(opening)

    # ------------------------------------------------------------------------------------------ calls

    async def _call(self, node_id: str, call: Callable[[NodeClient], Awaitable[_T]]) -> _T:
        """One integrator call; retried while the node is unreachable (crashed, restarting)."""
        delay = 0.05
        while True:
            client = self._network.nodes[node_id].client
            assert client is not None
            if self._api_latency:
                await asyncio.sleep(self._api_latency)
            try:
                return await call(client)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _RETRY or self._stopping:
                    raise
                self.stats.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _try(self, node_id: str, call: Callable[[NodeClient], Awaitable[_T]]) -> _T | None:
        """A call whose refusal ends this item's flow at this hotline (counted, never fatal)."""
        try:
            return await self._call(node_id, call)
        except grpc.aio.AioRpcError as error:
            name = error.code().name
            self.stats.refused[name] = self.stats.refused.get(name, 0) + 1
            _log.info("sim.call_refused", node_id=node_id, code=name, detail=error.details())
            return None

    # ------------------------------------------------------------------------------------------ flows

    async def _feed(self) -> None:
        """The report forms: each planned report starts its flow when it falls due, generated as it comes
        (the plan of a year is never held in memory)."""
        for plan in self._workload.iter_reports():
            await self._until_hours(plan.at_h)
            self._spawn(self._report(plan))

    async def _report(self, plan: ReportPlan) -> None:
        await self._until_hours(plan.at_h)
        item_id = await self._submit(plan)
        if item_id is None:
            return
        # The intake reply gives ids only (not whether the URL was known): an item seen before joined its flow.
        seen = (plan.origin, item_id)
        if seen in self._items_seen:
            return  # joined an open item: that item's flow goes on
        self._items_seen.add(seen)
        handed_over = False
        try:
            handed_over = await self._origin(plan, item_id, seen)
        finally:
            if not handed_over:
                self._items_seen.discard(seen)

    async def _submit(self, plan: ReportPlan) -> str | None:
        """The report form submits the plan's report; the item id it names (None: the node refused it). The
        request and the reply live in this frame only: the flow that waits after it keeps the id."""
        request = intake_pb.SubmitReportRequest(
            request_id=f"sim-report-{plan.key}",
            urls=[
                intake_pb.ReportedUrl(
                    url=plan.url,
                    hashes=[pb.ContentHash(algorithm=pb.HASH_ALGORITHM_SHA256, value=plan.content_sha256)],
                )
            ],
            reporter=pb.Reporter(anonymous=True),
        )
        self.ledger.sent(plan.origin, plan.url)
        response = await self._try(plan.origin, lambda c: c.intake.SubmitReport(request))
        if response is None:
            return None
        self.stats.submitted += 1
        item_id: str = response.report.items[0].item_id
        self.ledger.answered(plan.key, plan.origin, item_id)
        return item_id

    async def _origin(self, plan: ReportPlan, item_id: str, seen: tuple[str, str]) -> bool:
        """The originating hotline's analyst; then, for an item it keeps, its own police and notice work. True:
        that work took `seen` over (it is released when the work ends)."""
        # The intake reply says nothing about known content; the case system reads the item as an analyst.
        state = await self._state(plan.origin, item_id)
        if state == pb.ITEM_STATE_AWAITING_ASSESSMENT:
            await self._after_hours(plan.analyst_h)
            await self._at_work(plan.origin)
            state = await self._assess(plan.origin, item_id, f"sim-assess-{plan.key}", plan.classification)
        if state == pb.ITEM_STATE_AWAITING_LEA:  # hosted at home, or where no member is (fallback direct)
            return await self._assignee(plan.origin, item_id, plan, 0, state, seen=seen)
        return False

    async def _assignee(
        self,
        node_id: str,
        item_id: str,
        plan: ReportPlan,
        stage_index: int,
        state: int | None = None,
        *,
        seen: tuple[str, str] | None = None,
    ) -> bool:
        """The assigned hotline's work on one item: police, hold, notice, the provider's response. `state`: the
        item's state as the caller has just read it (else it is read here). `seen`: the origin's mark that its
        flow is under way, released when this work ends. False: this work is under way already."""
        key = (node_id, item_id, stage_index)
        if key in self._started:
            return False
        self._started.add(key)
        work = _Work(node_id, item_id, plan, stage_index, seen)
        await self._run(work, self._begin(work, state))
        return True

    # A flow may wait for weeks (the police's delay, a hold, a slow provider, content that goes by itself: the
    # long tail of a year's tens of thousands in flight). Between its steps it is parked: a `_Work` record and
    # a loop timer, not a suspended task with its chain of coroutine frames. A step runs on until its next
    # positive wait and returns it (`_Next`); a wait of zero goes on at once, as a plain sleep would. A timer
    # that resumes a parked step spawns a task, as a sleep's timer wakes one: the same turns of the loop, so
    # the same order of events.

    async def _run(self, work: _Work, steps: Awaitable[_Next | None]) -> None:
        """Run the work's steps up to its next wait, and park it there; release its marks when it ends."""
        try:
            wait = await steps
        except BaseException:
            self._finish(work)
            raise
        if wait is None:
            self._finish(work)
        else:
            seconds, step = wait
            asyncio.get_running_loop().call_later(seconds, self._resume, work, step)

    def _resume(self, work: _Work, step: _Step) -> None:
        if not self._stopping:
            self._spawn(self._run(work, step(work)))

    def _finish(self, work: _Work) -> None:
        self._started.discard((work.node_id, work.item_id, work.stage_index))
        if work.seen is not None:
            self._items_seen.discard(work.seen)

    async def _begin(self, work: _Work, state: int | None) -> _Next | None:
        """Read (or take) the item's state; re-assess a NATIONAL referral; then the police's delay."""
        self.stats.flows_started += 1
        node_id, item_id, plan = work.node_id, work.item_id, work.plan
        stage = plan.stages[work.stage_index]
        if state is None:
            state = await self._state(node_id, item_id)
        if state not in _OPEN_FOR_LEA:
            return None  # its work here is done (a late second trigger after the flow ended), or the read was refused
        if state == pb.ITEM_STATE_AWAITING_ASSESSMENT:  # a NATIONAL referral: re-assess here
            await self._after_hours(plan.analyst_h)
            await self._at_work(node_id)
            verdict = plan.classification if stage.agrees else "NOT_ILLEGAL"
            if await self._assess(node_id, item_id, f"{work.prefix}-assess", verdict) != pb.ITEM_STATE_AWAITING_LEA:
                return None
        return await self._unless_gone(work, stage.lea_delay_h, self._police)

    async def _police(self, work: _Work) -> _Next | None:
        """The police are told; they may place a hold, which the notice waits out."""
        await self._at_work(work.node_id)
        if not await self._action(work.node_id, work.item_id, f"{work.prefix}-lea", pb.ACTION_TYPE_LEA_NOTIFIED):
            return None
        stage = work.plan.stages[work.stage_index]
        if stage.hold_h > 0:
            reference = f"SIM-LEA-{work.plan.key}"
            until = await self._hold(work.node_id, work.item_id, f"{work.prefix}-hold", reference, stage.hold_h)
            if until is not None:
                seconds = self._seconds_until(until)
                if seconds > 0:
                    return seconds, self._after_hold
                return await self._after_hold(work)
        return await self._unless_gone(work, 0.0, self._notice)

    async def _after_hold(self, work: _Work) -> _Next | None:
        await self._after_hours(0.05)
        return await self._unless_gone(work, 0.0, self._notice)  # gone under a hold: seen after it

    async def _notice(self, work: _Work) -> _Next | None:
        """The notice to the hosting provider, and the wait for its answer."""
        node_id = work.node_id
        await self._at_work(node_id)
        if not await self._action(node_id, work.item_id, f"{work.prefix}-ntd", pb.ACTION_TYPE_HP_NOTIFIED):
            return None
        # The provider answers the notice, a re-sent one, or the node's escalation at the removal deadline;
        # a notice from a hotline of another country (the no-member fallback) is answered as from abroad.
        node_config = self._network.nodes[node_id].config
        assert node_config is not None
        stage = work.plan.stages[work.stage_index]
        response_h = stage.response_h(
            abroad=self._country[node_id] != stage.hosting_country,
            resend_hours=self._network.scenario.world.resend_hours,
            escalation_h=node_config.removal_deadline.total_seconds() / 3600,
        )
        # None: the provider never answers (the node escalates at the deadline, to no avail); the content may
        # still go by itself.
        return await self._unless_gone(work, response_h, self._response)

    async def _response(self, work: _Work) -> _Next | None:
        """The provider's answer: the content moved to another host, or removed."""
        node_id, item_id, plan = work.node_id, work.item_id, work.plan
        if plan.stages[work.stage_index].moved_to:
            moved = case_pb.RecordActionRequest(
                request_id=f"{work.prefix}-moved",
                item_id=item_id,
                type=pb.ACTION_TYPE_MOVED,
                moved_to_country=plan.stages[work.stage_index].moved_to,
                note="the provider reports the content moved to another host",
            )
            response = await self._try(node_id, lambda c: c.cases.RecordAction(moved))
            if response is not None and response.item.state in _OPEN_FOR_LEA:
                # It moved within this hotline's own country: the work goes on here.
                state = int(response.item.state)
                self._spawn(self._assignee(node_id, item_id, plan, work.stage_index + 1, state))
            return None
        await self._action(node_id, item_id, f"{work.prefix}-removed", pb.ACTION_TYPE_CONTENT_REMOVED)
        return None

    async def _unless_gone(self, work: _Work, hours: float | None, then: _Step) -> _Next | None:
        """Wait `hours` (None: for ever) and go on with `then`, unless the content goes offline by itself first
        (`plan.vanish_h`): then record CONTENT_UNAVAILABLE when it goes, and end. Content that never vanishes
        is a plain wait."""
        plan = work.plan
        elapsed = (self._clock.now() - self._network.scenario.start).total_seconds() / 3600.0
        gone_at = None if plan.vanish_h is None else plan.at_h + plan.vanish_h
        if gone_at is None or (hours is not None and elapsed + hours < gone_at):
            if hours is None:
                return None
            seconds = max(0.0, hours * 3600.0 / self._clock.scale)
            if seconds > 0:
                return seconds, then
            await asyncio.sleep(0)  # as a sleep of zero would
            return await then(work)
        seconds = self._seconds_until(self._network.scenario.start + timedelta(hours=gone_at))
        if seconds > 0:
            return seconds, self._gone
        return await self._gone(work)

    async def _gone(self, work: _Work) -> _Next | None:
        await self._action(work.node_id, work.item_id, f"{work.prefix}-gone", pb.ACTION_TYPE_CONTENT_UNAVAILABLE)
        return None

    async def _state(self, node_id: str, item_id: str) -> int | None:
        """The item's state as the node reads it now (None: the read was refused)."""
        got = await self._try(node_id, lambda c: c.cases.GetItem(case_pb.GetItemRequest(item_id=item_id)))
        return None if got is None else int(got.item.state)

    async def _assess(self, node_id: str, item_id: str, request_id: str, classification: str) -> int | None:
        """Assess the item as `classification`; its state after (None: the node refused)."""
        request = case_pb.AssessItemRequest(
            request_id=request_id, item_id=item_id, assessment=_assessment(classification)
        )
        assessed = await self._try(node_id, lambda c: c.cases.AssessItem(request))
        return None if assessed is None else int(assessed.item.state)

    async def _hold(self, node_id: str, item_id: str, request_id: str, reference: str, hours: float) -> datetime | None:
        """The police place a hold of `hours`; when it ends (None: the node refused it)."""
        until = Timestamp()
        until.FromDatetime(self._clock.now() + timedelta(hours=hours))
        hold = lea_pb.PlaceHoldRequest(request_id=request_id, item_id=item_id, until=until, reference=reference)
        if await self._try(node_id, lambda c: c.lea.PlaceHold(hold)) is None:
            return None
        ends: datetime = until.ToDatetime().replace(tzinfo=self._clock.now().tzinfo)
        return ends

    async def _action(self, node_id: str, item_id: str, request_id: str, action: int) -> bool:
        request = case_pb.RecordActionRequest(request_id=request_id, item_id=item_id, type=action)  # type: ignore[arg-type]
        return await self._try(node_id, lambda c: c.cases.RecordAction(request)) is not None

    # ------------------------------------------------------------------------------------------ events

    async def _watch(self, node_id: str) -> None:
        """Follow the node's event stream; resume from the last cursor after the node restarts."""
        while not self._stopping:
            client = self._network.nodes[node_id].client
            assert client is not None
            try:
                stream = client.events.StreamEvents(
                    event_pb.StreamEventsRequest(after_cursor=self._cursors.get(node_id, ""), kinds=_WATCHED)
                )
                async for message in stream:
                    if not message.HasField("event"):  # a heartbeat
                        continue
                    event = message.event
                    self._cursors[node_id] = event.cursor
                    if event.event_kind == pb.EVENT_KIND_REFERRAL_RECEIVED or (
                        event.event_kind == pb.EVENT_KIND_STATUS_APPLIED and event.state == pb.ITEM_STATE_AWAITING_LEA
                    ):
                        self._spawn(self._take_on(node_id, event.item_id))
            except grpc.aio.AioRpcError as error:
                if error.code() not in _RETRY:
                    _log.warning("sim.stream_failed", node_id=node_id, code=error.code().name)
            await asyncio.sleep(0.1)

    async def _take_on(self, node_id: str, item_id: str) -> None:
        found = await self._assignment(node_id, item_id)
        if found is not None:
            await self._assignee(node_id, item_id, *found)

    async def _assignment(self, node_id: str, item_id: str) -> tuple[ReportPlan, int, int] | None:
        """An item on the node's stream that is the node's to work on: its plan, stage and state."""
        got = await self._try(node_id, lambda c: c.cases.GetItem(case_pb.GetItemRequest(item_id=item_id)))
        if got is None:
            return None
        item = got.item
        if item.assigned_node != node_id or item.state not in (*_OPEN_FOR_LEA,):
            return None
        plan = self._workload.plan_for_url(item.url)
        if plan is None:
            _log.warning("sim.unplanned_item", node_id=node_id, item_id=item_id)
            return None
        country = item.hosting.country
        stage_index = next((i for i, s in enumerate(plan.stages) if s.hosting_country == country), 0)
        return plan, stage_index, int(item.state)


def _assessment(classification: str) -> pb.Assessment:
    if classification == "NOT_ILLEGAL":
        return pb.Assessment(classification=pb.CLASSIFICATION_NOT_ILLEGAL)
    return pb.Assessment(
        classification=_CLASSIFICATION[classification],
        age_group=pb.AGE_GROUP_PREPUBESCENT,
        gender=pb.GENDER_FEMALE,
        content_type=pb.CONTENT_TYPE_IMAGE,
        site_type=pb.SITE_TYPE_IMAGE_HOST,
        commerciality=pb.COMMERCIALITY_NON_COMMERCIAL,
    )
