"""Metric functions against values computed by hand."""

from __future__ import annotations

import pytest

from navbot.evaluation.metrics import (
    all_within,
    gold_ranks,
    percentile,
    reciprocal_rank,
    reliability,
    risk_coverage,
    summarize,
)

RANKING = [("a.py", 9.0), ("b.py", 7.0), ("c.py", 7.0), ("d.py", 7.0), ("e.py", 1.0)]


def test_ties_rank_pessimistically() -> None:
    # b, c and d tie for ranks 2-4: each gets rank 4, the last of the tied places.
    assert gold_ranks(RANKING, ["c.py"]) == [4]
    assert gold_ranks(RANKING, ["b.py"]) == [4]
    assert gold_ranks(RANKING, ["a.py", "e.py"]) == [1, 5]
    assert all_within(gold_ranks(RANKING, ["b.py"]), 3) is False
    assert reciprocal_rank(gold_ranks(RANKING, ["d.py"])) == pytest.approx(0.25)


def test_multiple_gold_files_need_all_within_k() -> None:
    ranks = gold_ranks(RANKING, ["a.py", "e.py"])
    assert all_within(ranks, 1) is False
    assert all_within(ranks, 4) is False
    assert all_within(ranks, 5) is True
    assert reciprocal_rank(ranks) == 1.0  # the best-ranked gold file counts


def test_gold_not_found_and_empty_ranking() -> None:
    assert gold_ranks(RANKING, ["z.py"]) == [None]
    assert all_within([None], 10) is False
    assert reciprocal_rank([None]) == 0.0
    assert gold_ranks([], ["a.py"]) == [None]
    assert all_within(gold_ranks([], ["a.py"]), 10) is False
    assert all_within([], 5) is None  # no gold: the instance is not counted


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == pytest.approx(3.97)


def _record(file_ranks, func_ranks, confidence, latency=0.1):
    return {"file_ranks": file_ranks, "func_ranks": func_ranks, "confidence": confidence,
            "latency_s": latency, "bm25_file_ranks": file_ranks, "bm25_func_ranks": func_ranks,
            "bm25_latency_s": latency}


RECORDS = [
    _record([1], [2], 0.9, 0.1),
    _record([2, 7], [], 0.6, 0.2),
    _record([None], [12, 3], 0.2, 0.3),
    _record([4], [1], 0.7, 0.4),
]


def test_summarize_by_hand() -> None:
    s = summarize(RECORDS, "", threshold=0.5, listed=3)
    assert s["n"] == 4
    assert s["file_acc@1"] == 0.25
    assert s["file_acc@3"] == 0.25      # the second needs rank 7 too
    assert s["file_acc@5"] == 0.5
    assert s["file_acc@10"] == 0.75
    assert s["mrr"] == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert s["n_func"] == 3             # the second has no function-level gold
    assert s["func_acc@5"] == pytest.approx(2 / 3)
    assert s["func_acc@10"] == pytest.approx(2 / 3)
    # Posts at 0.9, 0.6 and 0.7; of those, gold in the top 3 for the first two.
    assert s["coverage"] == 0.75
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["latency_p50_s"] == pytest.approx(0.25)
    always = summarize(RECORDS, "bm25_", threshold=None, listed=3)
    assert always["coverage"] == 1.0 and always["precision"] == 0.5


def test_risk_coverage_and_reliability() -> None:
    table = risk_coverage(RECORDS, [0.0, 0.65, 0.95], listed=3)
    assert [(r["posts"], r["coverage"], r["precision"]) for r in table] == [
        (4, 1.0, 0.5), (2, 0.5, 0.5), (0, 0.0, None)]
    bins = reliability(RECORDS, 2, listed=3)
    assert [(b["bin"], b["n"], b["hit_rate"]) for b in bins] == [
        ("0.0-0.5", 1, 0.0), ("0.5-1.0", 3, pytest.approx(2 / 3))]


def test_summarize_nothing() -> None:
    s = summarize([], "", threshold=0.5, listed=3)
    assert s["n"] == 0 and s["file_acc@1"] is None and s["mrr"] is None
