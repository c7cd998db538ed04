"""Loading the settings: a TOML file, then HX_* environment variables on top, each section parsed and checked,
and whatever the node does not know refused."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from node.config.addresses import _is_local
from node.config.exchange import _exchange
from node.config.identifiers import _NODE_ID, _country
from node.config.notices import _notices
from node.config.reading import _flag, _int, _num, _Paths, _Read, _refuse_unknown, _str, _table
from node.config.sections import _hosting, _known_hashes, _membership, _metrics
from node.config.settings import NodeConfig
from node.database_url import check_database_url
from node.errors import InvalidArgument
from node.hashes import DEFAULT_PDQ_THRESHOLD


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
        token_cache_seconds=_num(node, "token_cache_seconds", 1, 0.1, 3600),
        token_last_used_seconds=_num(node, "token_last_used_seconds", 60, 1, 86_400),
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
