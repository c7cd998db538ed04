"""TLS certificates for the node-to-node API. The roster pins each member's certificate by SHA-256 of its
DER, so certificates are self-signed: trust comes from the signed roster, not from a CA.

The certificate is a leaf, not a CA (basicConstraints CA:FALSE), so it cannot vouch for any other
certificate; its key signs handshakes only (keyUsage digitalSignature), as a server and as a client, since
nodes authenticate each other with mutual TLS (extendedKeyUsage serverAuth and clientAuth)."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsIdentity", "cert_not_after", "cert_sha256", "is_ca", "make_tls_identity"]


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    cert_pem: bytes
    key_pem: bytes

    @property
    def sha256(self) -> str:
        return cert_sha256(self.cert_pem)


def make_tls_identity(node_id: str, now: datetime, days: int = 825) -> TlsIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(node_id), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return TlsIdentity(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def cert_not_after(pem: bytes) -> datetime:
    """When a PEM certificate expires (UTC). ValueError if it is not one."""
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc


def cert_sha256(pem_or_der: bytes) -> str:
    der = pem_or_der
    if pem_or_der.lstrip().startswith(b"-----BEGIN"):
        der = x509.load_pem_x509_certificate(pem_or_der).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def is_ca(cert_pem: bytes) -> bool:
    """Whether the certificate says it is a CA (older nodes made their leaf one)."""
    try:
        constraints = x509.load_pem_x509_certificate(cert_pem).extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca
