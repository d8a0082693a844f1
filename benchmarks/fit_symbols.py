"""Fit the symbol fusion weights on the shared eval set, from a run's recorded symbol signals.

Input is the `signals.jsonl` that `navbot eval --out DIR` writes: for every instance, its
gold functions and the best candidate symbols with their per-signal ranks, so fitting
replays `retrieval.symbol_rank.fuse_symbols` without re-indexing. Only `../shared/eval/`
may be used; nothing is fitted per instance.

    python benchmarks/fit_symbols.py OUT/signals.jsonl [--base FILE] [--write FILE]

Coordinate ascent over a grid of weights, maximizing function Acc@10 (every gold function
in the top 10, as `navbot eval` counts it), then MRR to break ties. It reports the same
measures left one repository out (weights refitted without a repository, then measured on
it) and an ablation. `--write` writes a copy of the base parameters with the fitted symbol
weights and the version bumped.

Candidates outside the run's kept ones (the best 300 under the run's weights) cannot be
ranked in a replay, so figures for weights far from the run's are slightly pessimistic.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from navbot.evaluation.metrics import all_within, reciprocal_rank
from retrieval.params import Params, load_params
from retrieval.symbol_rank import SYMBOL_SIGNALS, fuse_symbols

VALUES = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0)
RANKED = 50  # as navbot eval: ranks beyond it count as not found
PASSES = 3


def fused_order(row: dict[str, Any], weights: dict[str, float], k: float) -> list[str]:
    """The row's recorded candidates fused under `weights`, best first.

    Ties keep the recorded order (the sort is stable), which is the run's own order.
    """
    score = fuse_symbols(row["symbol_signals"], weights, k)
    return sorted(score, key=lambda key: -score[key])


def _gold_ranks(row: dict[str, Any], weights: dict[str, float], k: float) -> list[int | None]:
    order = fused_order(row, weights, k)[:RANKED]
    rank = {key: position for position, key in enumerate(order, start=1)}
    return [rank.get(gold) for gold in row["gold_symbols"]]


def measure(rows: list[dict[str, Any]], weights: dict[str, float], k: float
            ) -> dict[str, float]:
    """Function Acc@5, Acc@10 and MRR of the replayed symbol ranking."""
    ranks = [_gold_ranks(row, weights, k) for row in rows]
    share = {f"acc@{n}": sum(bool(all_within(r, n)) for r in ranks) / len(ranks)
             for n in (5, 10)}
    return {**share, "mrr": sum(reciprocal_rank(r) for r in ranks) / len(ranks)}


def _objective(rows: list[dict[str, Any]], weights: dict[str, float], k: float
               ) -> tuple[float, float]:
    found = measure(rows, weights, k)
    return found["acc@10"], found["mrr"]


def fit(rows: list[dict[str, Any]], start: dict[str, float], k: float) -> dict[str, float]:
    """Coordinate ascent from `start` over VALUES for each signal's weight."""
    weights = dict(start)
    best = _objective(rows, weights, k)
    for _ in range(PASSES):
        improved = False
        for name in SYMBOL_SIGNALS:
            for value in VALUES:
                trial = {**weights, name: value}
                found = _objective(rows, trial, k)
                if found > best:
                    weights, best, improved = trial, found, True
        if not improved:
            break
    return weights


def held_out(rows: list[dict[str, Any]], start: dict[str, float], k: float
             ) -> dict[str, float]:
    """Leave-one-repository-out Acc@5, Acc@10 and MRR, weighted by instances."""
    totals = {"acc@5": 0.0, "acc@10": 0.0, "mrr": 0.0}
    for repo in sorted({row["repo"] for row in rows}):
        test = [row for row in rows if row["repo"] == repo]
        weights = fit([row for row in rows if row["repo"] != repo], start, k)
        for name, value in measure(test, weights, k).items():
            totals[name] += value * len(test)
    return {name: round(value / len(rows), 4) for name, value in totals.items()}


def _rounded(found: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in found.items()}


def main() -> None:
    """Fit, print a summary, and optionally write the parameters file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("signals", type=Path)
    parser.add_argument("--base", type=Path,
                        help="Start from these parameters (default: the packaged ones).")
    parser.add_argument("--write", type=Path, help="Write the fitted parameters here.")
    args = parser.parse_args()
    rows = [row for row in map(json.loads, args.signals.read_text().splitlines())
            if row.get("gold_symbols") and row.get("symbol_signals") is not None]
    if not rows:
        raise SystemExit(f"{args.signals} has no symbol signals: re-run `navbot eval`")
    base: Params = load_params(args.base)
    k = base.fusion["rrf_k"]
    start = base.symbol_weights()
    weights = fit(rows, start, k)
    summary = {
        "instances": len(rows), "before": _rounded(measure(rows, start, k)),
        "after": _rounded(measure(rows, weights, k)),
        "leave_one_repo_out": held_out(rows, start, k),
        "ablation": {f"without {name}": _rounded(measure(rows, {**weights, name: 0.0}, k))
                     for name in SYMBOL_SIGNALS if weights.get(name)},
    }
    print(json.dumps({"symbols": weights, **summary}, indent=1))
    if args.write:
        data = json.loads((args.base or Path(__file__).parents[1] / "retrieval" / "params.json"
                           ).read_text())
        digest = hashlib.sha256(args.signals.read_bytes()).hexdigest()[:12]
        data.update({
            "version": base.version + 1, "symbols": weights,
            "symbols_fitted_by": f"python benchmarks/fit_symbols.py {args.signals.name} "
                                 f"{'--base ' + str(args.base) + ' ' if args.base else ''}"
                                 f"--write {args.write} (signals sha256 {digest}, "
                                 f"{datetime.now(UTC).date().isoformat()})",
            "symbols_fit": summary,
        })
        args.write.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
