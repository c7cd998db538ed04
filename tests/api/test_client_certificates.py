"""The integrator API with `node.tls_client_ca`: a client must present a certificate that CA issued (mutual
TLS) as well as its bearer token. Without a certificate, or with one from another CA, no call gets through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from node.api._gen.hotline.node.v1 import intake_service_pb2 as intake_pb
from node.api.client import NodeClient
from node.app import Node
from node.cases.model import Role
from node.crypto.tls import TlsIdentity, make_tls_identity
from node.errors import InvalidArgument

REQUEST = intake_pb.SubmitReportRequest(urls=[intake_pb.ReportedUrl(url="https://nl.host.example/m")])


def _write(tmp_path: Path, name: str, identity: TlsIdentity) -> tuple[Path, Path]:
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert.write_bytes(identity.cert_pem)
    key.write_bytes(identity.key_pem)
    key.chmod(0o600)
    return cert, key


def _credentials(server: TlsIdentity, client: TlsIdentity | None) -> grpc.ChannelCredentials:
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=server.cert_pem)
    return grpc.ssl_channel_credentials(server.cert_pem, client.key_pem, client.cert_pem)


async def test_a_client_needs_a_certificate_from_the_configured_ca(
    tmp_path: Path, make_node: Callable[..., Node], sqlite_url: str
) -> None:
    now = datetime.now(UTC)
    server, client, stranger = (make_tls_identity(name, now) for name in ("localhost", "case-system", "stranger"))
    cert, key = _write(tmp_path, "api", server)
    client_ca, _ = _write(tmp_path, "client-ca", client)  # the client's self-signed certificate is its own CA
    node = make_node(sqlite_url, tls_cert=str(cert), tls_key=str(key), tls_client_ca=str(client_ca))
    _, token = node.access.create_token("test", "report-form", [Role.INTAKE])
    port = await node.start()
    target = f"localhost:{port}"
    try:
        async with NodeClient(target, token, credentials=_credentials(server, client)) as accepted:
            reply = await accepted.intake.SubmitReport(REQUEST, timeout=10)
            assert reply.report.report_id
        for presented in (None, stranger):
            async with NodeClient(target, token, credentials=_credentials(server, presented)) as refused:
                with pytest.raises(grpc.aio.AioRpcError) as error:
                    await refused.intake.SubmitReport(REQUEST, timeout=10)
                assert error.value.code() is grpc.StatusCode.UNAVAILABLE  # the handshake fails: no call is made
    finally:
        await node.stop(grace=0)


async def test_an_unreadable_client_ca_is_named_at_start(
    tmp_path: Path, make_node: Callable[..., Node], sqlite_url: str
) -> None:
    cert, key = _write(tmp_path, "api", make_tls_identity("localhost", datetime.now(UTC)))
    node = make_node(sqlite_url, tls_cert=str(cert), tls_key=str(key), tls_client_ca=str(tmp_path / "absent.pem"))
    try:
        with pytest.raises(InvalidArgument) as error:
            await node.start()
        assert error.value.field == "node.tls_client_ca"
        assert "absent.pem" in error.value.message
    finally:
        await node.stop(grace=0)
