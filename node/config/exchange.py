"""The [exchange] section: the node-to-node listener and roster, the pinned network authority, the server's
connection and call limits, and when referrals leave (the referral cadence)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.config.addresses import _HOST_PORT, _https_url, _is_wildcard
from node.config.reading import _int, _num, _Paths, _str
from node.config.settings import ExchangeConfig
from node.errors import InvalidArgument
from node.exchange.cadence import ReferralCadence
from node.exchange.server_limits import ServerLimits

_SIGNING_KEY_ID = re.compile(r"^(ed25519|mldsa65):[0-9a-f]{16}$")


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _exchange(raw: Any, node_id: str, paths: _Paths) -> ExchangeConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table", field="exchange")
    listen = _str(raw, "listen", "exchange.listen", required=True)
    roster_file = paths(_str(raw, "roster_file", "exchange.roster_file", required=True))
    post_quantum = raw.get("post_quantum", False)
    if not isinstance(post_quantum, bool):
        raise InvalidArgument("must be true or false", field="exchange.post_quantum")
    key_dir = paths(_str(raw, "key_dir", "exchange.key_dir") or f"var/keys/{node_id}")
    advertise = _str(raw, "advertise", "exchange.advertise")
    if advertise and (not _HOST_PORT.match(advertise) or _is_wildcard(advertise)):
        raise InvalidArgument(
            "must be the host:port peers dial, for example hotline.example:50061 (not a wildcard address)",
            field="exchange.advertise",
        )
    proxy = _str(raw, "proxy", "exchange.proxy")
    if proxy and not _HOST_PORT.match(proxy):
        raise InvalidArgument("must be host:port, for example 127.0.0.1:3128", field="exchange.proxy")
    authority_key_ids, authority_threshold = _pinned_authority(raw)
    return ExchangeConfig(
        listen,
        roster_file,
        key_dir,
        post_quantum,
        advertise,
        proxy,
        max_clock_skew_seconds=_exchange_num(raw, "max_clock_skew_seconds", 300, 0, 86_400),
        rate_limit_records_per_second=_exchange_num(raw, "rate_limit_records_per_second", 2_000, 1, 1_000_000),
        rate_limit_bytes_per_second=_exchange_num(
            raw, "rate_limit_bytes_per_second", 16 * 1024 * 1024, 4096, 1024 * 1024 * 1024
        ),
        authority_key_ids=authority_key_ids,
        authority_threshold=authority_threshold,
        roster_check_seconds=_exchange_num(raw, "roster_check_seconds", 30, 1, 86_400),
        roster_expiry_warning=timedelta(days=_exchange_num(raw, "roster_expiry_warning_days", 14, 0, 365)),
        roster_catch_up_seconds=_exchange_num(raw, "roster_catch_up_seconds", 10, 0.1, 3600),
        audit_checkpoint_seconds=_exchange_num(raw, "audit_checkpoint_seconds", 3600, 1, 7 * 86_400),
        reconcile_seconds=_exchange_num(raw, "reconcile_seconds", 6 * 3600, 60, 7 * 86_400),
        reconcile_window_days=_exchange_num(raw, "reconcile_window_days", 30, 1, 400),
        server_limits=_server_limits(raw),
        roster_url=_https_url(_str(raw, "roster_url", "exchange.roster_url"), "exchange.roster_url"),
        roster_url_ca=paths(_str(raw, "roster_url_ca", "exchange.roster_url_ca")),
        referral_cadence=_referral_cadence(raw),
    )


def _referral_cadence(raw: Mapping[str, Any]) -> ReferralCadence:
    """`referral_batch_seconds` (0: at once), or `referral_batch_times` ("HH:MM", in `referral_batch_zone`)."""
    every = raw.get("referral_batch_seconds", 0)
    if isinstance(every, bool) or not isinstance(every, int | float) or not (every == 0 or 60 <= every <= 7 * 86_400):
        raise InvalidArgument(
            "must be 0 (referrals leave at once) or a number of seconds from 60 to 604800",
            field="exchange.referral_batch_seconds",
        )
    listed = raw.get("referral_batch_times", [])
    if not isinstance(listed, list) or not all(isinstance(v, str) and _CLOCK_TIME.match(v) for v in listed):
        raise InvalidArgument(
            'must be a list of times of day "HH:MM", for example ["09:00", "17:00"]',
            field="exchange.referral_batch_times",
        )
    times = tuple(time(int(v[:2]), int(v[3:])) for v in listed)
    if len(set(times)) != len(times):
        raise InvalidArgument("lists a time more than once", field="exchange.referral_batch_times")
    if every and times:
        raise InvalidArgument(
            "set referral_batch_seconds or referral_batch_times, not both", field="exchange.referral_batch_times"
        )
    zone = _str(raw, "referral_batch_zone", "exchange.referral_batch_zone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"unknown time zone {zone!r} (an IANA name, for example Europe/Berlin)",
            field="exchange.referral_batch_zone",
        ) from None
    return ReferralCadence(timedelta(seconds=float(every)), times, zone)


def _server_limits(raw: Mapping[str, Any]) -> ServerLimits:
    """The exchange server's connection and call bounds (every default closes a stalled connection within a
    minute)."""

    def seconds(key: str, default: float, high: float) -> timedelta:
        return timedelta(seconds=_exchange_num(raw, key, default, 0.1, high))

    limits = ServerLimits(
        handshake_timeout=seconds("handshake_timeout_seconds", 10, 300),
        keepalive_time=seconds("keepalive_time_seconds", 20, 7200),
        keepalive_timeout=seconds("keepalive_timeout_seconds", 10, 300),
        max_connection_idle=seconds("max_connection_idle_seconds", 30, 86_400),
        max_connection_age=seconds("max_connection_age_seconds", 30, 86_400),
        max_connection_age_grace=seconds("max_connection_age_grace_seconds", 20, 3600),
        deliver_deadline=seconds("deliver_deadline_seconds", 20, 600),
        max_concurrent_streams=_int(raw, "max_concurrent_streams", 16, 1, 1000, section="exchange"),
        max_calls_per_peer=_int(raw, "max_calls_per_peer", 8, 1, 1000, section="exchange"),
    )
    if limits.deliver_deadline > limits.max_connection_age_grace:
        raise InvalidArgument(
            "must not exceed exchange.max_connection_age_grace_seconds, or a delivery started as its connection "
            "reaches its maximum age is cut off before the server answers it",
            field="exchange.deliver_deadline_seconds",
        )
    return limits


def _pinned_authority(raw: Mapping[str, Any]) -> tuple[tuple[str, ...], int]:
    """`authority_key_ids` and `authority_threshold`: the network authority this node pins."""
    key_ids = raw.get("authority_key_ids", [])
    if not isinstance(key_ids, list) or not all(isinstance(k, str) and _SIGNING_KEY_ID.match(k) for k in key_ids):
        raise InvalidArgument(
            'must be a list of authority key ids, like "ed25519:0123456789abcdef"', field="exchange.authority_key_ids"
        )
    repeated = sorted({k for k in key_ids if key_ids.count(k) > 1})
    if repeated:
        raise InvalidArgument(f"lists {', '.join(repeated)} more than once", field="exchange.authority_key_ids")
    if not key_ids:
        if "authority_threshold" in raw:
            raise InvalidArgument("needs exchange.authority_key_ids", field="exchange.authority_threshold")
        return (), 0
    threshold = raw.get("authority_threshold", len(key_ids))
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(key_ids):
        raise InvalidArgument(
            f"must be a whole number from 1 to the {len(key_ids)} pinned key(s)", field="exchange.authority_threshold"
        )
    return tuple(key_ids), threshold


def _exchange_num(raw: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    return _num(raw, key, default, low, high, section="exchange")
