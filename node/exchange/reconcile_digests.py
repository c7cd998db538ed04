"""Reconciliation's day buckets: which bucket an item falls in, the digest (count, RFC 9162 Merkle root) of each
bucket, and the protobuf form of a view (its digests, buckets and items), read back with its malformations
refused."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from node.api._gen.hotline.exchange.v1 import messages_pb2
from node.crypto.merkle import MerkleTree, leaf_hash
from node.errors import InvalidArgument
from node.exchange.ports import ReferralCopy, SharedItem
from node.exchange.reconcile_types import ReconcileRefused
from node.proto_types import timestamp, timestamp_from_proto

__all__ = [
    "BUCKET",
    "bucket_digests",
    "bucket_of",
    "bucket_start",
    "digests_of",
    "item_key",
    "range_of",
    "time_of",
    "view_message",
]

BUCKET = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_of(at: datetime) -> datetime:
    return _EPOCH + ((at - _EPOCH) // BUCKET) * BUCKET


def _leaf(item: SharedItem) -> bytes:
    state = "withdrawn" if item.withdrawn else str(item.status_sequence)
    return leaf_hash(f"{item.origin_node}\n{item.origin_item_id}\n{state}".encode())


def bucket_digests(items: Iterable[SharedItem]) -> dict[datetime, tuple[int, bytes]]:
    """(count, Merkle root) of each bucket with items; the items of a bucket sorted by their reference."""
    buckets: dict[datetime, list[SharedItem]] = {}
    for item in items:
        buckets.setdefault(bucket_of(item.first_reported_at), []).append(item)
    return {
        start: (len(group), MerkleTree([_leaf(i) for i in sorted(group, key=item_key)]).root)
        for start, group in buckets.items()
    }


def item_key(item: SharedItem) -> tuple[str, str]:
    return item.origin_node, item.origin_item_id


def view_message(
    since: datetime,
    until: datetime,
    digests: dict[datetime, tuple[int, bytes]],
    detail_for: Sequence[datetime],
    items: Sequence[SharedItem],
    copies: Sequence[ReferralCopy] = (),
) -> messages_pb2.ReconcileView:
    return messages_pb2.ReconcileView(
        since=timestamp(since),
        until=timestamp(until),
        buckets=[
            messages_pb2.BucketDigest(start=timestamp(start), count=count, root=root)
            for start, (count, root) in sorted(digests.items())
        ],
        detail_for=[_stamp(b) for b in detail_for],
        items=[_to_proto(i) for i in items],
        referral_copies=[
            messages_pb2.ReferralCopy(signed_referral=c.signed_referral, receipt=c.receipt) for c in copies
        ],
    )


def digests_of(view: messages_pb2.ReconcileView) -> dict[datetime, tuple[int, bytes]]:
    return {time_of(b, "start"): (b.count, b.root) for b in view.buckets}


def range_of(view: messages_pb2.ReconcileView) -> tuple[datetime, datetime]:
    return time_of(view, "since"), time_of(view, "until")


def time_of(message: Any, name: str) -> datetime:
    try:
        value = timestamp_from_proto(message, name, field=name)
    except InvalidArgument as error:
        raise ReconcileRefused("invalid", "MALFORMED", str(error)) from None
    if value is None:
        raise ReconcileRefused("invalid", "MALFORMED", f"{name} is missing")
    return value


def bucket_start(stamp: Timestamp) -> datetime:
    try:
        start = stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ReconcileRefused("invalid", "MALFORMED", "detail_for holds a time out of range") from None
    if start != bucket_of(start):
        raise ReconcileRefused("invalid", "MALFORMED", "detail_for holds a time that starts no bucket")
    return start


def _stamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _to_proto(item: SharedItem) -> messages_pb2.SharedItem:
    return messages_pb2.SharedItem(
        origin_node=item.origin_node,
        origin_item_id=item.origin_item_id,
        status_sequence=item.status_sequence,
        first_reported_at=timestamp(item.first_reported_at),
        withdrawn=item.withdrawn,
    )
