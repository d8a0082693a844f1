"""navbot's App in this process (webhook app, SQLite queue, worker) against the doubles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from bot.state.queue import JobQueue
from bot.state.store import StateStore
from bot.worker import Worker
from navbot.core.config import Settings, load_settings
from tests.deliveries import delivery_headers, load_payload
from tests.evalfixture import build_eval_repo
from tests.github_double import GitHubDouble
from webhooks import create_app

SHOP = "octo-org/shop"
INSTALLATION = 42
SECRET = "apphost-secret"


@dataclass
class AppHost:
    """The running App, installed on octo-org/shop (the eval shop repository)."""

    settings: Settings
    state: StateStore
    queue: JobQueue
    client: FlaskClient
    repo_id: int
    overrides: dict[str, Any]

    def deliver(self, event: str, payload: dict[str, Any]) -> None:
        """Send a signed webhook; it must be accepted."""
        body = json.dumps(payload).encode()
        response = self.client.post("/webhooks/github", data=body,
                                    headers=delivery_headers(event, body, SECRET, None))
        assert response.status_code == 202, response.get_data(as_text=True)


def install_shop(tmp_path: Path, github: GitHubDouble, **overrides: Any) -> AppHost:
    """Build the shop repository, install the App on it and sync it (clone, index, ingest)."""
    build_eval_repo(tmp_path / "shop")
    github.add_installation(INSTALLATION, "octo-org")
    repo_id = github.add_repo(INSTALLATION, SHOP, tmp_path / "shop")
    values = {"home": tmp_path / "home", "webhook_secret": SECRET, "embeddings": False,
              "job_retry_delay_s": 0, **overrides, **github.settings_overrides()}
    settings = load_settings(**values)
    state = StateStore(settings.state_url())
    queue = JobQueue(settings)
    Worker(settings, state, queue).bind()
    host = AppHost(settings, state, queue, create_app(settings, queue, state).test_client(),
                   repo_id, values)
    host.deliver("installation", load_payload("installation.created",
                                              installation__id=INSTALLATION))
    queue.run_pending()
    assert (state.repository(repo_id) or {}).get("index_commit")
    return host
