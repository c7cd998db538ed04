"""LEA holds belong to the token that placed them (or its group, where the node allows it), and removal waits
for them: CONTENT_REMOVED under an active hold is FAILED_PRECONDITION with reason HOLD_ACTIVE until the LEA
clears removal (LeaService.ClearRemoval) or releases the hold; content found unavailable at the host under a
hold is an observation that leaves the item open and the hold in place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc

from node.api._gen.hotline.node.v1 import case_service_pb2 as case_pb
from node.api._gen.hotline.node.v1 import lea_service_pb2 as lea_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.client import NodeClient
from node.app import Node
from node.cases.model import Role
from node.clock import ManualClock
from tests.api._support import action, assess, get_item, submit, timeline_kinds
from tests.api.test_stream_bounds import _reason
from tests.conftest import Served, serving


async def _held(served: Served, url: str, lea: NodeClient | None = None) -> str:
    item_id = (await submit(served, url)).item_id
    await assess(served, item_id, pb.CLASSIFICATION_NATIONAL)
    await action(served, item_id, pb.ACTION_TYPE_LEA_NOTIFIED)
    await (lea or served.lea).lea.PlaceHold(lea_pb.PlaceHoldRequest(item_id=item_id, reference="op-1"))
    return item_id


def _lea(served: Served, name: str, group: str = "") -> NodeClient:
    _, presented = served.node.access.create_token("test", name, [Role.LEA], group=group)
    return NodeClient(served.target, presented)


async def _remove(
    served: Served, item_id: str, kind: pb.ActionType = pb.ACTION_TYPE_CONTENT_REMOVED
) -> grpc.aio.AioRpcError:
    try:
        await served.analyst.cases.RecordAction(case_pb.RecordActionRequest(item_id=item_id, type=kind))
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the removal was accepted")


async def test_removal_under_an_active_hold_is_refused_with_hold_active(served: Served) -> None:
    item_id = await _held(served, "https://nl.host.example/hold/removed")
    before = await get_item(served, item_id)
    error = await _remove(served, item_id)
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION and _reason(error) == "HOLD_ACTIVE"
    after = await get_item(served, item_id)
    assert (after.state, len(after.actions)) == (before.state, len(before.actions))  # nothing written
    ntd = await _remove(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)
    assert _reason(ntd) == "HOLD_ACTIVE"
    # Released: the removal goes ahead.
    await served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id))
    assert (await action(served, item_id, pb.ACTION_TYPE_CONTENT_REMOVED)).state == pb.ITEM_STATE_CLOSED_REMOVED


async def test_a_clearance_lets_removal_close_the_item_and_end_the_hold(served: Served) -> None:
    item_id = await _held(served, "https://nl.host.example/hold/cleared")
    cleared = (await served.lea.lea.ClearRemoval(lea_pb.ClearRemovalRequest(item_id=item_id, request_id="c-1"))).item
    assert cleared.active_hold.HasField("cleared_at") and cleared.active_hold.cleared_by == "test-lea"
    again = (await served.lea.lea.ClearRemoval(lea_pb.ClearRemovalRequest(item_id=item_id, request_id="c-1"))).item
    assert again.active_hold.cleared_at == cleared.active_hold.cleared_at
    assert _reason(await _remove(served, item_id, pb.ACTION_TYPE_HP_NOTIFIED)) == "HOLD_ACTIVE"  # the NTD waits
    closed = await action(served, item_id, pb.ACTION_TYPE_CONTENT_REMOVED)
    assert closed.state == pb.ITEM_STATE_CLOSED_REMOVED and not closed.HasField("active_hold")
    kinds = await timeline_kinds(served, item_id)
    assert kinds.count("hold.cleared") == 1
    assert kinds[-3:] == ["action.recorded", "hold.released", "item.closed"]


async def test_content_gone_at_the_host_under_a_hold_is_an_observation_only(served: Served) -> None:
    item_id = await _held(served, "https://nl.host.example/hold/gone")
    observed = await action(served, item_id, pb.ACTION_TYPE_CONTENT_UNAVAILABLE, note="404 at the host")
    assert observed.state == pb.ITEM_STATE_LEA_NOTIFIED and observed.HasField("active_hold")
    assert not observed.HasField("closed_at")
    assert "hold.removal_observed" in await timeline_kinds(served, item_id)
    await served.lea.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id))
    closed = await action(served, item_id, pb.ACTION_TYPE_CONTENT_UNAVAILABLE)
    assert closed.state == pb.ITEM_STATE_CLOSED_UNAVAILABLE


async def test_another_lea_token_may_neither_release_nor_clear_a_hold(served: Served) -> None:
    item_id = await _held(served, "https://nl.host.example/hold/other")
    other = _lea(served, "police-2")
    try:
        for call in (
            other.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id)),
            other.lea.ClearRemoval(lea_pb.ClearRemovalRequest(item_id=item_id)),
        ):
            got = await _try(call)
            assert got.code() is grpc.StatusCode.PERMISSION_DENIED and _reason(got) == "NOT_OWNER"
    finally:
        await other.close()
    item = await get_item(served, item_id)
    assert item.HasField("active_hold") and not item.active_hold.HasField("cleared_at")


async def _try(call: object) -> grpc.aio.AioRpcError:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


async def test_a_token_of_the_same_group_releases_only_where_the_node_allows(
    make_node: Callable[..., Node], tmp_path: Path, clock: ManualClock
) -> None:
    for allowed in (False, True):
        suffix = "yes" if allowed else "no"
        database = f"sqlite+pysqlite:///{tmp_path}/{suffix}.db"
        async with serving(make_node(database, lea_group_may_release=allowed), clock) as served:
            placer = _lea(served, f"kripo-a-{suffix}", group=f"kripo-{suffix}")
            colleague = _lea(served, f"kripo-b-{suffix}", group=f"kripo-{suffix}")
            stranger = _lea(served, f"other-{suffix}", group="elsewhere")
            try:
                item_id = await _held(served, f"https://nl.host.example/hold/group/{suffix}", placer)
                denied = await _try(stranger.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id)))
                assert _reason(denied) == "NOT_OWNER"
                if allowed:
                    released = await colleague.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id))
                    assert not released.item.HasField("active_hold")
                else:
                    denied = await _try(colleague.lea.ReleaseHold(lea_pb.ReleaseHoldRequest(item_id=item_id)))
                    assert _reason(denied) == "NOT_OWNER"
            finally:
                for client in (placer, colleague, stranger):
                    await client.close()
