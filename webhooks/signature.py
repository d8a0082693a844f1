"""Checking that a webhook delivery was signed by GitHub with the App's webhook secret."""

from __future__ import annotations

import hashlib
import hmac
import re

_HEADER = re.compile(r"sha256=([0-9a-fA-F]{64})")


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` (`X-Hub-Signature-256`) is the HMAC-SHA256 of `body` under `secret`.

    A missing or malformed header, or an empty secret, never verifies.
    """
    if not secret or not header:
        return False
    match = _HEADER.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    # Compare digests in constant time so the response time leaks nothing about the secret.
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))
