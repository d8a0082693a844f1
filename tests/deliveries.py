"""Webhook deliveries for tests: recorded-shape payloads, signatures and headers."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).parent / "payloads"


@cache
def _stored(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def load_payload(name: str, **overrides: Any) -> dict[str, Any]:
    """A fresh copy of `tests/payloads/<name>.json` with `overrides` applied.

    A plain key replaces a top-level value (`action="reopened"`); a key with `__` sets a
    nested one (`sender__type="Bot"`, `pull_request__merged=False`).
    """
    payload = copy.deepcopy(_stored(name.removesuffix(".json")))
    for key, value in overrides.items():
        *parents, last = key.split("__")
        target = payload
        for part in parents:
            target = target[part]
        target[last] = value
    return payload


def signed(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(event: str, body: bytes, secret: str,
                     delivery_id: str | None = None) -> dict[str, str]:
    """The headers of a GitHub delivery of `body` (a fresh delivery id unless given)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/2b7c3e1",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "480011223",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": "90210",
        "X-Hub-Signature-256": signed(body, secret),
    }
