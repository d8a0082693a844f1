"""Webhook latency at fixed offered rates (open loop) under `navbot serve`, beside a trivial app.

    python benchmarks/webhook_latency.py --rates 50,100,200 --seconds 10

For each rate, `rate * seconds` deliveries are sent at their scheduled times (t0 + i/rate),
each on a new connection (as GitHub sends them), by a pool of sender threads (two seconds'
worth of the rate, at least 16, at most 1,000), so a slow answer does not delay the next
send. Latency runs from the scheduled time to the end of the answer, so time a delivery
waits for a sender, for the kernel's accept queue or for a gunicorn thread counts, as it
does for GitHub (no coordinated omission). `send_lag` says how late the sends were: when its
p99 is more than a millisecond or two, the client did not keep up and the figures are the
client's too. The client waits 10 s for an answer (GitHub's timeout); a timeout, a refused
connection or any status but 202 is an error, listed per kind and left out of the
percentiles.

navbot: the real `navbot serve --port 0 --grace 0` in a subprocess on 127.0.0.1, on the
embedded default (SQLite state and queue in a temporary NAVBOT_HOME; every NAVBOT_* variable
of the environment is dropped): gunicorn with `webhooks/gunicorn_conf.py` and one `navbot
worker`. Each delivery is a signed `issues.opened` with a fresh delivery id and issue number,
so each is verified, recorded and enqueued as one `analyse_issue` job. A throwaway RSA key
and App id 1 pass the start checks; NAVBOT_GITHUB_API_URL is a local port that is bound but
never listens, so nothing contacts GitHub: each connection the worker tries is refused at
once, and urllib3's backoff between its 5 retries keeps each job asleep for about 15 s before
it fails and is queued again. The worker's load (leasing jobs, signing JWTs, scheduling
retries, in the same SQLite files) is thus small, lighter than a real one cloning and
indexing. The servers' logs (one INFO line per delivery) go to files beside the homes, in
a temporary folder under TMPDIR: keep it on the disk navbot would use (a tmpfs hides the
cost of SQLite's fsyncs).

Baseline: `benchmarks/trivial_app.py` (reads the body, answers 202, no work) under the same
gunicorn command line `navbot serve` runs (same `webhooks/gunicorn_conf.py`, a socket bound
by `navbot.cli.serving.listen` on 127.0.0.1 handed over as `fd://`), without a worker. Both run
for the whole benchmark; at each rate the baseline goes first, then navbot. Each first gets
20 deliveries one after another, not measured. The client shares the machine's cores.

Prints JSON: per rate and server, p50/p90/p99/max latency, achieved rate, send lag and
errors; and how many of navbot's deliveries were answered 202 and recorded.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import itertools
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.state.store import StateStore
from navbot.cli.serving import gunicorn_child, listen
from navbot.core.errors import NavbotError
from webhooks import gunicorn_conf

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
PAYLOAD = REPO / "tests" / "payloads" / "issues.opened.json"
SECRET = "benchmark-secret"
HOST = "127.0.0.1"
PATH = "/webhooks/github"
ACCEPTED = 202
#: GitHub gives up on a delivery after 10 s; so does the client.
ANSWER_TIMEOUT_S = 10.0
MAX_RATE, MAX_SECONDS = 1000, 60.0
WARMUP = 20
START_TIMEOUT_S = 90.0
#: Sender threads per offered rate: answers may stall this long before a send waits.
SENDERS_S = 2.0
MIN_SENDERS, MAX_SENDERS = 16, 1000
LEAD_S = 0.2  # between the senders' start and the first scheduled send
#: navbot's log line that names the port `--port 0` got.
LISTENING = re.compile(rf"receiving webhooks on http://{re.escape(HOST)}:(\d+)/")


@dataclass(frozen=True)
class Delivery:
    """One signed request, ready to send."""

    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery; times from `time.perf_counter`."""

    scheduled: float
    started: float
    finished: float
    status: int | None  # None: no HTTP answer
    error: str | None  # then the exception's class


@dataclass
class Server:
    """A server process under test, and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    sock: socket.socket | None = None  # the listening socket handed to gunicorn, if ours

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of its log, on one line."""
        text = self.log.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(empty)"

    def check_running(self) -> None:
        """Raise NavbotError if the process has exited."""
        if self.process.poll() is not None:
            raise NavbotError(f"{self.name} exited with code {self.process.returncode}; "
                              f"its log ends: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within 40 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.sock is not None:
            self.sock.close()


def rates_arg(text: str) -> list[int]:
    """`50,100,200` → [50, 100, 200], each a whole number of deliveries per second."""
    try:
        rates = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}") from None
    if not rates or not all(1 <= rate <= MAX_RATE for rate in rates):
        raise argparse.ArgumentTypeError(f"each rate must be between 1 and {MAX_RATE}/s")
    return rates


def seconds_arg(text: str) -> float:
    """A duration in seconds, above 0 and at most MAX_SECONDS."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_SECONDS:g}")
    return seconds


def deliveries(numbers: Iterator[int], count: int) -> list[Delivery]:
    """`count` signed `issues.opened` deliveries, each with a new id and issue number."""
    payload = json.loads(PAYLOAD.read_bytes())
    made = []
    for number in itertools.islice(numbers, count):
        payload["issue"]["number"] = number
        payload["issue"]["id"] = 10**9 + number
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        made.append(Delivery(body, {
            "Content-Type": "application/json", "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": f"latency-{number:08d}", "X-Hub-Signature-256": signature,
            "Connection": "close"}))
    return made


def request(port: int, delivery: Delivery | None) -> tuple[int | None, str | None]:
    """POST `delivery` (or, if None, GET /healthz) on a new connection: (status, None) or
    (None, the error's class)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=ANSWER_TIMEOUT_S)
    try:
        if delivery is None:
            connection.request("GET", "/healthz")
        else:
            connection.request("POST", PATH, delivery.body, delivery.headers)
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__
    finally:
        connection.close()


def sender_count(rate: int, count: int) -> int:
    """Sender threads for an offered rate: SENDERS_S seconds of it, within bounds."""
    return min(count, MAX_SENDERS, max(MIN_SENDERS, math.ceil(rate * SENDERS_S)))


def open_loop(port: int, batch: list[Delivery], rate: int) -> list[Outcome]:
    """Send delivery i at t0 + i/rate, whatever became of the earlier ones; their outcomes."""
    outcomes: list[Outcome | None] = [None] * len(batch)
    indexes = iter(range(len(batch)))
    taking = threading.Lock()
    go = threading.Event()
    t0 = 0.0

    def send() -> None:
        go.wait()
        while True:
            with taking:
                i = next(indexes, None)
            if i is None:
                return
            scheduled = t0 + i / rate
            time.sleep(max(0.0, scheduled - time.perf_counter()))
            started = time.perf_counter()
            status, error = request(port, batch[i])
            outcomes[i] = Outcome(scheduled, started, time.perf_counter(), status, error)

    senders = [threading.Thread(target=send, daemon=True)
               for _ in range(sender_count(rate, len(batch)))]
    for sender in senders:
        sender.start()
    t0 = time.perf_counter() + LEAD_S  # read by the senders only after `go`
    go.set()
    for sender in senders:
        sender.join()
    return [outcome for outcome in outcomes if outcome is not None]


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank q-quantile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(outcomes: list[Outcome], rate: int) -> dict[str, Any]:
    """Latency percentiles of the 202s, achieved rate, send lag and errors by kind."""
    accepted = [o for o in outcomes if o.status == ACCEPTED]
    latency = sorted((o.finished - o.scheduled) * 1000 for o in accepted)
    lag = sorted((o.started - o.scheduled) * 1000 for o in outcomes)
    errors = Counter(o.error or f"HTTP {o.status}" for o in outcomes if o.status != ACCEPTED)
    done = sorted(o.finished for o in accepted)
    # Answers per second between the first and the last: below the offered rate, the
    # server fell behind (or answered with errors).
    achieved = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 else None
    row: dict[str, Any] = {"offered_per_s": rate, "sent": len(outcomes), "ok": len(accepted),
                           "achieved_per_s": None if achieved is None else round(achieved, 1)}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        row[f"{name}_ms"] = round(percentile(latency, q), 2) if latency else None
    row["send_lag_p99_ms"] = round(percentile(lag, 0.99), 2) if lag else None
    row["send_lag_max_ms"] = round(lag[-1], 2) if lag else None
    row["errors"] = dict(sorted(errors.items()))
    return row


def write_key(path: Path) -> Path:
    """A throwaway RSA private key (PEM) for the start check; its JWTs never reach anyone."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def server_env(home: Path, key: Path, github_port: int) -> dict[str, str]:
    """This environment without its NAVBOT_* variables, plus the benchmark's settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("NAVBOT_")}
    return {**env, "NAVBOT_HOME": str(home), "NAVBOT_WEBHOOK_SECRET": SECRET,
            "NAVBOT_APP_ID": "1", "NAVBOT_PRIVATE_KEY_PATH": str(key),
            "NAVBOT_GITHUB_API_URL": f"http://{HOST}:{github_port}",
            "NAVBOT_GITHUB_ALLOW_HTTP": "true",
            # gunicorn's control socket lives there; two servers must not share one.
            "XDG_RUNTIME_DIR": str(home)}


def start_navbot(env: dict[str, str], log: Path) -> Server:
    """`navbot serve` on a port of its choosing; returns once its log names the port."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "navbot", "serve", "--host", HOST, "--port", "0",
             "--grace", "0"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    server = Server("navbot serve", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.port:
        server.check_running()
        if time.monotonic() > deadline:
            server.stop()
            raise NavbotError(f"navbot serve named no port within {START_TIMEOUT_S:g} s")
        found = LISTENING.search(log.read_text(errors="replace"))
        server.port = int(found[1]) if found else 0
        time.sleep(0.1)
    return server


def start_trivial(env: dict[str, str], log: Path) -> Server:
    """The trivial app under the gunicorn command `navbot serve` runs, on its own socket."""
    sock = listen(HOST, 0)
    argv = gunicorn_child(sock).argv
    if argv[-1] != "webhooks:create_app()":
        raise NavbotError(f"navbot.cli.serving's gunicorn command changed shape: {argv}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv[:-1], "--pythonpath", str(BENCHMARKS), "trivial_app:app"], env=env,
            cwd=REPO, pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT)
    return Server("trivial app", process, log, sock.getsockname()[1], sock)


def warm_up(server: Server, numbers: Iterator[int]) -> int:
    """Wait until it answers, then send WARMUP deliveries one by one; how many (all 202)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while request(server.port, None)[0] is None:  # a GET: it leaves no delivery behind
        server.check_running()
        if time.monotonic() > deadline:
            raise NavbotError(f"{server.name} did not answer within {START_TIMEOUT_S:g} s; "
                              f"its log ends: {server.log_tail()}")
        time.sleep(0.2)
    for delivery in deliveries(numbers, WARMUP):
        status, error = request(server.port, delivery)
        if status != ACCEPTED:
            raise NavbotError(f"{server.name} answered a warm-up delivery with "
                              f"{error or f'HTTP {status}'}; its log ends: "
                              f"{server.log_tail()}")
    return WARMUP


def run(rates: list[int], seconds: float, tmp: Path) -> dict[str, Any]:
    """Start both servers, measure every rate on each, stop them; the report."""
    (tmp / "navbot").mkdir()
    (tmp / "trivial").mkdir()
    key = write_key(tmp / "app-key.pem")
    numbers = itertools.count(1)
    servers: list[Server] = []
    # Bound, never listening: every connection to the "GitHub API" is refused at once.
    with socket.socket() as github:
        github.bind((HOST, 0))
        github_port = github.getsockname()[1]
        try:
            navbot = start_navbot(server_env(tmp / "navbot", key, github_port),
                                  tmp / "navbot-serve.log")
            servers.append(navbot)
            trivial = start_trivial(server_env(tmp / "trivial", key, github_port),
                                    tmp / "trivial-gunicorn.log")
            servers.append(trivial)
            answered = warm_up(navbot, numbers)
            warm_up(trivial, numbers)
            rows = []
            for rate in rates:
                count = max(1, round(rate * seconds))
                row: dict[str, Any] = {"offered_per_s": rate}
                for server, name in ((trivial, "trivial"), (navbot, "navbot")):
                    outcomes = open_loop(server.port, deliveries(numbers, count), rate)
                    server.check_running()
                    row[name] = summary(outcomes, rate)
                answered += row["navbot"]["ok"]
                rows.append(row)
        finally:
            for server in servers:
                server.stop()
    recorded = StateStore(f"sqlite:///{tmp / 'navbot' / 'navbot.db'}").delivery_count()
    return {
        "command": " ".join(["python", "benchmarks/webhook_latency.py", "--rates",
                             ",".join(map(str, rates)), "--seconds", f"{seconds:g}"]),
        "gunicorn": {"worker_class": gunicorn_conf.worker_class,
                     "workers": gunicorn_conf.workers, "threads": gunicorn_conf.threads},
        "client": "one process; per rate min(1000, max(16, 2 s of the rate)) sender threads; "
                  "a new connection per delivery; 10 s answer timeout",
        "rates": rows,
        "navbot_deliveries": {"answered_202": answered, "recorded": recorded},
    }


def main() -> None:
    """Parse the arguments, run the benchmark and print its JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=rates_arg, default=[50, 100, 200],
                        help="offered deliveries per second, comma-separated (50,100,200)")
    parser.add_argument("--seconds", type=seconds_arg, default=10.0,
                        help=f"seconds of sending per rate and server (10, at most "
                             f"{MAX_SECONDS:g})")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so both servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="navbot-latency-") as tmp:
            report = run(args.rates, args.seconds, Path(tmp))
    except NavbotError as exc:
        sys.exit(f"webhook_latency: error: {exc}")
    except KeyboardInterrupt:
        sys.exit("webhook_latency: interrupted")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
