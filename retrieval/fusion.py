"""Weighted reciprocal-rank fusion of the per-signal file ranks."""

from __future__ import annotations

from collections import defaultdict

from retrieval.params import Params
from retrieval.paths import is_test_path


def fuse(signals: dict[str, dict[str, int]], params: Params, shape: str | None = None
         ) -> dict[str, float]:
    """Weighted reciprocal-rank fusion of per-signal file ranks, with test files damped.

    The weights are those of the issue's `shape` (see `Params.fusion_for`).
    """
    weights = params.fusion_for(shape)
    k = weights["rrf_k"]
    fused: dict[str, float] = defaultdict(float)
    for name, ranks in signals.items():
        weight = weights.get(name, 0.0)
        for path, rank in ranks.items():
            fused[path] += weight / (k + rank)
    for path in fused:
        if is_test_path(path):
            fused[path] *= weights["test_file_factor"]
    return fused
