"""Keys, signed-and-sealed envelopes, and their errors. Imports neither grpc nor sqlalchemy."""

from node.crypto.envelope import (
    FORMAT_VERSION,
    OpenedMessage,
    check_times,
    open_envelope,
    seal,
    sign_message,
    signature_input,
    verify_signed_message,
)
from node.crypto.errors import CryptoError, Reason
from node.crypto.keys import SUITES, HpkeKeyPair, PublicHpkeKey, PublicSigningKey, SigningKeyPair, key_id

__all__ = [
    "FORMAT_VERSION",
    "SUITES",
    "CryptoError",
    "HpkeKeyPair",
    "OpenedMessage",
    "PublicHpkeKey",
    "PublicSigningKey",
    "Reason",
    "SigningKeyPair",
    "check_times",
    "key_id",
    "open_envelope",
    "seal",
    "sign_message",
    "signature_input",
    "verify_signed_message",
]
