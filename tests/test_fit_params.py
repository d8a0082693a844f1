"""The default posting threshold's rule in `benchmarks/fit_params.py`."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.benchmark_scripts import load_script


@pytest.fixture(scope="module")
def fit_params() -> ModuleType:
    return load_script("fit_params")


def test_the_lowest_threshold_whose_posts_are_90_percent_right(fit_params: ModuleType) -> None:
    # From 0.35 up, 9 of 10 posts are right; lower, the wrong 0.3 and 0.2 join (9 of 11, 12).
    scores = [0.9] * 9 + [0.6, 0.3, 0.2]
    labels = [1] * 9 + [0, 0, 0]
    assert fit_params.choose_threshold(scores, labels) == 0.35


def test_everything_posts_when_everything_is_right(fit_params: ModuleType) -> None:
    assert fit_params.choose_threshold([0.1, 0.4], [1, 1]) == 0.0


def test_nothing_precise_enough_falls_back_to_the_top_of_the_grid(
        fit_params: ModuleType) -> None:
    assert fit_params.choose_threshold([0.99, 0.5], [0, 1]) == 0.95
