"""A property of the error boundary, on SQLite and PostgreSQL: whatever a caller puts in any field of any
integrator RPC (any string: control characters, NUL, long text, lookalike ids; any number, enum or timestamp
across its wire range), or whatever bytes it sends, the answer is OK or a canonical refusal with google.rpc
details and a log reference; never UNKNOWN or INTERNAL, and never an exception's text or another caller's
data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
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


# Every number, enum, flag and timestamp of every request, with values across its whole wire range: a proto3
# enum takes any int32, a Timestamp any seconds and nanos, an int64 page size 2^63-1.
_NUMBERS = {
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_ENUM: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
}
_EDGES = st.sampled_from([0, -1, 1, 2**31 - 1, -(2**31)])


def _scalar_paths(descriptor: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, int | str]]:
    """(path, field type) of every non-string scalar, and (path, "timestamp") of every Timestamp."""
    for one in descriptor.fields:
        if one.is_repeated:
            continue
        path = f"{prefix}{one.name}"
        if one.type == FieldDescriptor.TYPE_MESSAGE:
            if one.message_type.full_name == "google.protobuf.Timestamp":
                yield path, "timestamp"
            elif depth < 3 and one.message_type.full_name.startswith("hotline"):
                yield from _scalar_paths(one.message_type, path + ".", depth + 1)
        elif one.type in _NUMBERS:
            yield path, one.type


SCALARS = [(name, path, kind) for name, method in RPCS for path, kind in _scalar_paths(method.input_type)]


@st.composite
def _scalar_value(draw: st.DrawFn, kind: int | str) -> Any:
    if kind == "timestamp":
        return (draw(st.one_of(st.integers(-(2**63), 2**63 - 1), _EDGES)), draw(st.integers(-(2**31), 2**31 - 1)))
    if kind in (FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_DOUBLE):
        return draw(_NUMBERS[int(kind)])
    unsigned = kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64)
    return draw(st.one_of(_NUMBERS[int(kind)], _EDGES.filter(lambda n: n >= 0) if unsigned else _EDGES))


def _set_scalar(request: Any, path: str, kind: int | str, value: Any) -> None:
    target = request
    *parents, last = path.split(".")
    for part in parents:
        target = getattr(target, part)
    if kind == "timestamp":
        stamp = getattr(target, last)
        stamp.seconds, stamp.nanos = value
    else:
        setattr(target, last, value)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_number_enum_or_time_in_any_field_gets_a_canonical_answer(served_each: Served, data: Any) -> None:
    await _other_caller(served_each)
    full_name, path, kind = data.draw(st.sampled_from(SCALARS))
    value = data.draw(_scalar_value(kind))
    method = next(m for n, m in RPCS if n == full_name)
    request = request_class(method)()
    _set_scalar(request, path, kind, value)
    _check(await call(served_each, full_name, request), f"{full_name} {path}={value!r}")


def test_the_numbers_cover_every_rpc_with_one() -> None:
    assert {name for name, _, _ in SCALARS} >= {"/hotline.node.v1.EventService/ListEvents"}
    assert any(kind == "timestamp" for _, _, kind in SCALARS)
