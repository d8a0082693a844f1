"""How fast the webhook view answers: verify, deduplicate, enqueue, 202, over real HTTP.

Posts N signed `issues.opened` deliveries (each with a fresh delivery id, so each is recorded
and enqueued) to `navbot`'s Flask app on the embedded default (SQLite state, SQLite huey),
served on 127.0.0.1 the way `navbot serve` serves it: gunicorn with `webhooks/gunicorn_conf.py`
(gthread), or werkzeug's threaded server in this process with `--server werkzeug`. The
baseline, measured in the same run, is `GET /healthz` on the same server: two small reads
(queue depth, state reachable), no signature check, no write and no enqueue.

    python benchmarks/webhook_latency.py [--requests 500] [--server gunicorn|werkzeug]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from werkzeug.serving import make_server

from navbot.config import load_settings
from navbot.queue import JobQueue
from navbot.state import StateStore
from webhooks import create_app

PAYLOAD = Path(__file__).resolve().parent.parent / "tests" / "payloads" / "issues.opened.json"
SECRET = "benchmark-secret"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _werkzeug(home: Path) -> tuple[str, Callable[[], None]]:
    settings = load_settings(home=home, webhook_secret=SECRET)
    app = create_app(settings, JobQueue(settings), StateStore(settings.state_url()))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server.shutdown


def _gunicorn(home: Path) -> tuple[str, Callable[[], None]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "NAVBOT_HOME": str(home), "NAVBOT_WEBHOOK_SECRET": SECRET}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                               "python:webhooks.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning", "webhooks:create_app()"],
                              env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)

    def stop() -> None:
        server.terminate()
        server.wait(30)

    return base, stop


def main() -> None:
    """Run the benchmark and print medians, p99 and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    args = parser.parse_args()
    for name in ("werkzeug", "navbot.webhooks", "huey"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as home:
        start = _gunicorn if args.server == "gunicorn" else _werkzeug
        base, stop = start(Path(home))
        body = PAYLOAD.read_bytes()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        session = requests.Session()
        webhook: list[float] = []
        health: list[float] = []
        for _ in range(args.requests):
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "issues",
                       "X-GitHub-Delivery": str(uuid.uuid4()),
                       "X-Hub-Signature-256": signature}
            started = time.perf_counter()
            response = session.post(f"{base}/webhooks/github", data=body, headers=headers)
            webhook.append(time.perf_counter() - started)
            assert response.status_code == 202, response.text
            started = time.perf_counter()
            assert session.get(f"{base}/healthz").status_code == 200
            health.append(time.perf_counter() - started)
        stop()
        queued = JobQueue(load_settings(home=Path(home))).depth()
    result = {
        "server": args.server, "requests": args.requests, "queued": queued,
        "webhook_p50_ms": round(statistics.median(webhook) * 1000, 2),
        "webhook_p99_ms": round(_percentile(webhook, 0.99) * 1000, 2),
        "healthz_p50_ms": round(statistics.median(health) * 1000, 2),
        "ratio_p50": round(statistics.median(webhook) / statistics.median(health), 2),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
