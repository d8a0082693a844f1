"""Which gate each comment section uses: the repository's config, its calibration, defaults."""

from __future__ import annotations

from bot.pipeline.env import Thresholds, section_thresholds
from bot.repo_config import RepoConfig
from retrieval.calibration.stored import Calibration


def _calibration(threshold: float, fitted: bool) -> Calibration:
    return Calibration(repository="acme/app", path="/srv/app", threshold=threshold,
                       precision=0.92 if fitted else None, coverage=0.5, posted=40,
                       examples=80, fitted=fitted, reason="" if fitted else "too few fixes",
                       sentence="right 92 % of the time", commit="abc", computed_at="now",
                       params_version=6, target_precision=0.9)


def test_without_config_or_calibration_the_defaults_gate_every_section() -> None:
    assert section_thresholds(RepoConfig(), None, 0.75, 0.45) == Thresholds(
        0.75, 0.75, 0.45, "default", None)


def test_a_fitted_calibration_replaces_the_default_and_says_its_track_record() -> None:
    assert section_thresholds(RepoConfig(), _calibration(0.6, True), 0.75, 0.45) == Thresholds(
        0.6, 0.6, 0.45, "calibration", "right 92 % of the time")


def test_an_unfitted_calibration_is_ignored() -> None:
    assert section_thresholds(RepoConfig(), _calibration(0.2, False), 0.75, 0.45) == Thresholds(
        0.75, 0.75, 0.45, "default", None)


def test_the_repository_config_wins_and_may_set_each_section() -> None:
    config = RepoConfig(threshold=0.9, changes_threshold=0.95, related_threshold=0.5)
    found = section_thresholds(config, _calibration(0.6, True), 0.75, 0.45)
    assert found == Thresholds(0.9, 0.95, 0.5, "repository config", "right 92 % of the time")
