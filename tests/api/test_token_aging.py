"""Tokens that age, and an authentication path that notices: expiry, last-used time, rotation with an overlap,
revocation seen by another node sharing the database within CACHE_SECONDS, a negative cache for unknown ids,
failed authentications counted and throttled per peer address (RESOURCE_EXHAUSTED with RetryInfo)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from node import access as access_module
from node.access import CACHE_SECONDS, LAST_USED_EVERY, TOKEN_EXPIRED, AccessService
from node.api._gen.hotline.node.v1 import admin_service_pb2 as admin_pb
from node.api._gen.hotline.node.v1 import event_service_pb2 as event_pb
from node.api._gen.hotline.node.v1 import types_pb2 as pb
from node.api.auth_guard import AUTH_THROTTLED, AuthGuard, peer_address
from node.api.client import NodeClient
from node.app import Node, build_node
from node.cases.model import Role
from node.clock import ManualClock
from node.config import MetricsConfig
from node.errors import InvalidArgument, NotFound, Reason, ResourceExhausted, Unauthenticated
from node.hosting import StaticResolver
from tests.conftest import HOSTING, node_config, serving
from tests.metrics.scrape import scrape, value


class _Monotonic:
    """Stands in for node.access's monotonic clock, so the cache's bound is crossed without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> _Monotonic:
    fake = _Monotonic()
    monkeypatch.setattr(access_module, "_monotonic", fake)
    return fake


class _CountingStore:
    """The node's store, counting the transactions opened through it."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.opened = 0

    def transaction(self, *, read_only: bool = False):  # type: ignore[no-untyped-def]
        self.opened += 1
        return self._store.transaction(read_only=read_only)  # type: ignore[attr-defined]


def test_an_expired_token_is_refused_with_its_reason(node: Node, clock: ManualClock, monotonic: _Monotonic) -> None:
    token, presented = node.access.create_token("test", "short-lived", [Role.INTAKE], expires_in=timedelta(days=30))
    assert token.expires_at == clock.now() + timedelta(days=30)
    assert node.access.authenticate(presented).token_id == token.token_id
    clock.advance(timedelta(days=30))
    with pytest.raises(Unauthenticated) as refused:
        node.access.authenticate(presented)
    assert refused.value.reason == TOKEN_EXPIRED
    assert "expired" in str(refused.value)


def test_a_token_cannot_be_created_already_expired(node: Node) -> None:
    with pytest.raises(InvalidArgument) as refused:
        node.access.create_token("test", "never", [Role.INTAKE], expires_in=timedelta(0))
    assert refused.value.field == "expires_in"


def test_last_used_is_written_at_most_once_a_minute(node: Node, clock: ManualClock, monotonic: _Monotonic) -> None:
    _token, presented = node.access.create_token("test", "form", [Role.INTAKE])
    assert node.access.list_tokens("", 10)[0].last_used_at is None
    first = clock.now()
    node.access.authenticate(presented)
    clock.advance(timedelta(seconds=30))
    monotonic.now += 30
    node.access.authenticate(presented)
    assert node.access.list_tokens("", 10)[0].last_used_at == first
    clock.advance(LAST_USED_EVERY)
    monotonic.now += 60
    node.access.authenticate(presented)
    assert node.access.list_tokens("", 10)[0].last_used_at == clock.now()


def test_rotation_keeps_the_old_secret_for_the_overlap_only(
    node: Node, clock: ManualClock, monotonic: _Monotonic
) -> None:
    token, old = node.access.create_token("test", "form", [Role.INTAKE], group="agency-a")
    rotated, new = node.access.rotate_token("test", token.token_id, timedelta(hours=1))
    assert (rotated.token_id, rotated.name, rotated.roles, rotated.group) == (
        token.token_id,
        token.name,
        token.roles,
        "agency-a",
    )
    assert new != old
    assert node.access.authenticate(old).token_id == token.token_id
    assert node.access.authenticate(new).group == "agency-a"
    clock.advance(timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="unknown bearer token"):
        node.access.authenticate(old)
    assert node.access.authenticate(new).token_id == token.token_id


def test_rotation_refuses_unknown_and_revoked_tokens(node: Node) -> None:
    with pytest.raises(NotFound):
        node.access.rotate_token("test", "0123456789abcdef", timedelta(hours=1))
    token, _ = node.access.create_token("test", "form", [Role.INTAKE])
    node.access.revoke_token("test", token.token_id)
    with pytest.raises(InvalidArgument, match="revoked"):
        node.access.rotate_token("test", token.token_id, timedelta(hours=1))


def test_a_revocation_on_another_node_takes_effect_within_the_cache_bound(
    make_node: Callable[..., Node], sqlite_url: str, monotonic: _Monotonic
) -> None:
    first, second = make_node(sqlite_url), make_node(sqlite_url)
    token, presented = first.access.create_token("test", "form", [Role.INTAKE])
    assert second.access.authenticate(presented).token_id == token.token_id
    first.access.revoke_token("test", token.token_id)
    monotonic.now += CACHE_SECONDS
    with pytest.raises(Unauthenticated, match="revoked"):
        second.access.authenticate(presented)
    assert second.access.still_valid(token.token_id) is False


def test_unknown_ids_are_cached_like_known_ones_and_answer_alike(node: Node, monotonic: _Monotonic) -> None:
    token, _presented = node.access.create_token("test", "form", [Role.INTAKE])
    counting = _CountingStore(node.store)
    access = AccessService(counting, node.clock)
    unknown = "hx_0123456789abcdef_" + "A" * 43
    wrong_secret = f"hx_{token.token_id}_" + "A" * 43
    messages = set()
    for presented_token in (unknown, wrong_secret, unknown, wrong_secret):
        with pytest.raises(Unauthenticated) as refused:
            access.authenticate(presented_token)
        messages.add((str(refused.value), refused.value.reason))
    assert messages == {("unknown bearer token", Reason.TOKEN_INVALID)}
    assert counting.opened == 2  # one lookup per id within the bound, whether the id exists or not
    monotonic.now += CACHE_SECONDS
    with pytest.raises(Unauthenticated):
        access.authenticate(unknown)
    assert counting.opened == 3


def test_the_guard_throttles_an_address_after_its_burst_and_says_when_to_retry() -> None:
    now = [0.0]
    seen: list[tuple[str, str]] = []
    guard = AuthGuard(
        burst=2, per_minute=60, on_failure=lambda reason, token: seen.append((reason, token)), monotonic=lambda: now[0]
    )
    for _ in range(2):
        guard.admit("192.0.2.7")
        guard.failed("192.0.2.7", "0123456789abcdef", "UNKNOWN_TOKEN")
    with pytest.raises(ResourceExhausted) as throttled:
        guard.admit("192.0.2.7")
    assert throttled.value.reason == AUTH_THROTTLED and throttled.value.retry_after == pytest.approx(1.0)
    guard.admit("198.51.100.9")  # another address has its own budget
    now[0] += 1.0
    guard.admit("192.0.2.7")  # refilled: one more attempt
    assert seen == [("UNKNOWN_TOKEN", "0123456789abcdef")] * 2


def test_peer_address_drops_the_port() -> None:
    assert peer_address("ipv4:192.0.2.1:5000") == "192.0.2.1"
    assert peer_address("ipv6:[2001:db8::1]:5000") == "2001:db8::1"
    assert peer_address("unix:/run/node.sock") == "unix:/run/node.sock"


async def test_failed_authentications_are_throttled_counted_and_logged_without_the_secret(
    sqlite_url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = replace(node_config(sqlite_url), auth_failure_burst=3, metrics=MetricsConfig("127.0.0.1:0"))
    node = build_node(config, clock=clock, resolver=StaticResolver(HOSTING))
    async with serving(node, clock) as served:
        secret = "B" * 43
        async with NodeClient(served.target, f"hx_0123456789abcdef_{secret}") as wrong:
            for _ in range(3):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await wrong.events.GetStatistics(event_pb.GetStatisticsRequest())
                assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as throttled:
                await wrong.events.GetStatistics(event_pb.GetStatisticsRequest())
        # The address's budget is spent: even a valid token from it waits, and is told how long.
        with pytest.raises(grpc.aio.AioRpcError) as also:
            await served.analyst.events.GetStatistics(event_pb.GetStatisticsRequest())
        assert node.metrics is not None
        scraped = await scrape(node.metrics.port)
    for caught in (throttled, also):
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(caught.value)
        assert status is not None
        kinds = {d.type_url.rsplit("/", 1)[-1]: d for d in status.details}
        retry = error_details_pb2.RetryInfo()
        kinds["google.rpc.RetryInfo"].Unpack(retry)
        assert retry.retry_delay.seconds >= 1 or retry.retry_delay.nanos > 0
        info = error_details_pb2.ErrorInfo()
        kinds["google.rpc.ErrorInfo"].Unpack(info)
        assert info.reason == AUTH_THROTTLED
    assert value(scraped, "hx_auth_failures_total", reason="TOKEN_INVALID") == 3
    assert value(scraped, "hx_auth_failures_total", reason=AUTH_THROTTLED) == 2
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "auth.failed" in text and "0123456789abcdef" in text
    assert secret not in text


async def test_the_admin_api_creates_with_an_expiry_and_a_group_and_rotates(served: Any) -> None:
    created = await served.admin.admin.CreateToken(
        admin_pb.CreateTokenRequest(
            name="agency-tool",
            roles=[pb.ROLE_LEA],
            group="kripo",
            expires_in=duration_pb2.Duration(seconds=86_400),
        )
    )
    info = created.token
    assert info.group == "kripo" and info.expires_at.ToDatetime() - info.created_at.ToDatetime() == timedelta(days=1)
    rotated = await served.admin.admin.RotateToken(
        admin_pb.RotateTokenRequest(token_id=info.token_id, overlap=duration_pb2.Duration(seconds=3600))
    )
    assert rotated.secret != created.secret and rotated.secret.startswith(f"hx_{info.token_id}_")
    assert rotated.token.previous_secret_valid_until.ToDatetime() - served.clock.now().replace(
        tzinfo=None
    ) == timedelta(hours=1)
    listed = await served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_size=100))
    mine = next(t for t in listed.tokens if t.token_id == info.token_id)
    assert mine.group == "kripo" and mine.HasField("expires_at")


@pytest.mark.parametrize(
    ("request_for", "field"),
    [
        (
            lambda: admin_pb.CreateTokenRequest(
                name="t", roles=[pb.ROLE_LEA], expires_in=duration_pb2.Duration(seconds=-1)
            ),
            "expires_in",
        ),
        (
            lambda: admin_pb.CreateTokenRequest(
                name="t", roles=[pb.ROLE_LEA], expires_in=duration_pb2.Duration(seconds=315_537_897_599)
            ),
            "expires_in",
        ),
        (lambda: admin_pb.CreateTokenRequest(name="t", roles=[pb.ROLE_LEA], group="has space"), "group"),
    ],
)
async def test_create_token_refuses_a_bad_expiry_or_group(
    served: Any, request_for: Callable[[], Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await served.admin.admin.CreateToken(request_for())
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")
    listed = await served.admin.admin.ListTokens(admin_pb.ListTokensRequest(page_size=100))
    assert "t" not in {t.name for t in listed.tokens}


async def test_rotate_token_refuses_an_unknown_token_and_a_long_overlap(served: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await served.admin.admin.RotateToken(admin_pb.RotateTokenRequest(token_id="0123456789abcdef"))
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    lea_id = served.tokens[Role.LEA].split("_")[1]
    with pytest.raises(grpc.aio.AioRpcError) as long:
        await served.admin.admin.RotateToken(
            admin_pb.RotateTokenRequest(token_id=lea_id, overlap=duration_pb2.Duration(seconds=31 * 86_400))
        )
    assert long.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "overlap" in (long.value.details() or "")
    # The token still works with its one secret.
    await served.lea.events.GetStatistics(event_pb.GetStatisticsRequest())


def test_token_cache_seconds_bounds_how_late_another_process_revocation_takes_effect(
    make_node: Callable[..., Node], sqlite_url: str, monotonic: _Monotonic
) -> None:
    node, other = make_node(sqlite_url, token_cache_seconds=600), make_node(sqlite_url)
    token, presented = node.access.create_token("test", "form", [Role.INTAKE])
    assert node.access.authenticate(presented).token_id == token.token_id
    other.access.revoke_token("test", token.token_id)  # another process sharing the database
    monotonic.now += 599
    assert node.access.authenticate(presented).token_id == token.token_id  # the record is still trusted
    monotonic.now += 1
    with pytest.raises(Unauthenticated, match="revoked"):
        node.access.authenticate(presented)


def test_token_last_used_seconds_bounds_how_often_last_use_is_written(
    make_node: Callable[..., Node], sqlite_url: str, clock: ManualClock, monotonic: _Monotonic
) -> None:
    node = make_node(sqlite_url, token_last_used_seconds=3600)
    _token, presented = node.access.create_token("test", "form", [Role.INTAKE])
    node.access.authenticate(presented)
    first = clock.now()
    clock.advance(timedelta(minutes=59))
    monotonic.now += 2
    node.access.authenticate(presented)
    assert node.access.list_tokens("", 10)[0].last_used_at == first
    clock.advance(timedelta(minutes=1))
    monotonic.now += 2
    node.access.authenticate(presented)
    assert node.access.list_tokens("", 10)[0].last_used_at == clock.now()
