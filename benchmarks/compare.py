"""Where navbot and BM25 disagree: per-instance wins and losses from an eval CSV.

    python benchmarks/compare.py OUT/instances.csv [--top 20]

Prints counts of wins, losses and ties (by the best gold file rank, missing = worse than
any rank), losses grouped by repository and issue shape, and the worst losses with the
files each system put first, as input to failure analysis.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

MISSING = 10**6


def best_rank(cell: str) -> int:
    """The best gold rank of a JSON list cell, MISSING when no gold file was ranked."""
    ranks = [r for r in json.loads(cell) if r is not None]
    return min(ranks) if ranks else MISSING


def main() -> None:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    rows = list(csv.DictReader(args.csv.open(encoding="utf-8")))
    outcome: Counter[str] = Counter()
    losses = []
    for row in rows:
        ours, theirs = best_rank(row["file_ranks"]), best_rank(row["bm25_file_ranks"])
        verdict = "win" if ours < theirs else "loss" if ours > theirs else "tie"
        outcome[verdict] += 1
        if verdict == "loss":
            losses.append((ours, theirs, row))
    print(f"{len(rows)} instances: {outcome['win']} wins, {outcome['loss']} losses, "
          f"{outcome['tie']} ties (best gold file rank, navbot vs BM25)")
    print("losses by repository:", dict(Counter(r["repo"] for _, _, r in losses)))
    print("losses by issue shape:", dict(Counter(r["shape"] for _, _, r in losses)))
    print("all instances by shape:", dict(Counter(r["shape"] for r in rows)))
    losses.sort(key=lambda item: (item[1] - item[0]))
    for ours, theirs, row in losses[: args.top]:
        show = "missing" if ours == MISSING else ours
        print(f"\n{row['instance_id']} ({row['shape']}): navbot {show}, BM25 {theirs}; "
              f"gold {json.loads(row['gold_files'])}")
        print(f"  navbot top 3: {json.loads(row['top5'])[:3]}")
        print(f"  BM25 top 3:   {json.loads(row['bm25_top5'])[:3]}")


if __name__ == "__main__":
    main()
