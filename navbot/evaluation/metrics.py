"""Localization metrics over scored rankings: pure functions, checked by hand in the tests.

Ranks are pessimistic on ties: an item tied with others on score gets the rank of the last
of them, so a ranker cannot gain from ties it failed to break.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, TypeVar

from retrieval.gate import files_verdict

Key = TypeVar("Key", bound=Hashable)

KS_FILE = (1, 3, 5, 10)
KS_FUNC = (5, 10)


def gold_ranks(scored: Sequence[tuple[Key, float]], gold: Iterable[Key]) -> list[int | None]:
    """The rank of each gold item in `scored` (best first), None when it is absent."""
    score_of = dict(scored)
    ranks: list[int | None] = []
    for item in gold:
        if item not in score_of:
            ranks.append(None)
            continue
        ranks.append(sum(1 for _, score in scored if score >= score_of[item]))
    return ranks


def all_within(ranks: Sequence[int | None], k: int) -> bool | None:
    """Whether every gold item ranks within the top `k`; None when there is no gold."""
    if not ranks:
        return None
    return all(r is not None and r <= k for r in ranks)


def reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """1 / the best gold rank, 0 when no gold item was ranked."""
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


def any_within(ranks: Sequence[int | None], k: int) -> bool:
    """Whether at least one gold item ranks within the top `k`."""
    return any(r is not None and r <= k for r in ranks)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(flags: Iterable[bool | None]) -> float | None:
    counted = [f for f in flags if f is not None]
    return sum(counted) / len(counted) if counted else None


def posts(record: dict[str, Any], threshold: float, about_threshold: float = 0.0) -> bool:
    """Whether navbot would post the files of `record` at these thresholds (the one gate).

    Records from before the gate recorded its inputs count as about the code, with files and
    a lexical match.
    """
    return files_verdict(record.get("has_files", True), record.get("lexical", True),
                         record.get("about", 1.0), about_threshold, record["confidence"],
                         threshold).post


def summarize(records: Sequence[dict[str, Any]], prefix: str, threshold: float | None,
              listed: int, about_threshold: float = 0.0) -> dict[str, Any]:
    """The headline metrics of one system over per-instance records.

    `prefix` picks the system's fields (`""` for navbot, `"bm25_"` for the baseline). With no
    `threshold` the system always posts, so coverage is 1 and precision is top-`listed` hit rate.
    """
    summary: dict[str, Any] = {"n": len(records)}
    for k in KS_FILE:
        summary[f"file_acc@{k}"] = _share(all_within(r[f"{prefix}file_ranks"], k)
                                          for r in records)
    summary["mrr"] = (sum(reciprocal_rank(r[f"{prefix}file_ranks"]) for r in records)
                      / len(records)) if records else None
    for k in KS_FUNC:
        summary[f"func_acc@{k}"] = _share(all_within(r[f"{prefix}func_ranks"], k)
                                          for r in records)
    summary["n_func"] = sum(1 for r in records if r[f"{prefix}func_ranks"])
    posted = [r for r in records
              if threshold is None or posts(r, threshold, about_threshold)]
    summary["coverage"] = len(posted) / len(records) if records else None
    summary["precision"] = _share(any_within(r[f"{prefix}file_ranks"], listed) for r in posted)
    latencies = [r[f"{prefix}latency_s"] for r in records]
    summary["latency_p50_s"] = percentile(latencies, 50)
    summary["latency_p99_s"] = percentile(latencies, 99)
    return summary


def false_posts(negatives: Sequence[dict[str, Any]], kind: str, split: str | None,
                threshold: float, about_threshold: float) -> dict[str, Any]:
    """How many negatives of `kind` (and off-topic `split`) navbot would post on."""
    asked = [r for r in negatives if r["kind"] == kind and (split is None or r["split"] == split)]
    posted = sum(posts(r, threshold, about_threshold) for r in asked)
    return {"n": len(asked), "posts": posted, "rate": posted / len(asked) if asked else None}


def risk_coverage(records: Sequence[dict[str, Any]], thresholds: Iterable[float], listed: int,
                  negatives: Sequence[dict[str, Any]] = (), about_threshold: float = 0.0
                  ) -> list[dict[str, Any]]:
    """Coverage and precision of posting at each confidence threshold, and the false-post
    rates on foreign and held-out off-topic issues there."""
    table = []
    for threshold in thresholds:
        posted = [r for r in records if posts(r, threshold, about_threshold)]
        table.append({
            "threshold": threshold, "posts": len(posted),
            "coverage": len(posted) / len(records) if records else None,
            "precision": _share(any_within(r["file_ranks"], listed) for r in posted),
            "foreign_post_rate": false_posts(negatives, "foreign", None, threshold,
                                             about_threshold)["rate"],
            "offtopic_post_rate": false_posts(negatives, "offtopic", "held_out", threshold,
                                              about_threshold)["rate"],
        })
    return table


def reliability(records: Sequence[dict[str, Any]], bins: int, listed: int
                ) -> list[dict[str, Any]]:
    """Mean confidence against the observed top-`listed` hit rate, per confidence bin."""
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [r for r in records
                  if low <= r["confidence"] < high or (b == bins - 1 and r["confidence"] == 1.0)]
        if not inside:
            continue
        table.append({
            "bin": f"{low:.1f}-{high:.1f}", "n": len(inside),
            "mean_confidence": sum(r["confidence"] for r in inside) / len(inside),
            "hit_rate": _share(any_within(r["file_ranks"], listed) for r in inside),
        })
    return table
