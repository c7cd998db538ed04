"""Node settings: a TOML file, then HX_* environment variables on top. Every bad value names its key.

`settings` holds what a node runs with, `load` reads it, `reading` is the typed reader of the TOML tables, and
`exchange`, `notices` and `sections` parse the sections (`addresses` and `identifiers` check single values)."""

from node.config.load import load_config, parse_config
from node.config.settings import ExchangeConfig, HostingConfig, MetricsConfig, NodeConfig

__all__ = ["ExchangeConfig", "HostingConfig", "MetricsConfig", "NodeConfig", "load_config", "parse_config"]
