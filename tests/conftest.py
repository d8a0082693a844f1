"""Shared fixtures: settings on a temporary home, a CLI runner, and fixture repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from navbot.config import Settings, load_settings
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
def history_repo(tmp_path: Path) -> tuple[GitFixture, list[str]]:
    """The standard history fixture repository and its commits, oldest first."""
    return build_history_repo(tmp_path / "shapes")
