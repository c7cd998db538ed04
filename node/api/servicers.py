"""gRPC servicers of the integrator API: each turns a request into one call on the domain services.

Domain calls block (they run database transactions), so they run on a thread pool, never on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from grpc import aio

from node import proto_types
from node.access import AccessService
from node.aio import wait_event
from node.api import serde
from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import admin_service_pb2_grpc as admin_grpc
from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import case_service_pb2_grpc as case_grpc
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import event_service_pb2_grpc as event_grpc
from node.api._gen.hotline.node.v1 import federation_admin_service_pb2_grpc as fa_grpc
from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api._gen.hotline.node.v1 import intake_service_pb2_grpc as intake_grpc
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2_grpc as lea_grpc
from node.api.auth import current_principal
from node.api.federation_admin import SERVICE_NAME as FEDERATION_ADMIN
from node.api.federation_admin import FederationAdminServicer
from node.api.intake_batcher import IntakeBatcher
from node.api.streams import CHECK_SECONDS, OpenStreams, StreamLimits
from node.cases.event_kinds import EventKind
from node.cases.fields import check_counter, check_token_id, check_uuid
from node.cases.model import Classification, ItemState, Role
from node.cases.requests import HostingOverride, NewAction
from node.cases.service import CaseService
from node.errors import InvalidArgument, Reason, Unauthenticated
from node.exchange.admin import FederationAdmin
from node.hashes import ContentHash

__all__ = ["API_SERVICES", "Backend", "EventNotifier", "add_servicers"]

T = TypeVar("T")
Context = aio.ServicerContext[Any, Any]

_STREAM_BATCH = 500
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_EVENT_PAGE = 1000
MAX_IMPORT = 100_000


class EventNotifier:
    """Wakes event streams (and other listeners on the loop) when a transaction that wrote events commits.
    `notify` is safe to call from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._listeners: list[Callable[[], None]] = []
        self.version = 0
        """Incremented by every notification: a waiter compares it with what it saw before reading."""
        # Once every commit that writes events tells their kinds (`events_written`): a count of those commits,
        # and the count at each kind's last one. Until then a notification may mean events of any kind.
        self._kinds_told = False
        self.writes = 0
        self._written: dict[str, int] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Event()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """`listener` runs on the event loop after each commit."""
        self._listeners.append(listener)

    def tell_kinds(self) -> None:
        """Every commit that writes events calls `events_written` before notifying (no other process writes)."""
        self._kinds_told = True

    def events_written(self, kinds: frozenset[str]) -> None:
        """A commit wrote events of `kinds` (on the committing thread, before its notification)."""
        self.writes += 1
        for kind in kinds:
            self._written[kind] = self.writes

    def written_since(self, writes: int, kinds: frozenset[EventKind] | None) -> bool:
        """Whether events (of `kinds`, if given) may have been committed since `writes` was read."""
        if not self._kinds_told:
            return True
        if kinds is None:
            return self.writes > writes
        return any(self._written.get(kind, 0) > writes for kind in kinds)

    def notify(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        self.version += 1
        if self._changed is not None:
            # Every waiter holds the event it began waiting on; the next ones get a fresh one.
            self._changed.set()
            self._changed = asyncio.Event()
        for listener in self._listeners:
            listener()

    async def wait_after(self, version: int, seconds: float) -> bool:
        """Wait until a notification later than `version` (at once if there was one), or `seconds` pass.
        True if notified: none is missed between reading `version` and waiting."""
        if self.version != version:
            return True
        assert self._changed is not None
        return await wait_event(self._changed, seconds)


class Backend:
    """What the servicers share: the domain services and the pool their blocking calls run on."""

    def __init__(
        self,
        cases: CaseService,
        access: AccessService,
        executor: Executor,
        notifier: EventNotifier,
        federation: FederationAdmin,
        streams: OpenStreams | None = None,
    ) -> None:
        self.cases = cases
        self.federation = federation
        self.access = access
        self.executor = executor
        self.notifier = notifier
        self.streams = streams or OpenStreams(StreamLimits())
        self.intake = IntakeBatcher(cases, self.run)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)

    async def call(self, _context: Context, fn: Callable[..., T], *args: Any) -> T:
        """Run a domain call off the loop. Whatever it raises ends the RPC in the error boundary
        (node.api.boundary), which every RPC runs inside."""
        return await self.run(fn, *args)


def _page_size(value: int, default: int, maximum: int) -> int:
    if value < 0:
        raise InvalidArgument("must not be negative", field="page_size")
    return min(value or default, maximum)


class IntakeServicer(intake_grpc.IntakeServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def SubmitReport(
        self, request: intake_pb.SubmitReportRequest, context: Context
    ) -> intake_pb.SubmitReportResponse:
        new_report = serde.report_request_from_proto(request)
        report = await self._b.intake.submit(current_principal(), new_report, request.request_id)
        return intake_pb.SubmitReportResponse(report=serde.report_to_proto(report, show_new_item=False))

    async def GetReport(self, request: intake_pb.GetReportRequest, context: Context) -> intake_pb.GetReportResponse:
        principal = current_principal()
        report = await self._b.call(context, self._b.cases.get_report, request.report_id, principal)
        return intake_pb.GetReportResponse(
            report=serde.report_to_proto(report, show_new_item=Role.ANALYST in principal.roles)
        )


class CaseServicer(case_grpc.CaseServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def GetItem(self, request: case_pb.GetItemRequest, context: Context) -> case_pb.GetItemResponse:
        item = await self._b.call(context, self._b.cases.get_item, request.item_id)
        return case_pb.GetItemResponse(item=serde.item_to_proto(item))

    async def ListItems(self, request: case_pb.ListItemsRequest, context: Context) -> case_pb.ListItemsResponse:
        def list_items() -> case_pb.ListItemsResponse:
            size = _page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            after = serde.decode_token(request.page_token, "i", check=check_uuid)
            state = proto_types.enum_from_proto(ItemState, request.state, field="state") if request.state else None
            items = self._b.cases.list_items(
                state=state,
                hosting_country=request.hosting_country,
                after_item_id=after,
                limit=size + 1,
                origin_node=request.origin_node or None,
                updated_since=proto_types.timestamp_from_proto(request, "updated_since", field="updated_since"),
            )
            more = len(items) > size
            items = items[:size]
            token = serde.encode_token("i", items[-1].item_id) if more and items else ""
            return case_pb.ListItemsResponse(items=[serde.item_to_proto(i) for i in items], next_page_token=token)

        return await self._b.call(context, list_items)

    async def GetItemTimeline(
        self, request: case_pb.GetItemTimelineRequest, context: Context
    ) -> case_pb.GetItemTimelineResponse:
        events = await self._b.call(context, self._b.cases.timeline, request.item_id)
        return case_pb.GetItemTimelineResponse(events=[serde.event_to_proto(e) for e in events])

    async def AssessItem(self, request: case_pb.AssessItemRequest, context: Context) -> case_pb.AssessItemResponse:
        principal = current_principal()

        def assess() -> case_pb.AssessItemResponse:
            assessment = proto_types.assessment_from_proto(request.assessment)
            attested = [
                proto_types.content_hash_from_proto(h, field=f"attested_hashes[{i}]")
                for i, h in enumerate(request.attested_hashes)
            ]
            item = self._b.cases.assess(principal, request.item_id, assessment, request.request_id, attested)
            return case_pb.AssessItemResponse(item=serde.item_to_proto(item))

        return await self._b.call(context, assess)

    async def TraceHosting(
        self, request: case_pb.TraceHostingRequest, context: Context
    ) -> case_pb.TraceHostingResponse:
        item = await self._b.call(
            context, self._b.cases.trace_hosting, current_principal(), request.item_id, request.request_id
        )
        return case_pb.TraceHostingResponse(item=serde.item_to_proto(item))

    async def OverrideHosting(
        self, request: case_pb.OverrideHostingRequest, context: Context
    ) -> case_pb.OverrideHostingResponse:
        principal = current_principal()

        def override() -> case_pb.OverrideHostingResponse:
            facts = serde.hosting_from_proto(request.hosting)
            item = self._b.cases.override_hosting(
                principal, request.item_id, HostingOverride(facts, request.reason), request.request_id
            )
            return case_pb.OverrideHostingResponse(item=serde.item_to_proto(item))

        return await self._b.call(context, override)

    async def RecordAction(
        self, request: case_pb.RecordActionRequest, context: Context
    ) -> case_pb.RecordActionResponse:
        principal = current_principal()

        def record() -> case_pb.RecordActionResponse:
            from node.cases.model import ActionType

            action_type = proto_types.enum_from_proto(ActionType, request.type, field="type")
            item, action = self._b.cases.record_action(
                principal,
                request.item_id,
                NewAction(action_type, request.note, request.moved_to_country),
                request.request_id,
            )
            return case_pb.RecordActionResponse(item=serde.item_to_proto(item), action=serde.action_to_proto(action))

        return await self._b.call(context, record)

    async def WithdrawReferral(
        self, request: case_pb.WithdrawReferralRequest, context: Context
    ) -> case_pb.WithdrawReferralResponse:
        item = await self._b.call(
            context,
            self._b.cases.withdraw_referral,
            current_principal(),
            request.item_id,
            request.reason,
            request.request_id,
        )
        return case_pb.WithdrawReferralResponse(item=serde.item_to_proto(item))

    async def DisputeKnownMatch(
        self, request: case_pb.DisputeKnownMatchRequest, context: Context
    ) -> case_pb.DisputeKnownMatchResponse:
        item = await self._b.call(
            context,
            self._b.cases.dispute_known_match,
            current_principal(),
            request.item_id,
            request.reason,
            request.request_id,
        )
        return case_pb.DisputeKnownMatchResponse(item=serde.item_to_proto(item))

    async def ListReceipts(
        self, request: case_pb.ListReceiptsRequest, context: Context
    ) -> case_pb.ListReceiptsResponse:
        receipts = await self._b.call(context, self._b.cases.receipts, request.item_id)
        return case_pb.ListReceiptsResponse(
            receipts=[
                case_pb.DeliveryReceipt(
                    message_id=m, peer_node=p, accepted_at=proto_types.timestamp(at), signed_receipt=r
                )
                for m, p, at, r in receipts
            ]
        )


class LeaServicer(lea_grpc.LeaServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def PlaceHold(self, request: lea_pb.PlaceHoldRequest, context: Context) -> lea_pb.PlaceHoldResponse:
        principal = current_principal()

        def place() -> lea_pb.PlaceHoldResponse:
            until = proto_types.timestamp_from_proto(request, "until", field="until")
            item = self._b.cases.place_hold(principal, request.item_id, until, request.reference, request.request_id)
            return lea_pb.PlaceHoldResponse(item=serde.item_to_proto(item))

        return await self._b.call(context, place)

    async def ReleaseHold(self, request: lea_pb.ReleaseHoldRequest, context: Context) -> lea_pb.ReleaseHoldResponse:
        item = await self._b.call(
            context, self._b.cases.release_hold, current_principal(), request.item_id, request.request_id
        )
        return lea_pb.ReleaseHoldResponse(item=serde.item_to_proto(item))

    async def ClearRemoval(self, request: lea_pb.ClearRemovalRequest, context: Context) -> lea_pb.ClearRemovalResponse:
        item = await self._b.call(
            context, self._b.cases.clear_removal, current_principal(), request.item_id, request.request_id
        )
        return lea_pb.ClearRemovalResponse(item=serde.item_to_proto(item))


class EventServicer(event_grpc.EventServiceServicer):
    def __init__(self, backend: Backend, heartbeat_seconds: float = 30.0, check_seconds: float = CHECK_SECONDS) -> None:
        self._b = backend
        self._heartbeat = heartbeat_seconds
        self._check = check_seconds

    async def StreamEvents(
        self, request: event_pb.StreamEventsRequest, context: Context
    ) -> AsyncIterator[event_pb.StreamEventsResponse]:
        """The backlog after the cursor, then live events (of the kinds asked for, if any); bounded as
        node.api.streams describes."""
        principal = current_principal()
        after = await self._b.call(context, _cursor, request.after_cursor, "after_cursor")
        kinds = serde.event_kinds_from_proto(request.kinds, field="kinds")  # None: every kind
        notifier, limits = self._b.notifier, self._b.streams.limits
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + limits.max_age_seconds
        last_sent = loop.time()
        with self._b.streams.opened(principal.token_id):
            read = True
            while True:
                if read:
                    version, writes = notifier.version, notifier.writes
                    events = await self._b.call(
                        context, functools.partial(self._b.cases.list_events, after_seq=after, limit=_STREAM_BATCH)
                    )
                    for event in events:
                        if kinds is not None and event.kind not in kinds:
                            after = event.seq  # skipped, as the client asked
                            continue
                        yield event_pb.StreamEventsResponse(event=serde.event_to_proto(event))
                        after = event.seq
                        last_sent = loop.time()
                    if len(events) == _STREAM_BATCH:
                        continue  # more backlog
                now = loop.time()
                if now >= ends_at:
                    return  # the maximum age: the client resumes from its last cursor
                if now - last_sent >= self._heartbeat:
                    yield event_pb.StreamEventsResponse()  # a heartbeat: no event
                    last_sent = now
                if not await self._b.run(self._b.access.still_valid, principal.token_id):
                    raise Unauthenticated("the bearer token was revoked or has expired; the stream ends")
                # Woken at once by a commit; at the latest for the next heartbeat, token check or the end of age.
                wait = min(self._check, ends_at - now, self._heartbeat - (now - last_sent))
                read = await notifier.wait_after(version, max(0.0, wait))
                if read and not notifier.written_since(writes, kinds):
                    read, version = False, notifier.version  # no event it asks for since it read: nothing to read

    async def ListEvents(self, request: event_pb.ListEventsRequest, context: Context) -> event_pb.ListEventsResponse:
        def list_events() -> event_pb.ListEventsResponse:
            size = _page_size(request.page_size, 100, MAX_EVENT_PAGE)
            after = _cursor(request.page_token, "page_token")
            events = self._b.cases.list_events(after_seq=after, limit=size + 1)
            more = len(events) > size
            events = events[:size]
            # Caught up: an empty token ends the paging (AIP-158); the last event's cursor resumes later.
            token = serde.encode_token("e", str(events[-1].seq)) if more else ""
            return event_pb.ListEventsResponse(events=[serde.event_to_proto(e) for e in events], next_page_token=token)

        return await self._b.call(context, list_events)

    async def GetStatistics(
        self, request: event_pb.GetStatisticsRequest, context: Context
    ) -> event_pb.GetStatisticsResponse:
        def statistics() -> event_pb.GetStatisticsResponse:
            overall, per_country = self._b.cases.statistics(
                start=proto_types.timestamp_from_proto(request, "period_start", field="period_start"),
                end=proto_types.timestamp_from_proto(request, "period_end", field="period_end"),
                hosting_country=request.hosting_country,
            )
            return event_pb.GetStatisticsResponse(
                overall=serde.statistics_to_proto(overall),
                by_hosting_country=[serde.statistics_to_proto(s) for s in per_country],
                peer_opinions=[
                    event_pb.PeerOpinions(peer_node=o.peer_node, agreements=o.agreements, disagreements=o.disagreements)
                    for o in self._b.cases.peer_opinions()
                ],
            )

        return await self._b.call(context, statistics)


class AdminServicer(admin_grpc.AdminServiceServicer):
    def __init__(self, backend: Backend) -> None:
        self._b = backend

    async def CreateToken(self, request: admin_pb.CreateTokenRequest, context: Context) -> admin_pb.CreateTokenResponse:
        actor = current_principal().name

        def create() -> admin_pb.CreateTokenResponse:
            roles = [proto_types.enum_from_proto(Role, r, field=f"roles[{i}]") for i, r in enumerate(request.roles)]
            expires_in = request.expires_in.ToTimedelta() if request.HasField("expires_in") else None
            token, secret = self._b.access.create_token(
                actor, request.name, roles, expires_in=expires_in, group=request.group
            )
            return admin_pb.CreateTokenResponse(token=serde.token_to_proto(token), secret=secret)

        return await self._b.call(context, create)

    async def RotateToken(self, request: admin_pb.RotateTokenRequest, context: Context) -> admin_pb.RotateTokenResponse:
        actor = current_principal().name

        def rotate() -> admin_pb.RotateTokenResponse:
            token_id = check_token_id(request.token_id, field="token_id")
            token, secret = self._b.access.rotate_token(actor, token_id, request.overlap.ToTimedelta())
            return admin_pb.RotateTokenResponse(token=serde.token_to_proto(token), secret=secret)

        return await self._b.call(context, rotate)

    async def RevokeToken(self, request: admin_pb.RevokeTokenRequest, context: Context) -> admin_pb.RevokeTokenResponse:
        token = await self._b.call(context, self._b.access.revoke_token, current_principal().name, request.token_id)
        return admin_pb.RevokeTokenResponse(token=serde.token_to_proto(token))

    async def ListTokens(self, request: admin_pb.ListTokensRequest, context: Context) -> admin_pb.ListTokensResponse:
        def list_tokens() -> admin_pb.ListTokensResponse:
            size = _page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            after = serde.decode_token(request.page_token, "t", check=check_token_id)
            tokens = self._b.access.list_tokens(after, size + 1)
            more = len(tokens) > size
            tokens = tokens[:size]
            next_token = serde.encode_token("t", tokens[-1].token_id) if more and tokens else ""
            return admin_pb.ListTokensResponse(
                tokens=[serde.token_to_proto(t) for t in tokens], next_page_token=next_token
            )

        return await self._b.call(context, list_tokens)

    async def ImportKnownHashes(
        self, request: admin_pb.ImportKnownHashesRequest, context: Context
    ) -> admin_pb.ImportKnownHashesResponse:
        principal = current_principal()

        def import_hashes() -> admin_pb.ImportKnownHashesResponse:
            if len(request.hashes) > MAX_IMPORT:
                raise InvalidArgument(
                    f"at most {MAX_IMPORT} hashes per call",
                    field="hashes",
                    reason=Reason.LIMIT_EXCEEDED,
                    metadata={"limit": str(MAX_IMPORT), "unit": "hashes"},
                )
            entries: list[tuple[ContentHash, Classification]] = []
            for i, known in enumerate(request.hashes):
                content_hash = proto_types.content_hash_from_proto(known.hash, field=f"hashes[{i}].hash")
                classification = proto_types.enum_from_proto(
                    Classification, known.classification, field=f"hashes[{i}].classification"
                )
                entries.append((content_hash, classification))
            imported, already = self._b.cases.import_known_hashes(
                principal, entries, request.source, request.request_id, request.version
            )
            return admin_pb.ImportKnownHashesResponse(imported=imported, already_known=already)

        return await self._b.call(context, import_hashes)


def _cursor(token: str, field: str) -> int:
    key = serde.decode_token(token, "e", field=field)
    return check_counter(key, field=field) if key else 0


API_SERVICES = [
    intake_pb.DESCRIPTOR.services_by_name["IntakeService"].full_name,
    case_pb.DESCRIPTOR.services_by_name["CaseService"].full_name,
    lea_pb.DESCRIPTOR.services_by_name["LeaService"].full_name,
    event_pb.DESCRIPTOR.services_by_name["EventService"].full_name,
    admin_pb.DESCRIPTOR.services_by_name["AdminService"].full_name,
    FEDERATION_ADMIN,
]
"""The full names of the integrator services (for reflection and health)."""


def add_servicers(
    server: aio.Server, backend: Backend, heartbeat_seconds: float = 30.0, *, event_poll_seconds: float = CHECK_SECONDS
) -> list[str]:
    """Register every integrator service; returns API_SERVICES. An idle StreamEvents sends an empty response
    every `heartbeat_seconds`, and looks for events written by another process (and checks its token) every
    `event_poll_seconds` (commits in this one wake it at once)."""
    intake_grpc.add_IntakeServiceServicer_to_server(IntakeServicer(backend), server)
    case_grpc.add_CaseServiceServicer_to_server(CaseServicer(backend), server)
    lea_grpc.add_LeaServiceServicer_to_server(LeaServicer(backend), server)
    event_grpc.add_EventServiceServicer_to_server(EventServicer(backend, heartbeat_seconds, event_poll_seconds), server)
    admin_grpc.add_AdminServiceServicer_to_server(AdminServicer(backend), server)
    fa_grpc.add_FederationAdminServiceServicer_to_server(
        FederationAdminServicer(backend.federation, backend.run), server
    )
    return list(API_SERVICES)
