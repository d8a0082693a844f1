"""Negatives: the shipped off-topic corpus, foreign issues, and counting false posts."""

from __future__ import annotations

import re
from collections import Counter

from navbot.evaluation.data import Instance
from navbot.evaluation.metrics import false_posts, posts, risk_coverage
from navbot.evaluation.negatives import NegativeKind, foreign_issues, offtopic_issues
from retrieval.calibration.thresholds import Outcome, choose_threshold, outcome_of, threshold_table
from retrieval.offtopic import Split, offtopic_corpus


def test_the_offtopic_corpus_is_large_varied_and_split_once() -> None:
    corpus = offtopic_corpus()
    assert len(corpus) >= 80
    assert len({t.id for t in corpus}) == len(corpus)
    halves = Counter(t.split for t in corpus)
    assert halves[Split.FIT] >= 40 and halves[Split.HELD_OUT] >= 40
    categories = Counter(t.category for t in corpus)
    assert len(categories) >= 10
    # Split by category: each category is in both halves.
    for category in categories:
        assert {t.split for t in corpus if t.category == category} == set(Split)
    lengths = sorted(len(t.body) for t in corpus)
    assert lengths[0] < 40 and lengths[-1] > 800  # one-liners and long templated reports
    # No project's own names: the corpus is about no codebase in particular.
    names = re.compile(r"\b(sympy|sphinx|xarray|astropy|pytest|pylint|seaborn|flask)\b", re.I)
    assert not [t.id for t in corpus if names.search(t.text)]


def _instance(repo: str, number: int) -> Instance:
    return Instance(f"{repo.replace('/', '__')}-{number}", repo, "abc", f"issue {number}", [])


POOL = [_instance("o/a", n) for n in range(5)] + [_instance("o/b", n) for n in range(20)] \
    + [_instance("o/c", n) for n in range(20)]


def test_foreign_issues_come_from_other_repositories_with_a_fixed_seed() -> None:
    chosen = foreign_issues("o/a", POOL, 12)
    assert len(chosen) == 12 and {n.split for n in chosen} <= {"o/b", "o/c"}
    assert all(n.kind is NegativeKind.FOREIGN for n in chosen)
    assert chosen == foreign_issues("o/a", list(reversed(POOL)), 12)  # order does not matter
    assert chosen != foreign_issues("o/b", POOL, 12)
    assert len(foreign_issues("o/a", POOL, None)) == 40  # all of them
    assert len(foreign_issues("o/b", POOL, 100)) == 25


def test_offtopic_negatives_keep_their_half() -> None:
    negatives = offtopic_issues(offtopic_corpus())
    assert {n.split for n in negatives} == {"fit", "held_out"}
    assert all(n.kind is NegativeKind.OFFTOPIC and n.text.strip() for n in negatives)


def _negative(kind: str, split: str, confidence: float, about: float) -> dict[str, object]:
    return {"kind": kind, "split": split, "confidence": confidence, "about": about,
            "has_files": True, "lexical": True}


NEGATIVES = [_negative("foreign", "o/b", 0.9, 0.9), _negative("foreign", "o/b", 0.9, 0.2),
             _negative("foreign", "o/c", 0.5, 0.9), _negative("offtopic", "held_out", 0.95, 0.1),
             _negative("offtopic", "held_out", 0.8, 0.8), _negative("offtopic", "fit", 0.9, 0.9)]


def test_false_posts_follow_the_gate() -> None:
    assert false_posts(NEGATIVES, "foreign", None, 0.75, 0.5) == {"n": 3, "posts": 1,
                                                                   "rate": 1 / 3}
    assert false_posts(NEGATIVES, "offtopic", "held_out", 0.75, 0.5)["posts"] == 1
    assert false_posts(NEGATIVES, "offtopic", "held_out", 0.75, 0.0)["posts"] == 2
    assert false_posts([], "foreign", None, 0.75, 0.5)["rate"] is None
    # A record without the gate's inputs (an older run) counts as about the code.
    assert posts({"confidence": 0.8}, 0.75, 0.5)


def test_risk_coverage_gains_the_false_post_rates() -> None:
    records = [{"confidence": 0.9, "about": 0.9, "has_files": True, "lexical": True,
                "file_ranks": [1]}]
    rows = risk_coverage(records, [0.7, 0.85], 3, NEGATIVES, 0.5)
    assert rows[0]["foreign_post_rate"] == 1 / 3 and rows[0]["offtopic_post_rate"] == 0.5
    assert rows[1]["foreign_post_rate"] == 1 / 3 and rows[1]["offtopic_post_rate"] == 0.0
    assert rows[0]["coverage"] == 1.0 and rows[0]["precision"] == 1.0


def test_calibration_counts_negatives_and_bounds_false_posts() -> None:
    right = [Outcome(0.9, True)] * 20 + [Outcome(0.6, True)] * 20
    negatives = [outcome_of(0.7, ["a.py"], (), about=0.9) for _ in range(10)] \
        + [outcome_of(0.95, ["a.py"], (), about=0.1) for _ in range(90)]
    assert all(n.negative for n in negatives) and not right[0].negative
    table = threshold_table(right + negatives, [0.5, 0.8], about_threshold=0.5)
    low, high = table
    # Negatives never count as posts of right answers: coverage is over the fixes only.
    assert (low.posted, low.coverage, low.false_posts, low.negatives) == (40, 1.0, 10, 100)
    assert (high.posted, high.false_posts, high.false_post_rate) == (20, 0, 0.0)
    choice = choose_threshold(table, 0.9, 10, fallback=0.5, max_false_post_rate=0.02)
    assert choice.fitted and choice.threshold == 0.8
    assert "at most 2% of 100 off-topic issues" in choice.reason
    # Without the negatives the lower threshold would have been chosen.
    assert choose_threshold(threshold_table(right, [0.5, 0.8]), 0.9, 10,
                            fallback=0.5).threshold == 0.5


def test_calibration_falls_back_when_every_threshold_posts_on_offtopic_issues() -> None:
    right = [Outcome(0.9, True)] * 30
    negatives = [Outcome(0.95, False, negative=True)] * 10 + [
        Outcome(0.1, False, negative=True)] * 90
    choice = choose_threshold(threshold_table(right + negatives, [0.5, 0.8]), 0.9, 10,
                              fallback=0.8, max_false_post_rate=0.02)
    assert not choice.fitted and choice.threshold == 0.8
    assert "off-topic issues would get a post" in choice.reason
