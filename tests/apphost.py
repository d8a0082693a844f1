"""navbot's App in this process (webhook app, SQLite queue, worker) against the doubles.

One harness for every test of the App end to end: `install_shop` builds the shop repository,
installs the App on it over the GitHub double and syncs it (clone, index, ingest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.comment import MARKER
from bot.state.queue import JobQueue
from bot.state.store import StateStore
from bot.worker import Worker
from navbot.core.config import Settings, load_settings
from tests.deliveries import delivery_headers, load_payload
from tests.evalfixture import build_eval_repo
from tests.gitfixture import GitFixture
from tests.github_double import GitHubDouble
from webhooks import create_app

SHOP = "octo-org/shop"
INSTALLATION = 42
SECRET = "apphost-secret"


@dataclass
class AppHost:
    """The running App, installed on octo-org/shop (the eval shop repository)."""

    github: GitHubDouble
    settings: Settings
    state: StateStore
    queue: JobQueue
    client: FlaskClient
    repo: GitFixture
    repo_id: int
    overrides: dict[str, Any]

    def deliver(self, event: str, payload: dict[str, Any], delivery_id: str | None = None,
                secret: str = SECRET) -> TestResponse:
        """Send a signed webhook to navbot and return the response."""
        body = json.dumps(payload).encode()
        return self.client.post("/webhooks/github", data=body,
                                headers=delivery_headers(event, body, secret, delivery_id))

    def accept(self, event: str, payload: dict[str, Any], delivery_id: str | None = None
               ) -> None:
        """Send a signed webhook; it must be accepted."""
        response = self.deliver(event, payload, delivery_id)
        assert response.status_code == 202, response.get_data(as_text=True)

    def work(self) -> int:
        """Let the worker run every job that is due."""
        return self.queue.run_pending()

    def comments(self, number: int) -> list[dict[str, Any]]:
        """navbot's comments on an issue, as GitHub holds them."""
        return [c for c in self.github.comments(SHOP, number) if MARKER in c["body"]]

    def comment_writes(self) -> list[dict[str, Any]]:
        """Every comment created or edited on GitHub so far."""
        return [w for w in self.github.writes if w["action"] in ("create_comment",
                                                                 "edit_comment")]

    def command(self, number: int, text: str, **overrides: Any) -> tuple[int, dict[str, Any]]:
        """Comment `text` on an issue; return the comment's id and its webhook payload."""
        comment_id = self.github.add_comment(SHOP, number, text)
        payload = load_payload("issue_comment.created", installation__id=INSTALLATION,
                               repository__id=self.repo_id, repository__full_name=SHOP,
                               issue__number=number, comment__id=comment_id,
                               comment__body=text, **overrides)
        return comment_id, payload

    def issue_event(self, number: int, action: str, **extra: Any) -> dict[str, Any]:
        """An `issues` payload for an issue the double holds."""
        return {**self.github.issue_webhook(SHOP, number, action), **extra}

    def merge_pull(self, number: int, title: str, body: str, files: list[str]) -> None:
        """A pull request merged on GitHub, delivered and worked (ingested)."""
        self.github.add_pull(SHOP, number, title, body, files=files)
        payload = load_payload("pull_request.closed", installation__id=INSTALLATION,
                               repository__id=self.repo_id, repository__full_name=SHOP,
                               number=number, pull_request__number=number,
                               pull_request__merged=True)
        self.accept("pull_request", payload)
        self.work()


def install_shop(tmp_path: Path, github: GitHubDouble, *, history: bool = False,
                 **overrides: Any) -> AppHost:
    """Build the shop repository, install the App on it and sync it (clone, index, ingest).

    With `history`, GitHub also holds a closed issue (#3) and the merged PR that fixed it
    (#4) before the App is installed. Repositories are in auto mode unless `overrides` say
    otherwise (shadow, the default, has tests of its own).
    """
    build_eval_repo(tmp_path / "shop")
    github.add_installation(INSTALLATION, "octo-org")
    repo_id = github.add_repo(INSTALLATION, SHOP, tmp_path / "shop")
    if history:
        github.add_issue(SHOP, 3, "Cart total is wrong when a discount code is used",
                         "The cart total ignores the discount code at checkout.",
                         state="closed", state_reason="completed")
        github.add_pull(SHOP, 4, "Apply discounts in Cart.total", "Fixes #3",
                        files=["shop/cart.py"])
    values = {"home": tmp_path / "home", "webhook_secret": SECRET, "embeddings": False,
              "job_retry_delay_s": 0, "default_mode": "auto", **overrides,
              **github.settings_overrides()}
    settings = load_settings(**values)
    state = StateStore(settings.state_url())
    queue = JobQueue(settings)
    Worker(settings, state, queue).bind()
    host = AppHost(github, settings, state, queue,
                   create_app(settings, queue, state).test_client(),
                   GitFixture(tmp_path / "shop"), repo_id, values)
    host.accept("installation", load_payload("installation.created",
                                             installation__id=INSTALLATION))
    host.work()
    assert (state.repository(repo_id) or {}).get("index_commit")
    return host
