"""How fast the webhook view answers: verify, deduplicate, enqueue, 202, over real HTTP.

Posts N signed `issues.opened` deliveries (each with a fresh delivery id, so each is recorded
and enqueued) to `navbot`'s Flask app on the embedded default (SQLite state, SQLite huey),
served by werkzeug on 127.0.0.1. The baseline, measured in the same run, is `GET /healthz` on
the same server: two small reads (queue depth, state reachable), no signature check, no write
and no enqueue.

    python benchmarks/webhook_latency.py [--requests 500]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import statistics
import tempfile
import threading
import time
import uuid
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


def main() -> None:
    """Run the benchmark and print medians, p99 and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    for name in ("werkzeug", "navbot.webhooks", "huey"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), webhook_secret=SECRET)
        queue = JobQueue(settings)
        app = create_app(settings, queue, StateStore(settings.state_url()))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
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
        server.shutdown()
        queued = queue.depth()
    result = {
        "requests": args.requests, "queued": queued,
        "webhook_p50_ms": round(statistics.median(webhook) * 1000, 2),
        "webhook_p99_ms": round(_percentile(webhook, 0.99) * 1000, 2),
        "healthz_p50_ms": round(statistics.median(health) * 1000, 2),
        "ratio_p50": round(statistics.median(webhook) / statistics.median(health), 2),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
