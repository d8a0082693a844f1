"""`navbot serve` as users run it: a real process receiving webhooks over HTTP, its worker
threads cloning, indexing and commenting on the GitHub double."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from bot.comment import MARKER
from navbot.cli import main
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
               "NAVBOT_GITHUB_API_URL": overrides["github_api_url"]}
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
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                raise
