"""gunicorn's settings for the webhook app, shared by `navbot serve` and the Procfile:

    gunicorn -c python:webhooks.gunicorn_conf --bind 0.0.0.0:8000 'webhooks:create_app()'

gthread workers: each connection is served by one of a worker's threads, so a slow client
holds a thread, not the process (a sync worker would stall on it for the whole `timeout`),
and idle keep-alive connections wait in the worker's event loop, not in a thread. The
webhook view only verifies, records and enqueues, so a few threads per process go far; a
buffering proxy in front (nginx) is still the answer to many hostile slow clients.
"""

from __future__ import annotations

import sys
from typing import Any

worker_class = "gthread"
workers = 2
threads = 8
#: A worker whose main loop has not checked in for this long is restarted; with gthread a
#: slow request does not block that loop.
timeout = 30
#: On SIGTERM, requests in progress get this long to finish.
graceful_timeout = 20
#: Seconds an idle keep-alive connection stays open (GitHub opens one per delivery).
keepalive = 5


def on_starting(server: Any) -> None:
    """Before any worker forks: check the settings and create the schema, once.

    Every worker builds the app; were the tables created there, two workers on a fresh
    database would race to create them. A setting that cannot work stops gunicorn here with
    one line instead of a traceback per worker.
    """
    from navbot.core.config import load_settings
    from navbot.core.errors import NavbotError
    from webhooks.preflight import web_ready

    try:
        web_ready(load_settings())
    except NavbotError as exc:
        print(f"navbot: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
