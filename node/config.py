"""Node settings: a TOML file, then HX_* environment variables on top. Every bad value names its key."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.cases.hash_trust import DEFAULT_DISPUTE_LIMIT, KnownHashPolicy
from node.cases.routing import FallbackKind, FallbackPolicy, Member, StaticMembership
from node.database_url import check_database_url
from node.errors import InvalidArgument
from node.exchange.cadence import ReferralCadence
from node.exchange.server_limits import ServerLimits
from node.hashes import DEFAULT_PDQ_THRESHOLD
from node.hosting.countries import ISO_3166_ALPHA_2
from node.notices.compose import render_check
from node.notices.settings import Channel, NoticeSettings, SmtpSettings, WebhookSettings

__all__ = ["ExchangeConfig", "HostingConfig", "MetricsConfig", "NodeConfig", "load_config", "parse_config"]

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# Codes people write for a country that ISO 3166-1 spells otherwise.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_SIGNING_KEY_ID = re.compile(r"^(ed25519|mldsa65):[0-9a-f]{16}$")
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


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


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> NodeConfig:
    """The settings of the TOML file at `path` (HX_* variables on top); its relative paths (the SQLite
    database, keys, roster, certificates, GeoIP files) resolve against the file's folder, wherever the command
    runs from."""
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
    return parse_config(raw, env, base=path.parent.absolute() if path is not None else None)


def parse_config(raw: Mapping[str, Any], env: Mapping[str, str], *, base: Path | None = None) -> NodeConfig:
    """The settings in `raw` (a parsed TOML document) with HX_* variables from `env` on top, relative paths
    resolved against `base` (the config file's folder; None: left relative, to the working directory). A bad
    value, and a setting or section this node does not know (a typo such as `retention_day` or `[exchnage]`),
    is refused naming its key."""
    raw = _Read.of(raw)
    config = _parse(raw, env, _Paths(base))
    _refuse_unknown(raw, "")
    return config


@dataclass(frozen=True, slots=True)
class _Paths:
    """Resolves a path setting against the config file's folder."""

    base: Path | None

    def __call__(self, value: str) -> str:
        if not value or self.base is None or Path(value).is_absolute():
            return value
        return str(self.base / value)


def _parse(raw: Mapping[str, Any], env: Mapping[str, str], paths: _Paths) -> NodeConfig:
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
    jurisdiction = _country(_str(node, "jurisdiction", "node.jurisdiction", required=True), "node.jurisdiction")
    log_format = _str(node, "log_format", "node.log_format") or "auto"
    if log_format not in ("auto", "console", "json"):
        raise InvalidArgument("must be 'auto', 'console' or 'json'", field="node.log_format")
    config = NodeConfig(
        node_id=node_id,
        jurisdiction=jurisdiction,
        database_url=_database_url(node, node_id, paths),
        listen=_str(node, "listen", "node.listen") or "127.0.0.1:50051",
        tls_cert=paths(_str(node, "tls_cert", "node.tls_cert")),
        tls_key=paths(_str(node, "tls_key", "node.tls_key")),
        tls_client_ca=paths(_str(node, "tls_client_ca", "node.tls_client_ca")),
        removal_deadline=timedelta(hours=_num(node, "removal_deadline_hours", 72, 1, 24 * 365)),
        pdq_threshold=_int(node, "pdq_threshold", DEFAULT_PDQ_THRESHOLD, 0, 256),
        max_message_bytes=_int(node, "max_message_bytes", 1024 * 1024, 4096, 64 * 1024 * 1024),
        max_urls_per_report=_int(node, "max_urls_per_report", 100, 1, 10_000),
        max_report_age=timedelta(days=_num(node, "max_report_age_days", 365, 1, 36_500)),
        deadline_check_seconds=_num(node, "deadline_check_seconds", 60, 0.05, 86_400),
        stream_heartbeat_seconds=_num(node, "stream_heartbeat_seconds", 30, 0.05, 3600),
        min_client_ping_seconds=_num(node, "min_client_ping_seconds", 10, 0.05, 3600),
        db_threads=_int(node, "db_threads", 8, 1, 64),
        retention=timedelta(days=_num(node, "retention_days", 365, 1, 36_500)),
        retention_check_seconds=_num(node, "retention_check_seconds", 3600, 1, 7 * 86_400),
        log_format=log_format,
        lea_group_may_release=_flag(node, "lea_group_may_release"),
        auth_failure_burst=_int(node, "auth_failure_burst", 100, 1, 1_000_000),
        auth_failures_per_minute=_num(node, "auth_failures_per_minute", 60, 0.1, 1_000_000),
        streams_per_token=_int(node, "streams_per_token", 8, 1, 10_000),
        stream_max_age_seconds=_num(node, "stream_max_age_seconds", 3600, 1, 7 * 86_400),
        known_hashes=_known_hashes(node),
        hosting=_hosting(_table(raw, "hosting", "hosting"), paths),
    )
    members, fallback = _membership(_table(raw, "membership", "membership"), config)
    config = replace(
        config,
        members=members,
        fallback=fallback,
        exchange=_exchange(raw.get("exchange"), node_id, paths),
        metrics=_metrics(raw.get("metrics")),
        notices=_notices(raw.get("notices"), env, paths),
    )
    config.membership()  # validates designated receivers and the fallback node
    if bool(config.tls_cert) != bool(config.tls_key):
        raise InvalidArgument("tls_cert and tls_key go together", field="node.tls_key")
    if config.tls_client_ca and not config.tls_cert:
        raise InvalidArgument(
            "client certificates need TLS: set node.tls_cert and node.tls_key too", field="node.tls_client_ca"
        )
    if not config.tls_cert and not _is_local(config.listen):
        raise InvalidArgument(
            f"{config.listen} is reachable from other machines and the integrator API would carry bearer tokens in "
            "clear: set node.tls_cert and node.tls_key, or listen on 127.0.0.1 behind a TLS proxy",
            field="node.listen",
        )
    return config


def _database_url(node: Mapping[str, Any], node_id: str, paths: _Paths) -> str:
    """The database URL, checked (scheme, driver) and with a relative SQLite path resolved; without one, the
    default SQLite file var/<id>.db next to the config file (or, with no file, in the working directory)."""
    url = _str(node, "database_url", "node.database_url")
    if not url:
        return f"sqlite+pysqlite:///{paths.base / 'var' / f'{node_id}.db'}" if paths.base is not None else ""
    return check_database_url(url, paths.base)


def _country(value: str, where: str) -> str:
    """`value` as an assigned ISO 3166-1 alpha-2 code (upper case), or InvalidArgument with a suggestion."""
    code = value.strip().upper()
    if code in ISO_3166_ALPHA_2:
        return code
    close = [_COUNTRY_ALIASES[code]] if code in _COUNTRY_ALIASES else []
    close = close or difflib.get_close_matches(code, sorted(ISO_3166_ALPHA_2), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else " (two letters, like NL, DE or GB)"
    raise InvalidArgument(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}", field=where)


def _notices(raw: Any, env: Mapping[str, str], paths: _Paths) -> NoticeSettings | None:
    """[notices], with [notices.smtp] or [notices.webhook] for the channel, and [notices.abuse_contacts]."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices])", field="notices")
    channel = _str(raw, "channel", "notices.channel") or "smtp"
    if channel not in ("smtp", "webhook"):
        raise InvalidArgument("must be 'smtp' or 'webhook'", field="notices.channel")
    contacts = _table(raw, "abuse_contacts", "notices.abuse_contacts")
    for key in list(contacts):
        _email(contacts, key, f"notices.abuse_contacts.{key}", required=True)
    xarf, ntd = raw.get("xarf", True), raw.get("ntd", True)
    for key, value in (("xarf", xarf), ("ntd", ntd)):
        if not isinstance(value, bool):
            raise InvalidArgument("must be true or false", field=f"notices.{key}")
    settings = NoticeSettings(
        organisation=_str(raw, "organisation", "notices.organisation", required=True),
        from_email=_email(raw, "from_email", "notices.from_email", required=True),
        channel=Channel(channel),
        lea_email=_email(raw, "lea_email", "notices.lea_email"),
        ntd=ntd,
        abuse_contacts=tuple(sorted((key, str(value)) for key, value in contacts.items())),
        default_abuse_email=_email(raw, "default_abuse_email", "notices.default_abuse_email"),
        xarf=xarf,
        lea_template=_template(raw, "lea_template_file", paths),
        ntd_template=_template(raw, "ntd_template_file", paths),
        smtp=_smtp(raw.get("smtp"), env),
        webhook=_webhook(raw.get("webhook"), env),
        poll=timedelta(seconds=_num(raw, "poll_seconds", 5, 0.05, 3600, section="notices")),
        retry_initial=timedelta(seconds=_num(raw, "retry_initial_seconds", 30, 0.05, 86_400, section="notices")),
        retry_max=timedelta(seconds=_num(raw, "retry_max_seconds", 3600, 0.05, 7 * 86_400, section="notices")),
        alert_after_attempts=_int(raw, "alert_after_attempts", 5, 1, 1000, section="notices"),
        give_up_after=timedelta(hours=_num(raw, "give_up_after_hours", 168, 0.001, 24 * 365, section="notices")),
    )
    if settings.channel is Channel.SMTP and settings.smtp is None:
        raise InvalidArgument("channel 'smtp' needs a [notices.smtp] section with its host", field="notices.smtp")
    if settings.channel is Channel.WEBHOOK and settings.webhook is None:
        raise InvalidArgument("channel 'webhook' needs a [notices.webhook] section", field="notices.webhook")
    return settings


def _email(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = _str(raw, key, where, required=required)
    if value and not _EMAIL.match(value):
        raise InvalidArgument(f"{value!r} is not an email address (name@domain)", field=where)
    return value


def _template(raw: Mapping[str, Any], key: str, paths: _Paths) -> str:
    path = paths(_str(raw, key, f"notices.{key}"))
    if not path:
        return ""
    try:
        template = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"cannot read {path}: {error}", field=f"notices.{key}") from None
    if len(template) > 8192:
        raise InvalidArgument("a template has at most 8,192 characters", field=f"notices.{key}")
    unknown = render_check(template)
    if unknown:
        raise InvalidArgument(f"unknown placeholder ${unknown[0]}", field=f"notices.{key}")
    return template


def _secret(raw: Mapping[str, Any], key: str, where: str, env: Mapping[str, str], *, required: bool) -> str:
    """A secret is never in the file: the setting names the environment variable that holds it."""
    name = _str(raw, key, where, required=required)
    if name and not env.get(name):
        raise InvalidArgument(f"the environment variable {name} is not set", field=where)
    return env.get(name, "") if name else ""


def _smtp(raw: Any, env: Mapping[str, str]) -> SmtpSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices.smtp])", field="notices.smtp")
    starttls = raw.get("starttls", True)
    if not isinstance(starttls, bool):
        raise InvalidArgument("must be true or false", field="notices.smtp.starttls")
    username = _str(raw, "username", "notices.smtp.username")
    return SmtpSettings(
        host=_str(raw, "host", "notices.smtp.host", required=True),
        port=_int(raw, "port", 587, 1, 65535, section="notices.smtp"),
        starttls=starttls,
        username=username,
        password=_secret(raw, "password_env", "notices.smtp.password_env", env, required=bool(username)),
        timeout=timedelta(seconds=_num(raw, "timeout_seconds", 30, 0.1, 600, section="notices.smtp")),
    )


def _webhook(raw: Any, env: Mapping[str, str]) -> WebhookSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("must be a table ([notices.webhook])", field="notices.webhook")
    url = _https_url(_str(raw, "url", "notices.webhook.url", required=True), "notices.webhook.url")
    secret = _secret(raw, "secret_env", "notices.webhook.secret_env", env, required=True)
    if len(secret.encode()) < 16:
        raise InvalidArgument("the signing secret must have at least 16 bytes", field="notices.webhook.secret_env")
    return WebhookSettings(
        url=url,
        secret=secret.encode(),
        timeout=timedelta(seconds=_num(raw, "timeout_seconds", 10, 0.1, 600, section="notices.webhook")),
    )


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


def _flag(node: Mapping[str, Any], key: str) -> bool:
    value = node.get(key, False)
    if not isinstance(value, bool):
        raise InvalidArgument("must be true or false", field=f"node.{key}")
    return value


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


def _hosting(raw: Mapping[str, Any], paths: _Paths) -> HostingConfig:
    resolver = _str(raw, "resolver", "hosting.resolver") or "geoip"
    if resolver not in ("geoip", "mmdb", "static"):
        raise InvalidArgument("must be 'geoip', 'mmdb' or 'static'", field="hosting.resolver")
    mmdb_path = paths(_str(raw, "mmdb_path", "hosting.mmdb_path"))
    if resolver == "mmdb" and not mmdb_path:
        raise InvalidArgument("the mmdb resolver needs mmdb_path", field="hosting.mmdb_path")
    static = raw.get("static", [])
    if not isinstance(static, list) or not all(isinstance(r, dict) for r in static):
        raise InvalidArgument("must be a list of tables", field="hosting.static")
    for i, row in enumerate(static):
        country = dict.get(row, "country")  # read past the key tracking: the resolver reads the rows
        if isinstance(country, str):
            _country(country, f"hosting.static[{i}].country")
    asn_path = paths(_str(raw, "mmdb_asn_path", "hosting.mmdb_asn_path"))
    return HostingConfig(resolver, mmdb_path, asn_path, tuple(static))


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


def _https_url(url: str, where: str) -> str:
    """`url` if it is https://, or http:// to a loopback address (nothing else crosses a network in clear); ""
    stays "" (not set)."""
    if not url:
        return url
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    if scheme != "https" and not (scheme == "http" and _is_local(host if ":" in host else f"{host}:80")):
        raise InvalidArgument("must be an https:// URL (http:// only to a loopback address)", field=where)
    return url


def _is_wildcard(address: str) -> bool:
    """Whether host:port names every address of the machine (0.0.0.0, ::, or no host), not one a peer dials."""
    host = address.rpartition(":")[0].strip("[]")
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


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


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


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
    return frozenset(_country(v, where) for v in value)


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
