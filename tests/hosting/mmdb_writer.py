"""A minimal MaxMind DB writer, enough of the format for maxminddb to read small test databases.

Format: https://maxmind.github.io/MaxMind-DB/ — a binary search tree over the address bits (24-bit
records), 16 zero bytes, the data section, then the metadata after a marker.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path


class U16(int):
    """An integer to encode as uint16 (the metadata needs exact types)."""


class U64(int):
    """An integer to encode as uint64."""


def write_mmdb(
    path: Path,
    networks: Sequence[tuple[str, Mapping[str, object]]],
    *,
    ip_version: int = 6,
    database_type: str = "Test-Country",
) -> Path:
    bits = 32 if ip_version == 4 else 128
    data = bytearray()
    nodes: list[list[tuple[str, int] | None]] = [[None, None]]
    for network_text, record in networks:
        network = ipaddress.ip_network(network_text)
        value, prefix = int(network.network_address), network.prefixlen
        if network.version == 4 and ip_version == 6:
            prefix += 96  # IPv4 lives at ::a.b.c.d in an IPv6 tree
        elif network.version == 6 and ip_version == 4:
            raise ValueError("an IPv6 network in an IPv4 database")
        offset = len(data)
        data += _encode(record)
        node = 0
        for i in range(prefix):
            bit = (value >> (bits - 1 - i)) & 1
            if i == prefix - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None:
                nodes.append([None, None])
                child = ("node", len(nodes) - 1)
                nodes[node][bit] = child
            elif child[0] == "data":
                raise ValueError("overlapping networks are not supported")
            node = child[1]

    node_count = len(nodes)

    def record_value(entry: tuple[str, int] | None) -> int:
        if entry is None:
            return node_count
        kind, number = entry
        return number if kind == "node" else node_count + 16 + number

    tree = b"".join(
        record_value(left).to_bytes(3, "big") + record_value(right).to_bytes(3, "big") for left, right in nodes
    )
    metadata = {
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_767_225_600),
        "database_type": database_type,
        "description": {"en": "test database"},
        "ip_version": U16(ip_version),
        "languages": ["en"],
        "node_count": node_count,
        "record_size": U16(24),
    }
    path.write_bytes(tree + bytes(16) + bytes(data) + b"\xab\xcd\xefMaxMind.com" + _encode(metadata))
    return path


def _control(type_number: int, size: int) -> bytes:
    first, extended = (type_number << 5, b"") if type_number <= 7 else (0, bytes([type_number - 7]))
    if size < 29:
        return bytes([first | size]) + extended
    if size < 285:
        return bytes([first | 29]) + extended + bytes([size - 29])
    if size < 65_821:
        return bytes([first | 30]) + extended + (size - 285).to_bytes(2, "big")
    return bytes([first | 31]) + extended + (size - 65_821).to_bytes(3, "big")


def _unsigned(type_number: int, value: int) -> bytes:
    payload = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return _control(type_number, len(payload)) + payload


def _encode(value: object) -> bytes:
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, U16):
        return _unsigned(5, value)
    if isinstance(value, U64):
        return _unsigned(9, value)
    if isinstance(value, int):
        if not 0 <= value < 2**32:
            raise ValueError(f"unsupported integer {value}")
        return _unsigned(6, value)
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, str):
        encoded = value.encode()
        return _control(2, len(encoded)) + encoded
    if isinstance(value, Mapping):
        body = b"".join(_encode(str(key)) + _encode(item) for key, item in value.items())
        return _control(7, len(value)) + body
    if isinstance(value, list | tuple):
        return _control(11, len(value)) + b"".join(_encode(item) for item in value)
    raise TypeError(f"cannot encode {type(value).__name__}")
