"""The roster location a node polls besides its file (`exchange.roster_url`): a newer version served over HTTPS
(verified against the configured CA) is installed as `roster apply` would; a roster the authority did not sign,
a server the CA does not vouch for, and a refusing server change nothing; only https (or http to loopback) is
accepted in the config."""

from __future__ import annotations

import http.server
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from node.app import Node
from node.config import parse_config
from node.crypto import SigningKeyPair
from node.crypto.roster import sign_roster
from node.errors import InvalidArgument
from node.exchange.roster_source import poll_roster_url
from node.store import schema as t
from tests.exchange.test_roster_lifecycle import states
from tests.exchange.test_roster_state import AUTHORITY, roster


@dataclass
class _Served:
    body: bytes = b""
    status: int = 200


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roster.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "roster-server.pem", tmp / "roster-server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[_Served, str, Path]]:
    """An HTTPS server on loopback serving whatever `served` holds at /roster.signed; its URL and CA file."""
    served = _Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(served.status)
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args: Any) -> None:
            pass

    cert, key = _certificate(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield served, f"https://127.0.0.1:{httpd.server_port}/roster.signed", cert
    finally:
        httpd.shutdown()
        httpd.server_close()


def _events(node: Node) -> list[tuple[str, str]]:
    with node.engine.connect() as connection:
        rows = connection.execute(select(t.events.c.kind, t.events.c.detail).order_by(t.events.c.seq)).all()
    return [(row.kind, row.detail) for row in rows]


def test_a_newer_roster_at_the_url_is_installed(
    server: tuple[_Served, str, Path], sqlite_url: str, make_node: Callable[..., Node]
) -> None:
    served, url, ca = server
    node, running, _ = states(make_node, sqlite_url)
    served.body = sign_roster(roster(2), AUTHORITY[:2])
    assert poll_roster_url(running, url, str(ca)) is True
    assert running.membership.version == 2
    assert poll_roster_url(running, url, str(ca)) is False  # polled again: not newer
    assert _events(node) == [("roster.installed", f"INSTALLED: roster version 2 installed from {url}")]


def test_what_the_authority_did_not_sign_or_a_server_nobody_vouches_for_changes_nothing(
    server: tuple[_Served, str, Path], sqlite_url: str, make_node: Callable[..., Node]
) -> None:
    served, url, ca = server
    node, running, _ = states(make_node, sqlite_url)
    strangers = [SigningKeyPair.generate() for _ in range(2)]
    served.body = sign_roster(roster(2), strangers)  # the location is only a claim
    assert poll_roster_url(running, url, str(ca)) is False
    served.body = sign_roster(roster(2), AUTHORITY[:2])
    assert poll_roster_url(running, url) is False  # the system's CAs do not know this server
    served.status, served.body = 404, b"not here"
    assert poll_roster_url(running, url, str(ca)) is False
    assert running.membership.version == 1
    assert [kind for kind, _ in _events(node)] == ["roster.file_refused"]


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://authority.example/roster.signed", True),
        ("http://127.0.0.1:8080/roster.signed", True),
        ("http://authority.example/roster.signed", False),
        ("ftp://authority.example/roster.signed", False),
    ],
)
def test_the_roster_url_is_https_or_loopback(tmp_path: Path, url: str, accepted: bool) -> None:
    raw = {
        "node": {"id": "nl-hotline", "jurisdiction": "NL"},
        "exchange": {"listen": "127.0.0.1:0", "roster_file": str(tmp_path / "roster.signed"), "roster_url": url},
    }
    if accepted:
        exchange = parse_config(raw, {}).exchange
        assert exchange is not None and exchange.roster_url == url
    else:
        with pytest.raises(InvalidArgument) as refused:
            parse_config(raw, {})
        assert refused.value.field == "exchange.roster_url"
