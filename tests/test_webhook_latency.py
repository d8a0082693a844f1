"""`benchmarks/webhook_latency.py`: its open loop, its summary, its baseline and a short run."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client

from tests.benchmark_scripts import BENCHMARKS, load_script
from webhooks.signature import verify_signature


@pytest.fixture(scope="module")
def latency() -> ModuleType:
    # Imported by name rather than loaded from its file: dataclasses look their module up
    # in sys.modules.
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))
    return importlib.import_module("webhook_latency")


@contextmanager
def _serve(app: Callable[..., Iterable[bytes]]) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join()


def test_a_slow_answer_does_not_hold_back_the_next_sends(latency: ModuleType) -> None:
    count = 8
    all_arrived = threading.Event()
    seen = 0
    counting = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        nonlocal seen
        with counting:
            seen += 1
            first = seen == 1
            if seen == count:
                all_arrived.set()
        # The first answer waits for every other delivery: a closed loop would never send
        # them, and this one would give up (a deadlock guard, not a measure).
        ok = all_arrived.wait(10) if first else True
        start_response("202 Accepted" if ok else "503 Service Unavailable", [])
        return [b""]

    with _serve(app) as port:
        outcomes = latency.open_loop(port, latency.deliveries(iter(range(1, 99)), count), 100)
    assert [o.status for o in outcomes] == [202] * count
    # The first answer came after the last send began: the sends did not wait for it.
    assert outcomes[0].finished > max(o.started for o in outcomes[1:])
    assert all(o.started >= o.scheduled for o in outcomes)


def test_latency_counts_from_the_scheduled_time_and_errors_stay_out(
        latency: ModuleType) -> None:
    outcome = latency.Outcome
    # 100 answers, the k-th 1 + k ms after its scheduled time (sent 0.5 ms late), then a 503
    # and a timeout, which count as errors and not in the percentiles.
    answered = [outcome(k, k + 0.0005, k + (k + 1) / 1000, 202, None) for k in range(100)]
    failed = [outcome(100, 100.0, 100.001, 503, None),
              outcome(101, 102.0, 112.0, None, "TimeoutError")]
    row = latency.summary(answered + failed, 1)
    assert (row["sent"], row["ok"]) == (102, 100)
    assert (row["p50_ms"], row["p90_ms"], row["p99_ms"], row["max_ms"]) == (50, 90, 99, 100)
    assert row["errors"] == {"HTTP 503": 1, "TimeoutError": 1}
    assert row["send_lag_max_ms"] == 1000.0  # the timed-out one was sent a second late
    assert row["achieved_per_s"] == pytest.approx(1.0, rel=0.01)


def test_each_delivery_is_signed_with_its_own_id_and_issue(latency: ModuleType) -> None:
    batch = latency.deliveries(iter(range(5, 10)), 5)
    assert len({d.headers["X-GitHub-Delivery"] for d in batch}) == 5
    assert [json.loads(d.body)["issue"]["number"] for d in batch] == [5, 6, 7, 8, 9]
    for delivery in batch:
        assert verify_signature(latency.SECRET.encode(), delivery.body,
                                delivery.headers["X-Hub-Signature-256"])


def test_the_trivial_app_reads_the_body_and_answers_202() -> None:
    trivial = load_script("trivial_app")
    response = Client(trivial.app).post("/webhooks/github", data=b"x" * 8000)
    assert response.status_code == 202
    assert response.get_json() == {"ok": True}


@pytest.mark.parametrize(("argv", "message"), [
    (["--rates", "0"], "argument --rates: each rate must be between 1 and 1000/s"),
    (["--rates", "fast"], "argument --rates: not a comma-separated list of integers"),
    (["--seconds", "nan"], "argument --seconds: must be above 0 and at most 60"),
])
def test_a_bad_argument_is_one_line(argv: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, str(BENCHMARKS / "webhook_latency.py"), *argv],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_short_run_under_navbot_serve_loses_nothing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(BENCHMARKS / "webhook_latency.py"),
                             "--rates", "5", "--seconds", "1"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [row] = report["rates"]
    for server in ("trivial", "navbot"):
        assert (row[server]["sent"], row[server]["ok"], row[server]["errors"]) == (5, 5, {})
        assert row[server]["p50_ms"] <= row[server]["p99_ms"] <= row[server]["max_ms"]
    # Every delivery answered 202 (the warm-up's 20 and the 5 measured) was recorded.
    assert report["navbot_deliveries"] == {"answered_202": 25, "recorded": 25}
    assert report["gunicorn"]["worker_class"] == "gthread"
