"""Benchmark calibration honesty: the same past fixes replayed at the indexed commit and before.

Usage:
    python benchmarks/calibration_gap.py --repo /path/to/repo.git [--limit 200] [--windows 4]

Replaying a past fix against the indexed commit searches code that already holds the fix
(its new docstring, message or function); replaying it against the code before it does
not. For the fixes both ways could replay, this prints precision and coverage at each
threshold both ways, so the optimism of the first is measured, not assumed. Nothing is
stored: the repository's calibration.json is not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from indexer.store import IndexStore
from navbot.core.config import load_settings
from retrieval.calibration.examples import fix_examples
from retrieval.calibration.replay import replay, replay_before_fixes
from retrieval.calibration.thresholds import threshold_grid, threshold_table
from retrieval.params import default_params
from retrieval.searcher import open_search


def main() -> None:
    """Replay both ways and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home))
        params = default_params()
        started = time.perf_counter()
        search, manifest = open_search(settings, args.repo)
        graph = IndexStore.for_path(settings, args.repo).load_graph()
        examples = fix_examples(graph, search.corpus.files)[:args.limit]
        index_s = time.perf_counter() - started
        started = time.perf_counter()
        before = replay_before_fixes(settings, args.repo, examples, graph, params,
                                     args.windows)
        before_s = time.perf_counter() - started
        # The same examples, with their gold as the indexed commit names it, at that commit.
        replayed = {example.issue for example in before.examples}
        at_head = replay(search, [e for e in examples if e.issue in replayed], params)
    grid = threshold_grid([params.post_threshold])
    rows = {
        "at the indexed commit": threshold_table(at_head, grid),
        "before each fix": threshold_table(before.outcomes, grid),
    }
    print(json.dumps({
        "repo": str(args.repo), "commit": manifest["commit"], "cpus": os.cpu_count(),
        "examples": len(examples), "replayed": len(before.examples),
        "skipped": dict(before.skipped), "windows": before.windows,
        "index_s": round(index_s, 1), "replay_before_s": round(before_s, 1),
        "hit_rate": {name: round(sum(o.hit for o in outcomes) / max(len(outcomes), 1), 4)
                     for name, outcomes in (("at the indexed commit", at_head),
                                            ("before each fix", before.outcomes))},
        "tables": {name: [{"threshold": r.threshold, "posted": r.posted,
                           "coverage": round(r.coverage, 4),
                           "precision": None if r.precision is None else round(r.precision, 4),
                           "lower_bound": None if r.lower_bound is None
                           else round(r.lower_bound, 4)}
                          for r in table if r.posted]
                   for name, table in rows.items()},
    }, indent=1))


if __name__ == "__main__":
    main()
