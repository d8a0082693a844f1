"""The webhook receiver: signed deliveries in, jobs on a real queue out.

Every test goes through the real Flask app with a real SQLite state store and a real huey
queue on the temporary home; what was enqueued is read back by running the queue with a
runner that records the jobs. Which jobs each event makes is tested in test_webhook_routing.py.
"""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from bot.state.job import Job
from bot.state.queue import JobQueue
from bot.state.schema import pending_deliveries
from bot.state.store import PENDING_GRACE_S, StateStore
from navbot.core.config import load_settings
from navbot.core.errors import ConfigError
from tests.deliveries import delivery_headers, load_payload, signed
from webhooks import LOGGER_NAME, create_app, services
from webhooks.signature import verify_signature

URL = "/webhooks/github"
SHOP = {"installation_id": 42, "repo_id": 1296269, "full_name": "octo-org/shop"}


def build_app(webhook_secret: str | None, **overrides: Any) -> Flask:
    """A webhook app on the test's home (NAVBOT_HOME is set by the `home` fixture)."""
    app_settings = load_settings(webhook_secret=webhook_secret, **overrides)
    return create_app(app_settings, JobQueue(app_settings),
                      StateStore(app_settings.state_url()))


def post(client: FlaskClient, event: str, payload: Any, secret: str,
         delivery_id: str | None = None) -> Any:
    """POST `payload` as GitHub would: JSON body, signed, with delivery headers."""
    body = json.dumps(payload).encode()
    return client.post(URL, data=body, headers=delivery_headers(event, body, secret,
                                                                delivery_id))


# The happy path ---------------------------------------------------------------------------

def test_signed_issue_opened_queues_one_analysis(
        client: FlaskClient, app: Flask, webhook_secret: str,
        run_jobs: Callable[[], list[Job]]) -> None:
    reply = post(client, "issues", load_payload("issues.opened"), webhook_secret,
                 delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")

    assert reply.status_code == 202
    assert reply.json["status"] == "queued"
    expected = Job("analyse_issue", {**SHOP, "number": 7, "trigger": "opened",
                                     "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958"})
    assert reply.json["jobs"] == [expected.key]
    assert run_jobs() == [expected]
    assert services(app).state.delivery_count() == 1


def test_real_http_delivery(app: Flask, webhook_secret: str,
                            run_jobs: Callable[[], list[Job]]) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{URL}"
        body = json.dumps(load_payload("push")).encode()
        reply = requests.post(url, data=body, timeout=10,
                              headers=delivery_headers("push", body, webhook_secret, "d-1"))
        forged = requests.post(url, data=body, timeout=10,
                               headers=delivery_headers("push", body, "guessed", "d-2"))
        health = requests.get(f"http://127.0.0.1:{server.server_port}/healthz", timeout=10)
    finally:
        server.shutdown()
        thread.join()

    assert (reply.status_code, reply.json()["status"]) == (202, "queued")
    assert forged.status_code == 401
    assert health.json() == {"status": "ok", "queue": "ok", "state": "ok", "queue_depth": 1}
    assert run_jobs() == [Job("sync_repository", SHOP)]


# Refusals ---------------------------------------------------------------------------------

def _headers_without_signature(body: bytes, secret: str) -> dict[str, str]:
    headers = delivery_headers("issues", body, secret)
    del headers["X-Hub-Signature-256"]
    return headers


@pytest.mark.parametrize("make_headers", [
    pytest.param(lambda body, secret: delivery_headers("issues", body, "not the secret"),
                 id="wrong-secret"),
    pytest.param(_headers_without_signature, id="missing"),
    pytest.param(lambda body, secret: delivery_headers("issues", body + b" ", secret)
                 | {"X-Hub-Signature-256": signed(b"{}", secret)}, id="other-body"),
    pytest.param(lambda body, secret: delivery_headers("issues", body, secret)
                 | {"X-Hub-Signature-256": signed(body, secret).replace("sha256", "sha1")},
                 id="sha1-prefix"),
    pytest.param(lambda body, secret: delivery_headers("issues", body, secret)
                 | {"X-Hub-Signature-256": "sha256=zz"}, id="malformed"),
])
def test_bad_signature_is_refused_and_leaves_no_trace(
        client: FlaskClient, app: Flask, webhook_secret: str,
        run_jobs: Callable[[], list[Job]],
        make_headers: Callable[[bytes, str], dict[str, str]]) -> None:
    body = json.dumps(load_payload("issues.opened")).encode()

    reply = client.post(URL, data=body, headers=make_headers(body, webhook_secret))

    assert reply.status_code == 401
    assert "X-Hub-Signature-256" in reply.json["error"]
    assert services(app).state.delivery_count() == 0
    assert services(app).queue.depth() == 0
    assert run_jobs() == []


def test_verify_signature_matches_githubs_documented_example() -> None:
    # The example in GitHub's "Validating webhook deliveries" documentation.
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert verify_signature(b"It's a Secret to Everybody", b"Hello, World!", header)
    assert not verify_signature(b"It's a Secret to Everybody", b"Hello, World?", header)
    assert not verify_signature(b"", b"Hello, World!", header)
    assert not verify_signature(b"It's a Secret to Everybody", b"Hello, World!", None)
    assert not verify_signature(b"secret", b"x", "sha256=" + "é" * 64)


def test_oversized_content_length_is_refused_before_reading(home: Path,
                                                            webhook_secret: str) -> None:
    app = build_app(webhook_secret, max_payload_bytes=1024)
    body = json.dumps(load_payload("issues.opened")).encode()
    assert len(body) > 1024

    reply = app.test_client().post(URL, data=body,
                                   headers=delivery_headers("issues", body, webhook_secret))

    assert reply.status_code == 413
    assert "1024 bytes" in reply.json["error"]
    assert services(app).state.delivery_count() == 0


class CountingStream(io.BytesIO):
    """A request body that counts how many bytes the app read from it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_body_without_content_length_is_read_only_up_to_the_limit(
        home: Path, webhook_secret: str) -> None:
    app = build_app(webhook_secret, max_payload_bytes=1024)
    body = b'{"padding": "' + b"x" * 100_000 + b'"}'
    builder = EnvironBuilder(path=URL, method="POST", data=body,
                             headers=list(delivery_headers("issues", body,
                                                           webhook_secret).items()))
    environ = builder.get_environ()
    # What a server sets for a chunked request: no length, the stream ends by itself.
    del environ["CONTENT_LENGTH"]
    stream = CountingStream(body)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})

    app_iter, status, _headers = run_wsgi_app(app, environ, buffered=True)

    assert status.startswith("413")
    assert json.loads(b"".join(app_iter))["error"].startswith("payload is larger")
    assert stream.bytes_read <= 1025


def test_chunked_oversize_over_real_http(home: Path, webhook_secret: str) -> None:
    app = build_app(webhook_secret, max_payload_bytes=1024)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    body = b'{"padding": "' + b"x" * 3000 + b'"}'
    try:
        # A generator body makes requests send it chunked, without Content-Length.
        reply = requests.post(f"http://127.0.0.1:{server.server_port}{URL}",
                              data=(body[i:i + 500] for i in range(0, len(body), 500)),
                              headers=delivery_headers("issues", body, webhook_secret),
                              timeout=10)
    finally:
        server.shutdown()
        thread.join()

    assert reply.status_code == 413
    assert services(app).state.delivery_count() == 0


def test_body_of_exactly_the_limit_is_accepted(home: Path, webhook_secret: str) -> None:
    app = build_app(webhook_secret, max_payload_bytes=1024)
    body = json.dumps({"zen": load_payload("ping")["zen"], "hook_id": 480011223}).encode()
    body += b" " * (1024 - len(body))

    reply = app.test_client().post(URL, data=body,
                                   headers=delivery_headers("ping", body, webhook_secret))

    assert (reply.status_code, reply.json) == (200, {"status": "pong"})


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b'{"action": "opened",', "application/json", "not valid JSON"),
    (b"\xff\xfe{}", "application/json", "not valid JSON"),
    (b'[{"action": "opened"}]', "application/json", "must be a JSON object, not list"),
    (b"payload=%7B%7D", "application/x-www-form-urlencoded", "content type to application/json"),
])
def test_malformed_payload_is_a_clear_400(client: FlaskClient, app: Flask,
                                          webhook_secret: str, body: bytes,
                                          content_type: str, message: str) -> None:
    headers = delivery_headers("issues", body, webhook_secret) | {"Content-Type": content_type}

    reply = client.post(URL, data=body, headers=headers)

    assert reply.status_code == 400
    assert message in reply.json["error"]
    assert services(app).state.delivery_count() == 0


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_header_is_400(client: FlaskClient, app: Flask, webhook_secret: str,
                                      header: str) -> None:
    body = json.dumps(load_payload("issues.opened")).encode()
    headers = delivery_headers("issues", body, webhook_secret)
    del headers[header]

    reply = client.post(URL, data=body, headers=headers)

    assert reply.status_code == 400
    assert header in reply.json["error"]
    assert services(app).state.delivery_count() == 0


def test_signed_payload_missing_a_field_is_400_and_not_recorded(
        client: FlaskClient, app: Flask, webhook_secret: str) -> None:
    payload = load_payload("issues.opened")
    del payload["installation"]

    reply = post(client, "issues", payload, webhook_secret)

    assert reply.status_code == 400
    assert "installation" in reply.json["error"]
    assert services(app).state.delivery_count() == 0


@pytest.mark.parametrize(("overrides", "raw", "where"), [
    ({"issue": ["not", "an", "object"]}, None, "issue: Input should be a valid dictionary"),
    ({"issue": None}, None, "issue: Input should be a valid dictionary"),
    ({"installation__id": "42"}, None, "installation.id: Input should be a valid integer"),
    ({"installation__id": [42]}, None, "installation.id: Input should be a valid integer"),
    ({"installation__id": 2**70}, None, "installation.id: Input should be less than"),
    ({"installation__id": -1}, None, "installation.id: Input should be greater than 0"),
    ({"installation__id": "__huge__"}, b"1e400", "installation.id: Input should be a valid"),
    ({"repository__full_name": "shop"}, None, "repository.full_name: Value error, is not"),
    ({"repository__full_name": "octo-org/.."}, None, "repository.full_name: Value error"),
    ({"issue__number": True}, None, "issue.number: Input should be a valid integer"),
    ({"action": "opened\ud800"}, None, "action: Input should be a valid string"),
    ({"action": "opened\n"}, None, "action: String should match pattern"),
    ({"sender__login": "alice\u0000"}, None, "sender.login: Value error, holds a NUL"),
])
def test_signed_payload_of_the_wrong_shape_is_400_naming_the_field(
        client: FlaskClient, app: Flask, webhook_secret: str, overrides: dict[str, Any],
        raw: bytes | None, where: str) -> None:
    # json.dumps writes a lone surrogate and NUL as "\ud800" and "\u0000" escapes, as a
    # sender would; the parser turns them back into those characters.
    body = json.dumps(load_payload("issues.opened", **overrides)).encode()
    if raw is not None:
        body = body.replace(b'"__huge__"', raw)
    reply = client.post(URL, data=body, headers=delivery_headers("issues", body,
                                                                 webhook_secret))

    assert reply.status_code == 400
    assert where in reply.json["error"]
    assert "\n" not in reply.json["error"]
    assert services(app).state.delivery_count() == 0


@pytest.mark.parametrize(("event", "name", "overrides"), [
    ("issue_comment", "issue_comment.created", {"comment__body": 42}),
    ("issue_comment", "issue_comment.created", {"comment": "hello"}),
    ("issues", "issues.edited", {"changes": ["title"]}),
    ("pull_request", "pull_request.closed", {"pull_request": [1]}),
    ("pull_request", "pull_request.closed", {"pull_request__merged": "yes"}),
    ("push", "push", {"repository__default_branch": None}),
    ("installation", "installation.created", {"installation": "42"}),
    ("installation_repositories", "installation_repositories.added",
     {"repositories_added": [{"id": "1", "full_name": "octo-org/shop"}]}),
])
def test_each_handler_refuses_what_it_cannot_read(client: FlaskClient, app: Flask,
                                                  webhook_secret: str, event: str, name: str,
                                                  overrides: dict[str, Any]) -> None:
    reply = post(client, event, load_payload(name, **overrides), webhook_secret)

    assert reply.status_code == 400
    assert reply.json["error"].startswith(f"{name} payload is not what navbot reads: ")
    assert services(app).state.delivery_count() == 0


def test_other_http_errors_are_json(client: FlaskClient) -> None:
    assert client.get(URL).status_code == 405
    assert "error" in client.get(URL).json
    assert "error" in client.get("/nowhere").json


# Deduplication and failures ---------------------------------------------------------------

def test_redelivery_is_acknowledged_once(client: FlaskClient, webhook_secret: str,
                                         run_jobs: Callable[[], list[Job]]) -> None:
    payload = load_payload("issues.opened")

    first = post(client, "issues", payload, webhook_secret, delivery_id="same-delivery")
    again = post(client, "issues", payload, webhook_secret, delivery_id="same-delivery")

    assert first.status_code == 202
    assert (again.status_code, again.json) == (200, {"status": "duplicate"})
    assert [job.name for job in run_jobs()] == ["analyse_issue"]


def test_the_same_delivery_a_thousand_times_from_twenty_threads_makes_one_job(
        app: Flask, webhook_secret: str, run_jobs: Callable[[], list[Job]]) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}{URL}"
    body = json.dumps(load_payload("issues.opened")).encode()
    headers = delivery_headers("issues", body, webhook_secret, "one-delivery")
    statuses: list[int] = []

    def deliver() -> None:
        with requests.Session() as session:
            for _ in range(50):
                statuses.append(session.post(url, data=body, headers=headers,
                                             timeout=30).status_code)

    senders = [threading.Thread(target=deliver) for _ in range(20)]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    finally:
        server.shutdown()
        serving.join()

    assert sorted(set(statuses)) == [200, 202] and statuses.count(202) == 1
    assert len(statuses) == 1000
    assert [job.name for job in run_jobs()] == ["analyse_issue"]


def test_a_crash_between_recording_and_enqueueing_is_healed_by_the_redelivery(
        app: Flask, client: FlaskClient, webhook_secret: str,
        run_jobs: Callable[[], list[Job]], monkeypatch: pytest.MonkeyPatch) -> None:
    queue = services(app).queue
    state = services(app).state
    real_enqueue = queue.enqueue
    crashes = [RuntimeError("the process died here")]

    def enqueue_or_crash(job: Job, delay_s: float | None = None) -> None:
        if crashes:
            raise crashes.pop()
        real_enqueue(job, delay_s)

    monkeypatch.setattr(queue, "enqueue", enqueue_or_crash)
    payload = load_payload("issues.opened")

    crashed = post(client, "issues", payload, webhook_secret, delivery_id="d-crash")
    assert crashed.status_code == 500 and state.delivery_count() == 1
    # Within the grace the first request may still be at work: a redelivery waits its turn.
    early = post(client, "issues", payload, webhook_secret, delivery_id="d-crash")
    assert (early.status_code, early.json) == (200, {"status": "duplicate"})
    with state.engine.begin() as conn:  # the grace passes
        conn.execute(update(pending_deliveries).values(
            claimed_at=pending_deliveries.c.claimed_at - PENDING_GRACE_S - 1))

    healed = post(client, "issues", payload, webhook_secret, delivery_id="d-crash")
    again = post(client, "issues", payload, webhook_secret, delivery_id="d-crash")

    assert healed.status_code == 202
    assert (again.status_code, again.json) == (200, {"status": "duplicate"})
    assert [job.key for job in run_jobs()] == healed.json["jobs"]


def test_a_state_database_from_before_pending_deliveries_still_deduplicates(
        tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE deliveries (delivery_id VARCHAR(64) PRIMARY KEY, "
                     "event VARCHAR(64) NOT NULL, action VARCHAR(64), received_at FLOAT "
                     "NOT NULL)")
        conn.execute("INSERT INTO deliveries VALUES ('old-1', 'issues', 'opened', 0)")
    conn.close()
    state = StateStore(f"sqlite:///{db}")

    assert not state.record_delivery("old-1", "issues", "opened")  # done before the upgrade
    assert state.record_delivery("new-1", "issues", "opened")
    state.finish_delivery("new-1")
    assert not state.record_delivery("new-1", "issues", "opened", retry_pending_after_s=0)
    assert state.delivery_count() == 2


def test_unreachable_queue_answers_503_and_the_redelivery_is_processed(
        home: Path, webhook_secret: str) -> None:
    good = load_settings(webhook_secret=webhook_secret)
    state = StateStore(good.state_url())
    broken = load_settings(webhook_secret=webhook_secret, redis_url="redis://127.0.0.1:1/0")
    down = create_app(broken, JobQueue(broken), state)
    up = create_app(good, JobQueue(good), state)
    payload = load_payload("issues.opened")

    failed = post(down.test_client(), "issues", payload, webhook_secret, delivery_id="d-503")
    assert failed.status_code == 503
    assert "queue" in failed.json["error"]
    assert state.delivery_count() == 0

    retried = post(up.test_client(), "issues", payload, webhook_secret, delivery_id="d-503")
    assert retried.status_code == 202
    assert state.delivery_count() == 1


# ping, health, app factory, logging -------------------------------------------------------

def test_ping_is_answered_and_enqueues_nothing(client: FlaskClient, app: Flask,
                                                webhook_secret: str,
                                                run_jobs: Callable[[], list[Job]]) -> None:
    reply = post(client, "ping", load_payload("ping"), webhook_secret)

    assert (reply.status_code, reply.json) == (200, {"status": "pong"})
    assert run_jobs() == []


def test_healthz_ok_reports_queue_depth(client: FlaskClient, webhook_secret: str) -> None:
    assert client.get("/healthz").json == {"status": "ok", "queue": "ok", "state": "ok",
                                           "queue_depth": 0}
    post(client, "installation_repositories", load_payload("installation_repositories.added"),
         webhook_secret)

    reply = client.get("/healthz")

    assert (reply.status_code, reply.json["queue_depth"]) == (200, 2)


def test_healthz_with_unreachable_queue_is_503(home: Path, webhook_secret: str) -> None:
    app = build_app(webhook_secret, redis_url="redis://127.0.0.1:1/0")

    reply = app.test_client().get("/healthz")

    assert reply.status_code == 503
    assert reply.json == {"status": "unavailable", "queue": "unreachable", "state": "ok",
                          "queue_depth": None}


@pytest.mark.parametrize("secret", [None, ""])
def test_create_app_without_secret_refuses(home: Path, monkeypatch: pytest.MonkeyPatch,
                                           secret: str | None) -> None:
    monkeypatch.delenv("NAVBOT_WEBHOOK_SECRET", raising=False)
    bare = load_settings(webhook_secret=secret)

    with pytest.raises(ConfigError, match="NAVBOT_WEBHOOK_SECRET is not set"):
        create_app(bare)
    assert not (home / "navbot.db").exists()


def test_create_app_from_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What `gunicorn 'webhooks:create_app()'` does.
    monkeypatch.setenv("NAVBOT_WEBHOOK_SECRET", "from-env")
    client = create_app().test_client()

    reply = post(client, "issues", load_payload("issues.opened"), "from-env")

    assert reply.status_code == 202
    assert (home / "navbot.db").exists() and (home / "queue.db").exists()


def test_log_lines_carry_the_delivery_id(client: FlaskClient, webhook_secret: str) -> None:
    handler = logging.getLogger(LOGGER_NAME).handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        post(client, "issues", load_payload("issues.opened"), webhook_secret,
             delivery_id="log-delivery-1")
        body = b"{}"
        client.post(URL, data=body, headers=delivery_headers("issues", body, "wrong",
                                                             "log-delivery-2"))
    finally:
        handler.setStream(previous)

    lines = captured.getvalue().splitlines()
    assert any("[delivery log-delivery-1]" in line and "queued 1 job" in line
               for line in lines)
    assert any("[delivery log-delivery-2]" in line and "X-Hub-Signature-256" in line
               for line in lines)


def test_webhook_path_imports_nothing_heavy(home: Path) -> None:
    script = (
        "import sys, json\n"
        "from navbot.core.config import load_settings\n"
        "from webhooks import create_app\n"
        "create_app(load_settings(webhook_secret='s')).test_client().get('/healthz')\n"
        "print(json.dumps(sorted(m for m in ('torch', 'chromadb', 'github',"
        " 'sentence_transformers') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)

    assert json.loads(out.stdout) == []
