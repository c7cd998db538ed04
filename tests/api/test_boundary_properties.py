"""A property of the error boundary, on SQLite and PostgreSQL: whatever a caller puts in any string field of
any integrator RPC (control characters, NUL, long text, lookalike ids), or whatever bytes it sends, the answer
is OK or a canonical refusal with google.rpc details and a log reference; never UNKNOWN or INTERNAL, and never
an exception's text or another caller's data."""

from __future__ import annotations

from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.api._gen.hotline.node.v1 import types_pb2 as pb
from tests.api._boundary import RPCS, call, request_class, string_paths, with_value
from tests.api._support import report
from tests.conftest import Served

CANONICAL_REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}
# Another caller's report, made before the examples run: none of it may appear in any answer.
OTHER = pb.Reporter(name="Other Caller Name", email="other.caller@mail.example", reference="other-ref-5521")
FIELDS = [(name, path) for name, method in RPCS for path in string_paths(method.input_type)]
UUID_LIKE = st.from_regex(r"\A[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=20),
    st.text(min_size=190, max_size=260),
    UUID_LIKE,
    st.sampled_from(["ZZ", "nl", "https://nl.host.example/p", "e1:²", "hx_", "..", "\x00", "a\nb"]),
)
REQUESTS = st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), min_size=1, max_size=4)
_prepared: list[Served] = []


async def _other_caller(served: Served) -> None:
    if not any(one is served for one in _prepared):
        _prepared.append(served)
        await served.intake.intake.SubmitReport(report("https://nl.host.example/other/caller", reporter=OTHER))


def _check(outcome: Any, label: str) -> None:
    if outcome.code is grpc.StatusCode.OK:
        return
    assert outcome.code in CANONICAL_REFUSALS, f"{label}: {outcome.code} {outcome.message!r}"
    assert outcome.reason and outcome.reference, f"{label}: no ErrorInfo or RequestInfo in {outcome}"
    for leaked in ("Traceback", "Exception", "sqlalchemy", "psycopg", "sqlite3", OTHER.name, OTHER.email):
        assert leaked not in outcome.text, f"{label}: {leaked!r} in {outcome.text!r}"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=REQUESTS)
async def test_any_string_in_any_field_gets_a_canonical_answer(served_each: Served, fields: Any) -> None:
    await _other_caller(served_each)
    by_rpc: dict[str, list[tuple[str, str]]] = {}
    for (full_name, path), value in fields:
        by_rpc.setdefault(full_name, []).append((path, value))
    for full_name, values in by_rpc.items():
        method = next(m for n, m in RPCS if n == full_name)
        request = request_class(method)()
        for path, value in values:
            with_value(request, path, value)
        _check(await call(served_each, full_name, request), f"{full_name} {values!r}")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rpc=st.sampled_from([name for name, _ in RPCS]), raw=st.binary(max_size=64))
async def test_any_bytes_to_any_rpc_get_a_canonical_answer(served_each: Served, rpc: str, raw: bytes) -> None:
    await _other_caller(served_each)
    _check(await call(served_each, rpc, raw), f"{rpc} {raw!r}")
