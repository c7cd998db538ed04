"""The one error the crypto layer raises, with a machine-readable reason a receiver can record."""

from __future__ import annotations

import enum

__all__ = ["CryptoError", "Reason"]


class Reason(enum.StrEnum):
    MALFORMED = "MALFORMED"
    UNSUPPORTED_SUITE = "UNSUPPORTED_SUITE"
    WRONG_RECIPIENT = "WRONG_RECIPIENT"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    DECRYPTION_FAILED = "DECRYPTION_FAILED"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    MISSING_SIGNATURE = "MISSING_SIGNATURE"
    HEADER_MISMATCH = "HEADER_MISMATCH"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"


class CryptoError(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
