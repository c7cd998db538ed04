"""Node settings: a TOML file, then HX_* environment variables on top. Every bad value names its key."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from node.cases.hash_trust import DEFAULT_DISPUTE_LIMIT, KnownHashPolicy
from node.cases.routing import FallbackKind, FallbackPolicy, Member, StaticMembership
from node.errors import InvalidArgument
from node.exchange.server_limits import ServerLimits
from node.hashes import DEFAULT_PDQ_THRESHOLD

__all__ = ["ExchangeConfig", "HostingConfig", "MetricsConfig", "NodeConfig", "load_config", "parse_config"]

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_SIGNING_KEY_ID = re.compile(r"^(ed25519|mldsa65):[0-9a-f]{16}$")


@dataclass(frozen=True, slots=True)
class HostingConfig:
    # "geoip" (embedded offline data, the default), "mmdb" (MaxMind files) or "static" (a table).
    resolver: str = "geoip"
    mmdb_path: str = ""
    mmdb_asn_path: str = ""
    static: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """The node-to-node exchange. Without an [exchange] section the node runs alone."""

    listen: str
    roster_file: str
    key_dir: str
    post_quantum: bool = False
    # Outgoing peer calls go through this HTTP CONNECT proxy (host:port) when set; TLS stays end to end.
    # Sites that must egress through a proxy use it, and the simulator puts its fault proxy here.
    proxy: str = ""
    # How far in the future a received message may be dated (the peers' clocks differ a little).
    max_clock_skew_seconds: float = 300.0
    # What one peer may deliver to this node; beyond it, RESOURCE_EXHAUSTED with a retry delay.
    rate_limit_records_per_second: float = 2_000.0
    rate_limit_bytes_per_second: float = 16 * 1024 * 1024
    # The network authority's key ids, pinned: the first roster this node trusts must carry valid signatures
    # by `authority_threshold` of them (default: all). Empty: the first roster is trusted on its own
    # authority's signatures (trust on first use), with a warning.
    authority_key_ids: tuple[str, ...] = ()
    authority_threshold: int = 0
    # How often a running node looks for a roster version installed by `roster apply` and checks expiry.
    roster_check_seconds: float = 30.0
    # From this long before the trusted roster expires, the node warns (log line and event).
    roster_expiry_warning: timedelta = timedelta(days=14)
    # A peer's call claiming a newer roster makes the node fetch it from that peer at most once per this.
    roster_catch_up_seconds: float = 10.0
    # How long the exchange server lets a connection or call hold its resources, and calls open per peer.
    server_limits: ServerLimits = field(default_factory=ServerLimits)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The Prometheus endpoint. Without a [metrics] section the node serves no metrics."""

    listen: str  # host:port, loopback unless allow_remote
    # The metrics name the peers and show the node's traffic: served beyond this machine only when asked.
    allow_remote: bool = False


@dataclass(frozen=True, slots=True)
class NodeConfig:
    node_id: str
    jurisdiction: str
    database_url: str = ""
    listen: str = "127.0.0.1:50051"
    tls_cert: str = ""
    tls_key: str = ""
    removal_deadline: timedelta = timedelta(hours=72)
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD
    max_message_bytes: int = 1024 * 1024
    max_urls_per_report: int = 100
    deadline_check_seconds: float = 60.0
    db_threads: int = 8
    # Closed cases are deleted this long after closing; known hashes and the audit log stay.
    retention: timedelta = timedelta(days=365)
    retention_check_seconds: float = 3600.0
    log_format: str = "console"
    # Which known-hash source wins where sources disagree, and whether "known not illegal" is kept (hints only).
    known_hashes: KnownHashPolicy = field(default_factory=KnownHashPolicy)
    hosting: HostingConfig = field(default_factory=HostingConfig)
    members: tuple[Member, ...] = ()
    fallback: FallbackPolicy = field(default_factory=FallbackPolicy)
    exchange: ExchangeConfig | None = None
    metrics: MetricsConfig | None = None

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+pysqlite:///var/{self.node_id}.db"

    def membership(self) -> StaticMembership:
        return StaticMembership(self.members, self.fallback)


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> NodeConfig:
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_bytes().decode("utf-8"))  # TOML is UTF-8, whatever the locale
        except FileNotFoundError:
            raise InvalidArgument(f"no config file at {path}", field="config") from None
        except IsADirectoryError:
            raise InvalidArgument(f"{path} is a directory, not a config file", field="config") from None
        except OSError as exc:  # permission denied, an I/O error, ...
            raise InvalidArgument(f"cannot read {path}: {exc.strerror or exc}", field="config") from None
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{path} is not UTF-8 text (byte {exc.start})", field="config") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgument(f"{path} is not valid TOML: {exc}", field="config") from None
    return parse_config(raw, env)


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str]) -> NodeConfig:
    """The settings in `raw` (a parsed TOML document) with HX_* variables from `env` on top. A bad value, and
    a setting or section this node does not know (a typo such as `retention_day` or `[exchnage]`), is refused
    naming its key."""
    raw = _Read.of(raw)
    config = _parse(raw, env)
    _refuse_unknown(raw, "")
    return config


def _parse(raw: Mapping[str, Any], env: Mapping[str, str]) -> NodeConfig:
    node = _table(raw, "node", "node")
    for key, var in (
        ("id", "HX_NODE_ID"),
        ("jurisdiction", "HX_JURISDICTION"),
        ("listen", "HX_LISTEN"),
        ("database_url", "HX_DATABASE_URL"),
        ("log_format", "HX_LOG_FORMAT"),
    ):
        if env.get(var):
            node[key] = env[var]
    node_id = _str(node, "id", "node.id", required=True)
    if not _NODE_ID.match(node_id):
        raise InvalidArgument("must be 2-63 characters of a-z, 0-9 and '-'", field="node.id")
    jurisdiction = _str(node, "jurisdiction", "node.jurisdiction", required=True).upper()
    if not _COUNTRY.match(jurisdiction):
        raise InvalidArgument("must be an ISO 3166-1 alpha-2 code", field="node.jurisdiction")
    log_format = _str(node, "log_format", "node.log_format") or "console"
    if log_format not in ("console", "json"):
        raise InvalidArgument("must be 'console' or 'json'", field="node.log_format")
    config = NodeConfig(
        node_id=node_id,
        jurisdiction=jurisdiction,
        database_url=_str(node, "database_url", "node.database_url"),
        listen=_str(node, "listen", "node.listen") or "127.0.0.1:50051",
        tls_cert=_str(node, "tls_cert", "node.tls_cert"),
        tls_key=_str(node, "tls_key", "node.tls_key"),
        removal_deadline=timedelta(hours=_num(node, "removal_deadline_hours", 72, 1, 24 * 365)),
        pdq_threshold=_int(node, "pdq_threshold", DEFAULT_PDQ_THRESHOLD, 0, 256),
        max_message_bytes=_int(node, "max_message_bytes", 1024 * 1024, 4096, 64 * 1024 * 1024),
        max_urls_per_report=_int(node, "max_urls_per_report", 100, 1, 10_000),
        deadline_check_seconds=_num(node, "deadline_check_seconds", 60, 0.05, 86_400),
        db_threads=_int(node, "db_threads", 8, 1, 64),
        retention=timedelta(days=_num(node, "retention_days", 365, 1, 36_500)),
        retention_check_seconds=_num(node, "retention_check_seconds", 3600, 1, 7 * 86_400),
        log_format=log_format,
        known_hashes=_known_hashes(node),
        hosting=_hosting(_table(raw, "hosting", "hosting")),
    )
    members, fallback = _membership(_table(raw, "membership", "membership"), config)
    config = replace(
        config,
        members=members,
        fallback=fallback,
        exchange=_exchange(raw.get("exchange"), node_id),
        metrics=_metrics(raw.get("metrics")),
    )
    config.membership()  # validates designated receivers and the fallback node
    if bool(config.tls_cert) != bool(config.tls_key):
        raise InvalidArgument("tls_cert and tls_key go together", field="node.tls_key")
    if not config.tls_cert and not _is_local(config.listen):
        raise InvalidArgument(
            f"{config.listen} is reachable from other machines and the integrator API would carry bearer tokens in "
            "clear: set node.tls_cert and node.tls_key, or listen on 127.0.0.1 behind a TLS proxy",
            field="node.listen",
        )
    return config


def _is_local(listen: str) -> bool:
    """Whether a gRPC listen address can be reached from this machine only (loopback, or a Unix socket)."""
    if listen.startswith("unix:"):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it resolves to whatever the network says


def _known_hashes(node: Mapping[str, Any]) -> KnownHashPolicy:
    precedence = node.get("known_hash_precedence", [])
    if not isinstance(precedence, list) or not all(isinstance(p, str) and p.strip() for p in precedence):
        raise InvalidArgument("must be a list of source names, first wins", field="node.known_hash_precedence")
    if len(set(precedence)) != len(precedence):
        raise InvalidArgument("names a source more than once", field="node.known_hash_precedence")
    learn_not_illegal = node.get("learn_not_illegal", False)
    if not isinstance(learn_not_illegal, bool):
        raise InvalidArgument("must be true or false", field="node.learn_not_illegal")
    dispute_limit = node.get("known_hash_dispute_limit", DEFAULT_DISPUTE_LIMIT)
    if isinstance(dispute_limit, bool) or not isinstance(dispute_limit, int) or not 1 <= dispute_limit <= 1000:
        raise InvalidArgument(
            "must be a whole number from 1 to 1000: disputes before a known hash stops matching automatically",
            field="node.known_hash_dispute_limit",
        )
    peer_verdicts = node.get("peer_verdicts", {})
    if not isinstance(peer_verdicts, Mapping) or not all(
        isinstance(p, str) and _NODE_ID.match(p) and m in ("hint", "automatic") for p, m in peer_verdicts.items()
    ):
        raise InvalidArgument('must be a table of peer node ids to "hint" or "automatic"', field="node.peer_verdicts")
    publish_to = node.get("publish_verdicts_to", [])
    if not isinstance(publish_to, list) or not all(isinstance(p, str) and _NODE_ID.match(p) for p in publish_to):
        raise InvalidArgument("must be a list of peer node ids", field="node.publish_verdicts_to")
    return KnownHashPolicy(
        tuple(precedence),
        learn_not_illegal,
        dispute_limit,
        tuple(sorted(peer_verdicts.items())),
        tuple(dict.fromkeys(publish_to)),
    )


def _metrics(raw: Any) -> MetricsConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([metrics])", field="metrics")
    listen = _str(raw, "listen", "metrics.listen", required=True)
    port = listen.rpartition(":")[2]
    if not _HOST_PORT.match(listen) or not 0 <= int(port) <= 65535:
        raise InvalidArgument("must be host:port, for example 127.0.0.1:9464", field="metrics.listen")
    allow_remote = raw.get("allow_remote", False)
    if not isinstance(allow_remote, bool):
        raise InvalidArgument("must be true or false", field="metrics.allow_remote")
    if not allow_remote and not _is_local(listen):
        raise InvalidArgument(
            f"{listen} is reachable from other machines, and the metrics name the peers and show the node's "
            "traffic: listen on 127.0.0.1 (scrape through a proxy), or set metrics.allow_remote = true",
            field="metrics.listen",
        )
    return MetricsConfig(listen, allow_remote)


def _hosting(raw: Mapping[str, Any]) -> HostingConfig:
    resolver = _str(raw, "resolver", "hosting.resolver") or "geoip"
    if resolver not in ("geoip", "mmdb", "static"):
        raise InvalidArgument("must be 'geoip', 'mmdb' or 'static'", field="hosting.resolver")
    mmdb_path = _str(raw, "mmdb_path", "hosting.mmdb_path")
    if resolver == "mmdb" and not mmdb_path:
        raise InvalidArgument("the mmdb resolver needs mmdb_path", field="hosting.mmdb_path")
    static = raw.get("static", [])
    if not isinstance(static, list) or not all(isinstance(r, dict) for r in static):
        raise InvalidArgument("must be a list of tables", field="hosting.static")
    return HostingConfig(resolver, mmdb_path, _str(raw, "mmdb_asn_path", "hosting.mmdb_asn_path"), tuple(static))


def _exchange(raw: Any, node_id: str) -> ExchangeConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table", field="exchange")
    listen = _str(raw, "listen", "exchange.listen", required=True)
    roster_file = _str(raw, "roster_file", "exchange.roster_file", required=True)
    post_quantum = raw.get("post_quantum", False)
    if not isinstance(post_quantum, bool):
        raise InvalidArgument("must be true or false", field="exchange.post_quantum")
    key_dir = _str(raw, "key_dir", "exchange.key_dir") or f"var/keys/{node_id}"
    proxy = _str(raw, "proxy", "exchange.proxy")
    if proxy and not _HOST_PORT.match(proxy):
        raise InvalidArgument("must be host:port, for example 127.0.0.1:3128", field="exchange.proxy")
    authority_key_ids, authority_threshold = _pinned_authority(raw)
    return ExchangeConfig(
        listen,
        roster_file,
        key_dir,
        post_quantum,
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
        server_limits=_server_limits(raw),
    )


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


def _membership(raw: Mapping[str, Any], config: NodeConfig) -> tuple[tuple[Member, ...], FallbackPolicy]:
    members = []
    entries = raw.get("members", [])
    if not isinstance(entries, list):
        raise InvalidArgument("must be a list of tables ([[membership.members]])", field="membership.members")
    for i, entry in enumerate(entries):
        where = f"membership.members[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument("must be a table", field=where)
        node_id = _str(entry, "node_id", f"{where}.node_id", required=True)
        if not _NODE_ID.match(node_id):
            raise InvalidArgument("must be 2-63 characters of a-z, 0-9 and '-'", field=f"{where}.node_id")
        jurisdictions = _countries(entry.get("jurisdictions"), f"{where}.jurisdictions")
        if not jurisdictions:
            raise InvalidArgument("needs at least one country", field=f"{where}.jurisdictions")
        designated = _countries(entry.get("designated_for", []), f"{where}.designated_for")
        members.append(Member(node_id, jurisdictions, designated))
    if not any(m.node_id == config.node_id for m in members):
        members.append(Member(config.node_id, frozenset({config.jurisdiction}), frozenset({config.jurisdiction})))
    kind = _str(raw, "fallback", "membership.fallback") or "direct"
    if kind not in ("direct", "refer"):
        raise InvalidArgument("must be 'direct' or 'refer'", field="membership.fallback")
    fallback = FallbackPolicy(FallbackKind(kind), _str(raw, "fallback_node", "membership.fallback_node"))
    if fallback.kind is FallbackKind.REFER and not fallback.node_id:
        raise InvalidArgument("the 'refer' fallback needs fallback_node", field="membership.fallback_node")
    return tuple(members), fallback


def _countries(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument("must be a list of ISO 3166-1 alpha-2 codes", field=where)
    codes = frozenset(v.upper() for v in value)
    bad = sorted(c for c in codes if not _COUNTRY.match(c))
    if bad:
        raise InvalidArgument(f"not ISO 3166-1 alpha-2 codes: {', '.join(bad)}", field=where)
    return codes


class _Read(dict[str, Any]):
    """A TOML table that remembers which keys the parser asked for, present or not: whatever it never asked
    for is a setting the node does not know."""

    asked: set[str]

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> _Read:
        read = cls({key: _wrap(value) for key, value in table.items()})
        read.asked = set()
        return read

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return _Read.of(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _refuse_unknown(table: _Read, where: str) -> None:
    """Refuse the first key of `table`, or of a table below it that the parser consulted, that it never asked
    for. A table nobody consulted (the static resolver's entries, read when the resolver is built) is left to
    its reader."""
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        if key not in table.asked:
            close = difflib.get_close_matches(key, sorted(table.asked), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known here: {', '.join(sorted(table.asked))}"
            raise InvalidArgument(f"unknown setting{hint}", field=path)
        children = value if isinstance(value, list) else [value]
        for i, child in enumerate(children):
            if isinstance(child, _Read) and child.asked:
                _refuse_unknown(child, f"{path}[{i}]" if isinstance(value, list) else path)


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise InvalidArgument("must be a string", field=where)
    if required and not value:
        raise InvalidArgument("is required", field=where)
    return value


def _table(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value: dict[str, Any] = raw.get(key, {})
    if not isinstance(value, dict):
        raise InvalidArgument(f"must be a table ([{where}])", field=where)
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int, *, section: str = "node") -> int:
    """A count: a whole number (a fraction is refused, not truncated)."""
    value = _num(raw, key, default, low, high, section=section)
    if not value.is_integer():
        raise InvalidArgument(f"must be a whole number, got {value:g}", field=f"{section}.{key}")
    return int(value)


def _num(raw: Mapping[str, Any], key: str, default: float, low: float, high: float, *, section: str = "node") -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument("must be a number", field=f"{section}.{key}")
    if not low <= value <= high:
        raise InvalidArgument(f"must be between {low:g} and {high:g}", field=f"{section}.{key}")
    return float(value)
