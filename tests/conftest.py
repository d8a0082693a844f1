"""Shared fixtures: settings on a temporary home, a CLI runner, fixture repositories, and the
webhook app with its test client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from bot.state.job import Job
from indexer.build import Indexer
from indexer.gitrepo import GitRepo
from navbot.core.config import Settings, load_settings
from retrieval.corpus import DocumentCache
from retrieval.search_index import SearchIndex
from tests.evalfixture import build_eval_repo
from tests.gitfixture import GitFixture, build_history_repo


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty NAVBOT_HOME for this test only."""
    data = tmp_path / "navbot-home"
    monkeypatch.setenv("NAVBOT_HOME", str(data))
    return data


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings read from the environment, on the temporary home."""
    return load_settings()


@pytest.fixture
def runner(home: Path) -> CliRunner:
    """A click runner for the `navbot` command."""
    return CliRunner()


@pytest.fixture
def shop_search(tmp_path: Path, settings: Settings) -> SearchIndex:
    """Search over the shop fixture at its newest main commit (lexical, history, graph)."""
    path = tmp_path / "shop"
    build_eval_repo(path)
    indexed = Indexer(settings).index(path)
    return SearchIndex.build(DocumentCache().build(GitRepo(path), indexed.facts), indexed.graph)


@pytest.fixture
def history_repo(tmp_path: Path) -> tuple[GitFixture, list[str]]:
    """The standard history fixture repository and its commits, oldest first."""
    return build_history_repo(tmp_path / "shapes")


# The webhook receiver ---------------------------------------------------------------------
@pytest.fixture
def webhook_secret() -> str:
    """The webhook secret the `app` fixture verifies signatures with."""
    return "It's a Secret to Everybody"


@pytest.fixture
def app(home: Path, webhook_secret: str) -> Flask:
    """The webhook app on the temporary home, with a real SQLite queue and state store."""
    from bot.state.queue import JobQueue
    from bot.state.store import StateStore
    from webhooks import create_app

    app_settings = load_settings(webhook_secret=webhook_secret)
    return create_app(app_settings, JobQueue(app_settings),
                      StateStore(app_settings.state_url()))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the `app` fixture."""
    return app.test_client()


@pytest.fixture
def run_jobs(app: Flask) -> Callable[[], list[Job]]:
    """Run what the app enqueued with a recording runner; returns every job run so far."""
    ran: list[Job] = []
    failed: list[tuple[Job, BaseException]] = []
    from webhooks import services

    queue = services(app).queue
    queue.bind(ran.append, lambda job, exc: failed.append((job, exc)))

    def run() -> list[Job]:
        queue.run_pending()
        assert failed == []
        return list(ran)

    return run
