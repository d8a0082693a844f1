"""Probe the dense signal's pooling and queries against a finished eval run.

    python benchmarks/probe_dense.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe pooling] [--probe exact]

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

The `exact` probe asks what chroma's approximate (HNSW) search costs: it searches the same
stored vectors exactly (a matrix product) and reports, per repository, how many of chroma's
hits are the exact ones, how many exact hits scoring above chroma's last hit chroma missed
(true misses, as opposed to ties between identical questions), and the fused file ranking
with the dense signal re-searched both ways on the kept questions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fit_params import ablation
from probe_data import RepoState, run_probes

from navbot.config import load_settings
from retrieval.dense import HITS_PER_QUERY, dense_queries
from retrieval.embed import Embedder
from retrieval.params import load_params
from retrieval.symbol_rank import ranks_of
from retrieval.vectors import VectorCollection, collection_name, open_client

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


Scored = list[list[tuple[str, str, float]]]  # per query: (id, path, similarity), best first


def _exact_and_chroma(collection: Any, vectors: np.ndarray, limit: int
                      ) -> tuple[Scored, Scored]:
    """Per query, the best `limit` stored questions: searched exactly, and by chroma."""
    stored = collection.get(include=["embeddings", "metadatas"])
    matrix = np.asarray(stored["embeddings"], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    similarity = vectors @ matrix.T
    exact = []
    for row in similarity:
        best = np.argsort(-row, kind="stable")[:limit]
        exact.append([(stored["ids"][j], str(stored["metadatas"][j]["path"]), float(row[j]))
                      for j in best])
    found = collection.query(query_embeddings=vectors.tolist(), n_results=limit,
                             include=["metadatas", "distances"])
    chroma = [[(hit_id, str(meta["path"]), 1.0 - distance) for hit_id, meta, distance
               in zip(*hits, strict=True)]
              for hits in zip(found["ids"], found["metadatas"], found["distances"],
                              strict=True)]
    return exact, chroma


def probe_exact(rows: list[dict[str, Any]], repos: dict[str, RepoState], home: Path
                ) -> dict[str, Any]:
    """chroma's hits against exact search over the same vectors, and the fused ranking."""
    settings = load_settings(home=home)
    client = open_client(settings)
    embedder = Embedder(settings.embedding_model)
    params = load_params()
    found: dict[str, Any] = {}
    dense: dict[str, dict[str, dict[str, int]]] = {"exact": {}, "chroma": {}}
    for repo, state in sorted(repos.items()):
        own = [row for row in rows if row["repo"] == repo]
        texts = [dense_queries(row["queries"]) for row in own]
        flat = [text for group in texts for text in group]
        if not flat:
            continue
        collection = client.get_collection(collection_name(state.key, "questions"))
        vectors = np.asarray(embedder.embed(flat), dtype=np.float32)
        searched = dict(zip(("exact", "chroma"), _exact_and_chroma(
            collection, vectors, HITS_PER_QUERY), strict=True))
        shared, missed = [], []
        for best, hits in zip(searched["exact"], searched["chroma"], strict=True):
            floor = hits[-1][2] + 1e-5  # chroma's last hit; at or below it, ties and order
            ids = {hit_id for hit_id, _, _ in hits}
            above = [hit_id for hit_id, _, similarity in best if similarity > floor]
            shared.append(len(ids & {hit_id for hit_id, _, _ in best}) / len(best))
            missed.append(sum(hit_id not in ids for hit_id in above) / max(1, len(above)))
        found[repo] = {"questions": collection.count(), "queries": len(flat),
                       "chroma hits among the exact ones": round(float(np.mean(shared)), 4),
                       "true misses": round(float(np.mean(missed)), 4),
                       "true misses, worst query": round(max(missed), 4)}
        for how, scored in searched.items():
            start = 0
            for row, group in zip(own, texts, strict=True):
                hits = [[(path, similarity) for _, path, similarity in query]
                        for query in scored[start:start + len(group)]]
                dense[how][row["instance_id"]] = ranks_of(_max(hits))
                start += len(group)
    found["fused, recorded"] = ablation(rows, params)["all"]
    for how, ranks in dense.items():
        probed = [{**row, "signals": {**row["signals"], "dense": ranks.get(
            row["instance_id"], {})}} for row in rows]
        found[f"fused, dense re-searched by {how}"] = ablation(probed, params)["all"]
    return found


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "pooling": (True, lambda rows, repos, args: probe_pooling(rows, repos, args.home)),
        "exact": (True, lambda rows, repos, args: probe_exact(rows, repos, args.home)),
    })
