"""The node's self-signed TLS certificate: a leaf for mutual TLS, never a CA. (That mutual TLS still works with
it: tests/exchange/test_mtls.py and test_two_nodes.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.crypto.keystore import KeyStore

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def test_the_tls_certificate_is_a_leaf_for_mutual_tls_not_a_ca(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)
    cert = x509.load_pem_x509_certificate(keys.tls.cert_pem)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_encipherment)
    extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


def test_an_older_nodes_ca_certificate_is_kept_with_a_warning(tmp_path: Path) -> None:
    """The roster pins the certificate, so it is not replaced behind the authority's back."""
    first = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)
    key = serialization.load_pem_private_key((tmp_path / "keys" / "tls-key.pem").read_bytes(), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nl-hotline")])
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    (tmp_path / "keys" / "tls-cert.pem").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    with structlog.testing.capture_logs() as logs:
        again = KeyStore(tmp_path / "keys").load_or_create("nl-hotline", NOW)
    assert again.tls.cert_pem == old.public_bytes(serialization.Encoding.PEM) != first.tls.cert_pem
    assert [e["event"] for e in logs] == ["keystore.tls_certificate_is_ca"]
