"""What a node runs with: the settings `load_config` reads (the dataclasses `NodeConfig` and its sections)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from node.cases.hash_trust import KnownHashPolicy
from node.cases.routing import FallbackPolicy, Member, StaticMembership
from node.config.addresses import _is_wildcard
from node.exchange.cadence import ReferralCadence
from node.exchange.server_limits import ServerLimits
from node.hashes import DEFAULT_PDQ_THRESHOLD
from node.notices.settings import NoticeSettings


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
    # The host:port the peers dial, published in this node's roster entry (`roster member-entry`). Empty: the
    # listen address, unless that is a wildcard (0.0.0.0, ::), which names no machine a peer can reach.
    advertise: str = ""
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
    # How often a running node looks for a roster version installed by `roster apply` (or published at
    # `roster_url`) and checks expiry.
    roster_check_seconds: float = 30.0
    # Where the network authority publishes new signed versions (https://, or http:// to a loopback address), and
    # the CA file (PEM) that verifies that server ("" : the system's CAs). "" : the roster file only.
    roster_url: str = ""
    roster_url_ca: str = ""
    # From this long before the trusted roster expires, the node warns (log line and event).
    roster_expiry_warning: timedelta = timedelta(days=14)
    # A peer's call claiming a newer roster makes the node fetch it from that peer at most once per this.
    roster_catch_up_seconds: float = 10.0
    # How often the node signs a checkpoint of its audit log (entry count and head hash; `verify-audit`).
    audit_checkpoint_seconds: float = 3600.0
    # How often the node reconciles with each active peer (node.exchange.reconcile), over the items first
    # reported in the last `reconcile_window_days`; after a restore, at start, over the widest range allowed.
    reconcile_seconds: float = 6 * 3600.0
    reconcile_window_days: float = 30.0
    # How long the exchange server lets a connection or call hold its resources, and calls open per peer.
    server_limits: ServerLimits = field(default_factory=ServerLimits)
    # When referrals leave: at once, or in batches (referral_batch_seconds, or referral_batch_times in
    # referral_batch_zone); node.exchange.cadence.
    referral_cadence: ReferralCadence = field(default_factory=ReferralCadence)

    def endpoint(self) -> str:
        """The host:port peers dial: `advertise`, else `listen` unless that is a wildcard address ('' then)."""
        if self.advertise:
            return self.advertise
        return "" if _is_wildcard(self.listen) else self.listen


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
    # With it, the integrator API asks every client for a certificate issued by this CA (PEM) and refuses a
    # call without one (mutual TLS), on top of the bearer token.
    tls_client_ca: str = ""
    removal_deadline: timedelta = timedelta(hours=72)
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD
    max_message_bytes: int = 1024 * 1024
    max_urls_per_report: int = 100
    max_report_age: timedelta = timedelta(days=365)
    deadline_check_seconds: float = 60.0
    # StreamEvents sends an empty response this often when there is no event; clients may ping (HTTP/2
    # keepalive) as often as every min_client_ping_seconds without being cut off.
    stream_heartbeat_seconds: float = 30.0
    min_client_ping_seconds: float = 10.0
    db_threads: int = 8
    # Closed cases are deleted this long after closing; known hashes and the audit log stay.
    retention: timedelta = timedelta(days=365)
    retention_check_seconds: float = 3600.0
    log_format: str = "auto"  # JSON lines unless stderr is a terminal
    # Another LEA token of the same group (agency) may release a hold; off: only the token that placed it.
    lea_group_may_release: bool = False
    # Failed authentications per peer address: a token bucket of this many, refilled at this rate per minute.
    auth_failure_burst: int = 100
    auth_failures_per_minute: float = 60.0
    # Open StreamEvents per token, and how long one stream lasts (the client resumes from its cursor).
    streams_per_token: int = 8
    stream_max_age_seconds: float = 3600.0
    # How long a token record is trusted before the database is asked again (the bound on how late a
    # revocation made by another process sharing the database takes effect), and how often a token's last-use
    # time is written.
    token_cache_seconds: float = 1.0
    token_last_used_seconds: float = 60.0
    # Which known-hash source wins where sources disagree, and whether "known not illegal" is kept (hints only).
    known_hashes: KnownHashPolicy = field(default_factory=KnownHashPolicy)
    hosting: HostingConfig = field(default_factory=HostingConfig)
    members: tuple[Member, ...] = ()
    fallback: FallbackPolicy = field(default_factory=FallbackPolicy)
    exchange: ExchangeConfig | None = None
    metrics: MetricsConfig | None = None
    notices: NoticeSettings | None = None  # with a [notices] section: the node sends LEA notices and NTDs

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+pysqlite:///var/{self.node_id}.db"

    def membership(self) -> StaticMembership:
        return StaticMembership(self.members, self.fallback)
