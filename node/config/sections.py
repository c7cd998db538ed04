"""The smaller sections: the known-hash policy of [node], [hosting] (where a host is), [membership] (which
member takes which country) and [metrics] (the Prometheus endpoint)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.cases.hash_trust import DEFAULT_DISPUTE_LIMIT, KnownHashPolicy
from node.cases.routing import FallbackKind, FallbackPolicy, Member
from node.config.addresses import _HOST_PORT, _is_local
from node.config.identifiers import _NODE_ID, _countries, _country
from node.config.reading import _Paths, _str
from node.config.settings import HostingConfig, MetricsConfig, NodeConfig
from node.errors import InvalidArgument


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
