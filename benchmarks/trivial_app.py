"""The baseline of `benchmarks/webhook_latency.py`: a WSGI app that does no work.

It reads the request body (as any receiver must) and answers 202 with a tiny JSON body: no
signature check, no database, no queue, no Flask. Served by gunicorn with navbot's own
settings (`webhooks/gunicorn_conf.py`), what is left of its latency is the server's, the
kernel's and the client's share of navbot's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"ok":true}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read the body, answer 202 with `{"ok":true}`."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("202 Accepted", [("Content-Type", "application/json"),
                                    ("Content-Length", str(len(BODY)))])
    return [BODY]
