"""Probe the dense signal's pooling and queries against a finished eval run.

    python benchmarks/probe_dense.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe pooling]

What the probes read, and its caveat: `benchmarks/probe_data.py`; the questions are those
the run's chroma directory kept. The `dense` signal scores a file by its best question's
similarity to any of the issue's dense queries (title, first paragraph, error lines). The
`pooling` probe replaces that score with others, on those queries and on them plus up to
`EXTRA_SENTENCES` sentences of the issue's later prose:
- `max`: the best similarity (the signal as built);
- `mean of best 2` / `mean of best 3`: a file's best questions per query, averaged, so one
  lucky question counts less;
- `sum over queries`: each query's best similarity for the file, added up, so that agreement
  between the title and the body counts;
- `reciprocal ranks`: each query's file ranking, fused by reciprocal rank.
Measured: the fused file MRR, Acc@1 and Acc@5 with the pooled ranks in place of `dense`,
and the dense ranking's own Acc@1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fit_params import ablation
from probe_data import RepoState, run_probes

from navbot.config import load_settings
from retrieval.dense import HITS_PER_QUERY, dense_queries
from retrieval.embed import Embedder
from retrieval.params import load_params
from retrieval.symbol_rank import ranks_of
from retrieval.vectors import VectorCollection

EXTRA_SENTENCES = 8
RRF_K = 5

Hits = list[list[tuple[str, float]]]  # per query: (path, similarity), best first


def later_sentences(text: str) -> list[str]:
    """Sentences of the prose after the title and first paragraph, headings and lists left out."""
    prose = re.sub(r"```.*?```", " ", text, flags=re.S)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", prose) if p.strip()][2:7]
    sentences: list[str] = []
    for paragraph in paragraphs:
        if paragraph.startswith(("#", "<!--", "-", ">", "|")) or len(paragraph) < 20:
            continue
        sentences += [s.strip()[:300] for s in re.split(r"(?<=[.!?])\s+", paragraph)
                      if len(s.strip()) > 15]
    return sentences[:EXTRA_SENTENCES]


def _max(hits: Hits) -> dict[str, float]:
    best: dict[str, float] = {}
    for query in hits:
        for path, similarity in query:
            best[path] = max(best.get(path, -1.0), similarity)
    return best


def _mean_of_best(count: int) -> Callable[[Hits], dict[str, float]]:
    def pool(hits: Hits) -> dict[str, float]:
        best: dict[str, float] = {}
        for query in hits:
            per_file: dict[str, list[float]] = defaultdict(list)
            for path, similarity in query:
                per_file[path].append(similarity)
            for path, found in per_file.items():
                best[path] = max(best.get(path, -1.0), sum(found[:count]) / count)
        return best
    return pool


def _sum_over_queries(hits: Hits) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for query in hits:
        for path, similarity in _max([query]).items():
            total[path] += similarity
    return dict(total)


def _reciprocal_ranks(hits: Hits) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for query in hits:
        for path, rank in ranks_of(_max([query])).items():
            total[path] += 1 / (RRF_K + rank)
    return dict(total)


POOLS: dict[str, Callable[[Hits], dict[str, float]]] = {
    "max": _max, "mean of best 2": _mean_of_best(2), "mean of best 3": _mean_of_best(3),
    "sum over queries": _sum_over_queries, "reciprocal ranks": _reciprocal_ranks}


def probe_pooling(rows: list[dict[str, Any]], repos: dict[str, RepoState], home: Path
                  ) -> dict[str, Any]:
    """Fused file ranking with the dense signal pooled in other ways, on two query sets."""
    settings = load_settings(home=home)
    embedder = Embedder(settings.embedding_model)
    params = load_params()
    # One collection per repository: each opens its own chroma client.
    collections = {repo: VectorCollection.for_repository(settings, state.key, "questions",
                                                         embedder)
                   for repo, state in repos.items()}
    searched: list[tuple[int, Hits]] = []
    for row in rows:
        collection = collections[row["repo"]]
        first = dense_queries(row["queries"])
        texts = first + [s for s in later_sentences(row["text"]) if s not in first]
        searched.append((len(first), [[(hit.path, hit.similarity) for hit in query]
                                      for query in collection.search(texts, HITS_PER_QUERY)]))
    found: dict[str, Any] = {"recorded": ablation(rows, params)["all"]}
    for queries in ("dense queries", "with later sentences"):
        for name, pool in POOLS.items():
            probed, alone = [], 0
            for row, (count, hits) in zip(rows, searched, strict=True):
                scores = pool(hits[:count] if queries == "dense queries" else hits)
                ranks = ranks_of(scores)
                alone += len(row["gold_files"]) == 1 and ranks.get(row["gold_files"][0]) == 1
                probed.append({**row, "signals": {**row["signals"], "dense": ranks}})
            found[f"{queries}, {name}"] = {**ablation(probed, params)["all"],
                                           "dense alone acc@1": round(alone / len(rows), 4)}
    return found


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "pooling": (True, lambda rows, repos, args: probe_pooling(rows, repos, args.home)),
    })
