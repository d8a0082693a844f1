"""Probe candidate signals against a finished eval run, before building any into `locate`.

A new signal costs code, index time and a 20-minute eval to measure. This replays one
cheaply: it reads a run's `instances.csv` and `signals.jsonl` (`navbot eval --out DIR`) and
the indexes the run's home kept, and measures each probe against the run's own ranking.

    python benchmarks/probe_signals.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe NAME ...]

Probes:
- `misses`: not a signal but where function Acc@10 is lost: issues by how many functions
  their fix changed, and whether all their gold files were listed (in the top three).
- `calls`: symbols one call away (either way) from the run's best five symbols, fused as
  one more symbol signal at several weights. Measured: function Acc@10 (all gold in 10).
- `local_idf`: ranking a listed file's symbols by BM25 with the file's own document
  frequencies instead of the repository's. Measured: gold symbols of listed files within
  their file's top 3 and top 10.
- `in_file_dense`: ranking a listed file's symbols by their best question's similarity to
  the issue (chroma filtered to the listed files). Measured as `local_idf`.
- `tested`: source files named after the test files BM25 ranks best (`test_latex.py` ->
  `latex.py`, the one sharing most directories), fused as one more file signal at several
  weights. Measured: file MRR, Acc@1 and Acc@5 of the replayed fusion, and the signal alone.
- `linear_fusion`: a pairwise logistic ranker over per-signal features (reciprocal rank,
  first, top three, traceback interaction, test file, the fused score itself) instead of
  weighted reciprocal-rank fusion, fitted and measured leaving one repository out.
  Measured: file MRR, Acc@1 and Acc@5.
- `prf`: pseudo-relevance feedback (RM3-like) on BM25 over whole files: the best files'
  highest-weighted terms as a second query, mixed in. Measured: file Acc@1 and Acc@5 of
  BM25 alone, with and without it.

Caveat: an eval home keeps each repository at the last commit it evaluated, so the graphs,
corpora and vectors are of that commit, not each issue's base commit. Good enough to reject
a probe; a probe that passes must still be built and measured with `navbot eval`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fit_params import ablation
from fit_symbols import measure

from indexer.gitrepo import GitRepo
from indexer.store import IndexStore
from navbot.config import load_settings
from navbot.evaluation.metrics import all_within
from retrieval.corpus import DocumentCache
from retrieval.dense import dense_queries
from retrieval.embed import Embedder
from retrieval.lexical import LexicalIndex, top_indices
from retrieval.locate import LISTED_FILES, MAX_QUERY_TOKENS, SearchIndex, fuse, is_test_path
from retrieval.params import Params, load_params
from retrieval.query import parse_issue
from retrieval.vectors import collection_name, open_client

PROBES = ("misses", "calls", "local_idf", "in_file_dense", "tested", "linear_fusion", "prf")
NEEDS_REPOS = {"calls", "local_idf", "in_file_dense", "tested", "prf"}
CALL_SEEDS = 5
CALL_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
TESTED_FROM = 5  # best-ranked test files mapped to their sources
FUSION_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
LINEAR_POOL = 50  # files per issue the linear ranker reorders: the run's fused top 50
LINEAR_L2 = (0.001, 0.01, 0.1)
LINEAR_STEPS = 2000
PRF_SETTINGS = ((3, 10, 0.3), (5, 10, 0.2), (5, 20, 0.3), (3, 20, 0.5))  # docs, terms, mix


def load_rows(run: Path, data: Path) -> list[dict[str, Any]]:
    """The run's instances with their recorded signals and issue texts."""
    with open(run / "signals.jsonl") as lines:
        signals = {row["instance_id"]: row for row in map(json.loads, lines)}
    with open(data) as lines:
        texts = {row["instance_id"]: row["problem_statement"] for row in map(json.loads, lines)}
    with open(run / "instances.csv") as table:
        records = list(csv.DictReader(table))
    rows = []
    for record in records:
        row = signals[record["instance_id"]]
        row["text"] = texts[record["instance_id"]]
        row["listed"] = json.loads(record["top5"])[:LISTED_FILES]
        row["func_ranks"] = json.loads(record["func_ranks"])
        rows.append(row)
    return rows


class RepoState:
    """One repository as the eval home kept it: its search index and call edges."""

    def __init__(self, store: Path, mirror: Path) -> None:
        self.key = store.name
        state = IndexStore(store).load_state()
        self.search = SearchIndex.build(DocumentCache().build(GitRepo(mirror), state.facts))
        self.calls: dict[str, set[str]] = defaultdict(set)
        for source, target, kind, _ in IndexStore(store).load_graph().edges:
            if kind == "calls":  # ids "sym:path::qualname", the eval's keys behind "sym:"
                caller, callee = source.removeprefix("sym:"), target.removeprefix("sym:")
                self.calls[caller].add(callee)
                self.calls[callee].add(caller)


def load_repos(home: Path, mirrors: Path, wanted: set[str]) -> dict[str, RepoState]:
    """Each wanted repository's kept state, by its `owner/name`."""
    found = {}
    for store in sorted((home / "repos").iterdir()):
        repo = store.name.rsplit("-", 1)[0].replace("+", "/")
        if repo in wanted:
            found[repo] = RepoState(store, mirrors / repo.replace("/", "+") / "repo")
    return found


def probe_misses(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Issues with function gold, hit or missed at 10, by the number of gold functions."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        count = len(row["gold_symbols"])
        if not count:
            continue
        group = f"gold functions: {count if count < 4 else '4+'}"
        if all_within(row["func_ranks"], 10):
            found[group]["hit"] += 1
        elif all(g in row["listed"] for g in row["gold_files"]):
            found[group]["missed, gold files listed"] += 1
        else:
            found[group]["missed, a gold file not listed"] += 1
    return {group: dict(counts) for group, counts in sorted(found.items())}


def probe_calls(rows: list[dict[str, Any]], repos: dict[str, RepoState]) -> dict[str, float]:
    """Function Acc@10 with call neighbours of the best symbols fused in, by weight."""
    params = load_params()
    weights, k = params.symbol_weights(), params.fusion["rrf_k"]
    symbol_rows = [row for row in rows if row["gold_symbols"]]
    found = {"without": measure(symbol_rows, weights, k)["acc@10"]}
    probed, neighbours = [], []
    for row in symbol_rows:
        candidates = {key: dict(ranks) for key, ranks in row["symbol_signals"].items()}
        score = {key: sum(weights.get(n, 0.0) / (k + r) for n, r in ranks.items())
                 for key, ranks in candidates.items()}
        seeds = sorted(score, key=lambda key: -score[key])[:CALL_SEEDS]
        near: dict[str, tuple[int, int]] = {}
        for position, seed in enumerate(seeds):
            for other in repos[row["repo"]].calls.get(seed, ()):
                lexical = candidates.get(other, {}).get("symbol_lexical", 10**6)
                near[other] = min(near.get(other, (position, lexical)), (position, lexical))
        for rank, key in enumerate(sorted(near, key=lambda key: near[key]), start=1):
            candidates.setdefault(key, {})["calls"] = rank
        probed.append({**row, "symbol_signals": candidates})
        neighbours.append(len(near))
    for weight in CALL_WEIGHTS:
        found[f"weight {weight}"] = measure(probed, {**weights, "calls": weight}, k)["acc@10"]
    found["neighbours per issue (median)"] = float(statistics.median(neighbours))
    return found


def _in_file_ranks(search: SearchIndex, listed: list[str], scored: dict[int, float]
                   ) -> dict[str, int]:
    ranks = {}
    for path in listed:
        own = sorted((i for i in search.by_file.get(path, []) if scored.get(i, 0.0) > 0),
                     key=lambda i: (-scored[i], i))
        symbols = search.corpus.symbols
        ranks.update({f"{path}::{symbols[i].qualname}": r for r, i in enumerate(own, start=1)})
    return ranks


def _within_file(rows: list[dict[str, Any]], ranks: dict[str, dict[str, int]]
                 ) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for row in rows:
        for gold in row["gold_symbols"]:
            if gold.split("::")[0] in row["listed"]:
                counts["gold in listed files"] += 1
                rank = ranks[row["instance_id"]].get(gold)
                counts["top 3"] += bool(rank and rank <= 3)
                counts["top 10"] += bool(rank and rank <= 10)
    return dict(counts)


def _local_scores(index: LexicalIndex, own: list[int], tokens: list[str], local: bool
                  ) -> dict[int, float]:
    mine = set(own)
    scores: dict[int, float] = defaultdict(float)
    for term in index._term_ids(tokens).tolist():
        start, stop = int(index.indptr[term]), int(index.indptr[term + 1])
        postings = [(int(d), float(v)) for d, v in
                    zip(index.indices[start:stop], index.data[start:stop], strict=True)
                    if int(d) in mine]
        factor = 1.0  # the repository's idf, as the postings hold it
        if local and postings:
            # Swap the repository's idf, baked into the postings, for the file's own.
            global_idf = math.log1p((index.size - (stop - start) + 0.5) / (stop - start + 0.5))
            local_idf = math.log1p((len(mine) - len(postings) + 0.5) / (len(postings) + 0.5))
            factor = local_idf / global_idf
        for document, value in postings:
            scores[document] += value * factor
    return scores


def probe_local_idf(rows: list[dict[str, Any]], repos: dict[str, RepoState]
                    ) -> dict[str, dict[str, int]]:
    """Gold symbols within their listed file's top 3 / 10: repository idf versus file idf."""
    found = {}
    for local in (False, True):
        ranks = {}
        for row in rows:
            search = repos[row["repo"]].search
            tokens = parse_issue(row["text"]).tokens[:MAX_QUERY_TOKENS]
            scored: dict[int, float] = {}
            for path in row["listed"]:
                scored.update(_local_scores(search.symbols_lexical,
                                            search.by_file.get(path, []), tokens, local))
            ranks[row["instance_id"]] = _in_file_ranks(search, row["listed"], scored)
        found["file idf" if local else "repository idf"] = _within_file(rows, ranks)
    return found


def probe_in_file_dense(rows: list[dict[str, Any]], repos: dict[str, RepoState],
                        home: Path) -> dict[str, dict[str, int]]:
    """Gold symbols within their listed file's top 3 / 10 by their questions' similarity."""
    settings = load_settings(home=home)
    client = open_client(settings)
    embedder = Embedder(settings.embedding_model)
    ranks = {}
    for row in rows:
        repo = repos[row["repo"]]
        texts = dense_queries(parse_issue(row["text"]))
        collection = client.get_collection(collection_name(repo.key, "questions"))
        best: dict[int, float] = {}
        if texts:
            result = collection.query(query_embeddings=embedder.embed(texts), n_results=300,
                                      where={"path": {"$in": row["listed"]}},
                                      include=["metadatas", "distances"])
            for metadatas, distances in zip(result["metadatas"], result["distances"],
                                            strict=True):
                for meta, distance in zip(metadatas, distances, strict=True):
                    i = repo.search.symbol_position.get((meta["path"], meta["qualname"]))
                    if i is not None:
                        best[i] = max(best.get(i, 0.0), 1.0 - distance)
        ranks[row["instance_id"]] = _in_file_ranks(repo.search, row["listed"], best)
    return {"question similarity": _within_file(rows, ranks)}


def _tested_sources(files: list[str]) -> dict[str, list[str]]:
    by_stem: dict[str, list[str]] = defaultdict(list)
    for path in files:
        if path.endswith(".py") and not is_test_path(path):
            by_stem[path.rsplit("/", 1)[-1][:-3]].append(path)
    return by_stem


def _sources_of(test: str, by_stem: dict[str, list[str]]) -> list[str]:
    stem = test.rsplit("/", 1)[-1].removesuffix(".py")
    stem = stem.removeprefix("test_").removesuffix("_tests").removesuffix("_test")
    shared = test.split("/")
    return sorted(by_stem.get(stem, []), key=lambda path: -sum(
        a == b for a, b in zip(path.split("/"), shared, strict=False)))[:2]


def probe_tested(rows: list[dict[str, Any]], repos: dict[str, RepoState]) -> dict[str, Any]:
    """File ranking with the sources of the best-matching test files as one more signal."""
    params = load_params()
    stems = {repo: _tested_sources(state.search.corpus.files) for repo, state in repos.items()}
    alone: Counter[str] = Counter()
    probed = []
    for row in rows:
        lexical = row["signals"]["file_lexical"]
        tests = sorted((p for p in lexical if is_test_path(p)), key=lambda p: lexical[p])
        first: dict[str, int] = {}
        for rank, test in enumerate(tests[:TESTED_FROM], start=1):
            for source in _sources_of(test, stems[row["repo"]]):
                first.setdefault(source, rank)
        ranked = sorted(first, key=lambda path: (first[path], path))
        alone["acc@1"] += any(g in ranked[:1] for g in row["gold_files"])
        probed.append({**row, "signals": {**row["signals"], "tested": {
            path: rank for rank, path in enumerate(ranked, start=1)}}})
    found: dict[str, Any] = {"alone": {k: round(v / len(rows), 4) for k, v in alone.items()},
                             "without": ablation(rows, params)["all"]}
    for weight in FUSION_WEIGHTS:
        trial = Params(params.version, {**params.fusion, "tested": weight}, params.confidence,
                       params.post_threshold, params.fusion_by_shape, params.symbols)
        found[f"weight {weight}"] = ablation(probed, trial)["all"]
    return found


def _file_features(row: dict[str, Any], params: Params
                   ) -> tuple[list[str], np.ndarray, np.ndarray]:
    fused = fuse(row["signals"], params, row["shape"])
    ranked = sorted(fused, key=lambda p: (-fused[p], p))[:LINEAR_POOL]
    k, top = params.fusion["rrf_k"], fused[ranked[0]] or 1.0
    traceback = float(row["shape"] == "traceback")
    features = []
    for position, path in enumerate(ranked):
        values = [float(is_test_path(path)), 5 * fused[path] / top, 1 / (1 + position)]
        for ranks in row["signals"].values():
            rank = ranks.get(path)
            reciprocal = k / (k + rank) if rank else 0.0
            values += [reciprocal, float(rank == 1), float(bool(rank) and rank <= 3),
                       reciprocal * traceback]
        features.append(values)
    gold = np.array([path in row["gold_files"] for path in ranked])
    return ranked, np.array(features), gold


def _fit_pairwise(examples: list[tuple[list[str], np.ndarray, np.ndarray]], l2: float
                  ) -> np.ndarray:
    differences = np.concatenate([
        (features[gold][:, None, :] - features[~gold][None, :, :]).reshape(
            -1, features.shape[1])
        for _, features, gold in examples if gold.any() and (~gold).any()])
    weights = np.zeros(differences.shape[1])
    for _ in range(LINEAR_STEPS):
        wrong = 1 / (1 + np.exp(differences @ weights))
        weights -= 0.5 * (-(differences * wrong[:, None]).mean(axis=0) + l2 * weights)
    return weights


def probe_linear_fusion(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """File MRR, Acc@1 and Acc@5 of a pairwise linear ranker, left one repository out."""
    params = load_params()
    signals = sorted({name for row in rows for name in row["signals"]})
    aligned = [{**row, "signals": {name: row["signals"].get(name, {}) for name in signals}}
               for row in rows]
    examples = [_file_features(row, params) for row in aligned]
    found: dict[str, Any] = {"without": ablation(rows, params)["all"]}
    for l2 in LINEAR_L2:
        hits: dict[str, float] = defaultdict(float)
        for repo in sorted({row["repo"] for row in rows}):
            train = [e for e, row in zip(examples, rows, strict=True) if row["repo"] != repo]
            weights = _fit_pairwise(train, l2)
            for (ranked, features, _), row in zip(examples, rows, strict=True):
                if row["repo"] == repo:
                    order = [ranked[i] for i in np.argsort(-(features @ weights), kind="stable")]
                    ranks = [order.index(g) + 1 if g in order else None
                             for g in row["gold_files"]]
                    hits["mrr"] += max((1 / r for r in ranks if r), default=0.0)
                    hits["acc@1"] += bool(all_within(ranks, 1))
                    hits["acc@5"] += bool(all_within(ranks, 5))
        found[f"l2 {l2}"] = {k: round(v / len(rows), 4) for k, v in sorted(hits.items())}
    return found


def probe_prf(rows: list[dict[str, Any]], repos: dict[str, RepoState]) -> dict[str, Any]:
    """BM25 file Acc@1 / Acc@5 with and without pseudo-relevance feedback."""
    hits: Counter[str] = Counter()
    for row in rows:
        search = repos[row["repo"]].search
        index, files = search.files_lexical, search.corpus.files
        tokens = parse_issue(row["text"]).tokens[:MAX_QUERY_TOKENS]
        base = index.scores(tokens)
        _count(hits, "without", base, files, row["gold_files"])
        frequency = {term: int(index.indptr[i + 1] - index.indptr[i])
                     for term, i in index.vocabulary.ids.items() if i < len(index.indptr) - 1}
        for documents, terms, mix in PRF_SETTINGS:
            top = top_indices(base, documents)
            weight: dict[str, float] = defaultdict(float)
            for i in top:
                counted = search.corpus.file_terms(i)
                total = sum(counted.values()) or 1
                for term, count in counted.items():
                    if frequency.get(term):
                        idf = math.log1p((index.size - frequency[term] + 0.5)
                                         / (frequency[term] + 0.5))
                        weight[term] += count / total * idf * float(base[i] / base[top[0]])
            expanded = index.scores(sorted(weight, key=lambda term: -weight[term])[:terms])
            mixed = ((1 - mix) * base / (base.max() or 1.0)
                     + mix * expanded / (expanded.max() or 1.0))
            _count(hits, f"{documents} docs, {terms} terms, mix {mix}", mixed, files,
                   row["gold_files"])
    return {name: round(count / len(rows), 4) for name, count in sorted(hits.items())}


def _count(hits: Counter[str], name: str, scores: Any, files: list[str], gold: list[str]
           ) -> None:
    order = [files[i] for i in top_indices(scores, 50)]
    ranks = [order.index(g) + 1 if g in order else None for g in gold]
    hits[f"{name}: acc@1"] += bool(all_within(ranks, 1))
    hits[f"{name}: acc@5"] += bool(all_within(ranks, 5))


def main() -> None:
    """Run the chosen probes and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="navbot eval --out DIR")
    parser.add_argument("--home", type=Path, required=True, help="the run's HOME/eval")
    parser.add_argument("--repos", type=Path, required=True, help="mirrors, as for eval")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--probe", choices=PROBES, action="append")
    args = parser.parse_args()
    rows = load_rows(args.run, args.data)
    probes = args.probe or PROBES
    repos = (load_repos(args.home, args.repos, {row["repo"] for row in rows})
             if NEEDS_REPOS & set(probes) else {})
    run: dict[str, Callable[[], Any]] = {
        "misses": lambda: probe_misses(rows), "calls": lambda: probe_calls(rows, repos),
        "local_idf": lambda: probe_local_idf(rows, repos),
        "in_file_dense": lambda: probe_in_file_dense(rows, repos, args.home),
        "tested": lambda: probe_tested(rows, repos),
        "linear_fusion": lambda: probe_linear_fusion(rows), "prf": lambda: probe_prf(rows, repos)}
    results = {"run": str(args.run), "instances": len(rows)} | {p: run[p]() for p in probes}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
