"""Benchmark what the aboutness gate adds to a warm `locate`: its features, timed alone.

Usage:
    python benchmarks/gate_cost.py --repo /path/to/sympy.git \
        --commit e950d313a932bc6cccbc95376b3821cd2f8b5af4 \
        --data ../shared/eval/swebench_verified_dev.jsonl --slug sympy/sympy [--no-embeddings]

Opens (indexing first, into a temporary NAVBOT_HOME) the repository's search at the commit,
then, in one warm process, times for every problem statement of that repository and every
text of the off-topic corpus: the whole `locate`, and `about_features` alone on the same
inputs (the part the gate added). The baseline is `locate` itself, in the same process on
the same texts; the report gives medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from navbot.core.config import load_settings
from retrieval.aboutness import about_features
from retrieval.locate import locate
from retrieval.mentions import collect_mentions
from retrieval.offtopic import offtopic_corpus
from retrieval.query import parse_issue
from retrieval.searcher import open_search

ROUNDS = 3  # each text is timed this many times; the fastest counts (warm caches)


def main() -> None:
    """Run the benchmark and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--slug", required=True, help="owner/name of the repo in --data")
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args()
    texts = [row["problem_statement"] for row in map(json.loads, args.data.open())
             if row["repo"] == args.slug] + [t.text for t in offtopic_corpus()]
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), embeddings=not args.no_embeddings)
        search, _ = open_search(settings, args.repo, args.commit)
        locate(search, texts[0])  # load the model, the word frequencies and the caches
        whole, gate = [], []
        for text in texts:
            whole.append(min(_timed(lambda t=text: locate(search, t)) for _ in range(ROUNDS)))
            found = locate(search, text)
            queries = parse_issue(text)
            # Mentions are resolved for ranking anyway; the gate reads them.
            mentions = collect_mentions(search, queries)
            top = found.files[0].path if found.files else None
            gate.append(min(_timed(lambda q=queries, f=top, m=mentions: about_features(
                search, q, f, 0.5, m)) for _ in range(ROUNDS)))
    print(json.dumps({
        "texts": len(texts), "embeddings": not args.no_embeddings,
        "locate_median_ms": round(1000 * statistics.median(whole), 2),
        "about_features_median_ms": round(1000 * statistics.median(gate), 3),
        "share_of_locate": round(statistics.median(gate) / statistics.median(whole), 4),
        "about_features_max_ms": round(1000 * max(gate), 3)}, indent=1))


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
