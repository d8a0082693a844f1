"""`navbot serve` as users run it: a real process receiving webhooks over HTTP, its worker
threads cloning, indexing and commenting on the GitHub double."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from bot.comment import MARKER
from navbot.cli.main import main
from tests.deliveries import delivery_headers, load_payload
from tests.evalfixture import ISSUES, build_eval_repo
from tests.github_double import GitHubDouble
from tests.waiting import wait_for

SECRET = "serve-secret"
SHOP = "octo-org/shop"


def test_serve_refuses_to_start_without_a_webhook_secret(runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "NAVBOT_WEBHOOK_SECRET is not set" in result.output
    assert "Traceback" not in result.output


def test_serve_answers_an_issue_end_to_end(tmp_path: Path) -> None:
    with GitHubDouble() as github:
        build_eval_repo(tmp_path / "shop")
        github.add_installation(42, "octo-org")
        github.add_repo(42, SHOP, tmp_path / "shop")
        title, body = ISSUES["emails"].split("\n\n", 1)
        github.add_issue(SHOP, 7, title, body)
        overrides = github.settings_overrides()
        env = {**os.environ, "NAVBOT_HOME": str(tmp_path / "home"),
               "NAVBOT_WEBHOOK_SECRET": SECRET, "NAVBOT_APP_ID": str(overrides["app_id"]),
               "NAVBOT_PRIVATE_KEY": overrides["private_key"],
               "NAVBOT_GITHUB_API_URL": overrides["github_api_url"],
               "NAVBOT_GITHUB_ALLOW_HTTP": str(overrides["github_allow_http"]).lower(),
               "NAVBOT_DEFAULT_MODE": "auto"}  # it waits for a comment: auto mode posts
        server = subprocess.Popen([sys.executable, "-m", "navbot", "serve", "--port", "0"],
                                  env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert server.stderr is not None
            url = None
            for line in server.stderr:
                found = re.search(r"receiving webhooks on (http://\S+)", line)
                if found:
                    url = found[1]
                    break
            assert url is not None, "serve did not start"
            # Keep reading its log, or a full pipe would block the server.
            log: list[str] = []
            threading.Thread(target=lambda: log.extend(server.stderr or []),
                             daemon=True).start()
            base = url.removesuffix("/webhooks/github")
            assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"

            def deliver(event: str, payload: dict[str, object]) -> int:
                data = json.dumps(payload).encode()
                started = time.perf_counter()
                response = requests.post(url, data=data, timeout=5,
                                         headers=delivery_headers(event, data, SECRET))
                # The view only verifies, records and enqueues: it never waits for the work.
                assert time.perf_counter() - started < 2.0
                return response.status_code

            assert deliver("installation", load_payload("installation.created",
                                                        installation__id=42)) == 202
            assert deliver("issues", github.issue_webhook(SHOP, 7)) == 202
            try:
                wait_for(lambda: any(MARKER in c["body"] for c in github.comments(SHOP, 7)),
                          timeout=120, what="navbot's comment")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; serve's log ends:\n{''.join(log[-20:])}") from None
            [comment] = [c for c in github.comments(SHOP, 7) if MARKER in c["body"]]
            assert "shop/emails.py" in comment["body"]

            # The worker is a process of its own, which serve starts again when it dies.
            def workers() -> list[int]:
                return [int(pid) for pid in re.findall(r"started worker \(pid (\d+)\)",
                                                       "".join(log))]
            [first] = workers()
            os.kill(first, signal.SIGKILL)
            wait_for(lambda: len(workers()) == 2, timeout=30, what="the worker's restart")
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                raise


# Fail at start, not at the first job --------------------------------------------------------
def _start_env(tmp_path: Path, github_key: str, **extra: str | None) -> dict[str, str]:
    """A clean environment for serve or worker; an `extra` of None unsets the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVBOT_")}
    env.update({"NAVBOT_HOME": str(tmp_path / "home"), "NAVBOT_WEBHOOK_SECRET": SECRET,
                "NAVBOT_APP_ID": "4242", "NAVBOT_PRIVATE_KEY": github_key})
    env.update({k: v for k, v in extra.items() if v is not None})
    return {k: v for k, v in env.items() if extra.get(k, "") is not None}


def _refusal(env: dict[str, str], *command: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "navbot", *command], env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


BAD_STARTS: dict[str, tuple[dict[str, str | None], int, str]] = {
    "no App id": ({"NAVBOT_APP_ID": None}, 2, "set NAVBOT_APP_ID"),
    "a private key file that does not exist": (
        {"NAVBOT_PRIVATE_KEY": None, "NAVBOT_PRIVATE_KEY_PATH": "/nonexistent/app.pem"}, 2,
        "cannot read the App's private key"),
    "a private key that does not parse": ({"NAVBOT_PRIVATE_KEY": "not a key"}, 2,
                                          "does not hold an unencrypted PEM private key"),
    "an unreachable Redis": ({"NAVBOT_REDIS_URL": "redis://127.0.0.1:1/0"}, 1,
                             "the job queue (Redis at 127.0.0.1:1) does not answer"),
}


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("case", list(BAD_STARTS))
def test_serve_and_worker_refuse_to_start_with_one_line(tmp_path: Path, command: str,
                                                         case: str) -> None:
    with GitHubDouble() as github:
        key = github.private_key_pem
    extra, exit_code, message = BAD_STARTS[case]
    env = _start_env(tmp_path, key, **extra)
    code, stderr = _refusal(env, command, "--port", "0") if command == "serve" else \
        _refusal(env, command)
    assert code == exit_code, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("navbot: error: ") and message in line, line


def test_serve_refuses_without_a_webhook_secret_before_anything_starts(tmp_path: Path) -> None:
    with GitHubDouble() as github:
        env = _start_env(tmp_path, github.private_key_pem, NAVBOT_WEBHOOK_SECRET=None)
    code, stderr = _refusal(env, "serve", "--port", "0")
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert "NAVBOT_WEBHOOK_SECRET is not set" in line


def test_the_procfile_web_line_starts_gunicorn_workers_on_twenty_fresh_homes(
        tmp_path: Path) -> None:
    procfile = (Path(__file__).parents[1] / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    command = shlex.split(web.removeprefix("web:").replace("${PORT:-8000}", "0"))
    assert command[0] == "gunicorn"
    # Two workers on a fresh home used to race to create the schema; each start here is on
    # a home of its own, and every one must come up.
    for start in range(20):
        log = _start_gunicorn([sys.executable, "-m", *command], tmp_path / f"start-{start}")
        assert "already exists" not in log and "Traceback" not in log, log
        assert log.count("Booting worker") == 2 and "gthread" in log


def _start_gunicorn(command: list[str], root: Path) -> str:
    """Start `command` (gunicorn) on a free port and a fresh home, check it answers, stop
    it; return its log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = list(command)
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    env = {**_start_env(root, "unused"), "PYTHONUNBUFFERED": "1"}
    web_server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: _healthy(port) or web_server.poll() is not None, 60, "gunicorn")
        assert web_server.poll() is None, web_server.stderr.read() if web_server.stderr else ""
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()[
            "state"] == "ok"
    finally:
        web_server.send_signal(signal.SIGTERM)
        web_server.wait(30)
    return web_server.stderr.read() if web_server.stderr else ""


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
