"""Confidence features, computed by hand on a small fused ranking."""

from __future__ import annotations

import pytest

from retrieval.confidence import CONFIDENCE_FEATURES, confidence, confidence_features
from retrieval.params import Params

SIGNALS = {
    "file_lexical": {"a.py": 1, "b.py": 2, "e.py": 3},
    "dense": {"e.py": 1, "c.py": 2, "b.py": 4},
    "mention": {"a.py": 1},
    "history": {"d.py": 1, "a.py": 5},
}
FUSED = {"a.py": 0.5, "b.py": 0.25, "c.py": 0.15, "d.py": 0.1, "e.py": 0.0}
RANKED = ["a.py", "b.py", "c.py", "d.py", "e.py"]


def test_features_of_the_top_file_and_of_the_listed_three() -> None:
    features = confidence_features(RANKED, FUSED, SIGNALS, specific_names=2)
    assert features == pytest.approx({
        "mention": 1.0,  # the issue names a.py first
        "agreement": 2 / 4,  # file_lexical and mention rank a.py in their top 3
        "margin": (0.5 - 0.25) / 0.5,
        "specificity": 2 / 3,
        "listed_agreement": 2 / 4,  # best files a, e, a, d: a.py twice among a, b, c
        "concentration": 0.9 / 1.0,
        "dense_listed": 1 / 2,  # c.py, listed third, is the dense signal's second
    })
    assert set(features) == set(CONFIDENCE_FEATURES)


def test_no_files_give_zero_features() -> None:
    assert confidence_features([], {}, {}, 0) == dict.fromkeys(CONFIDENCE_FEATURES, 0.0)


def test_features_the_parameters_lack_count_for_nothing() -> None:
    params = Params(1, {}, {"bias": 0.0, "mention": 2.0}, 0.5)
    assert confidence({"mention": 1.0, "dense_listed": 5.0}, params) == \
        confidence({"mention": 1.0}, params)
