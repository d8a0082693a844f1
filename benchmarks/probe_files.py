"""Probe file signals and fusions against a finished eval run, before building any.

    python benchmarks/probe_files.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe NAME ...]

What the probes read, and its caveat: `benchmarks/probe_data.py`. Each signal probe is
fused as one more file signal at several weights; measured: file MRR, Acc@1 and Acc@5 of
the replayed fusion (`benchmarks/fit_params.py`). Probes:
- `path`: BM25 over file paths alone (it passed, and is now the `path` signal).
- `tested`: source files named after the test files BM25 ranks best (`test_latex.py` ->
  `latex.py`, the one sharing most directories); also the signal alone.
- `linear_fusion`: a pairwise logistic ranker over per-signal features (reciprocal rank,
  first, top three, traceback interaction, test file, the fused score itself) instead of
  weighted reciprocal-rank fusion, fitted and measured leaving one repository out.
- `prf`: pseudo-relevance feedback (RM3-like) on BM25 over whole files: the best files'
  highest-weighted terms as a second query, mixed in. Measured: file Acc@1 and Acc@5 of
  BM25 alone, with and without it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
from fit_params import ablation
from probe_data import RepoState, run_probes

from navbot.evaluation.metrics import all_within
from retrieval.lexical import LexicalIndex, bm25_idf, top_indices
from retrieval.locate import fuse, is_test_path
from retrieval.params import Params, load_params
from retrieval.text import tokenize_path

TESTED_FROM = 5  # best-ranked test files mapped to their sources
FUSION_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
LINEAR_POOL = 50  # files per issue the linear ranker reorders: the run's fused top 50
LINEAR_L2 = (0.001, 0.01, 0.1)
LINEAR_STEPS = 2000
PRF_SETTINGS = ((3, 10, 0.3), (5, 10, 0.2), (5, 20, 0.3), (3, 20, 0.5))  # docs, terms, mix


def probe_path(rows: list[dict[str, Any]], repos: dict[str, RepoState]) -> dict[str, Any]:
    """File ranking with BM25 over file paths alone as one more signal (built since)."""
    params = load_params()
    paths = {repo: (state.search.corpus.files, LexicalIndex.from_tokens(
        [tokenize_path(p) for p in state.search.corpus.files])) for repo, state in repos.items()}
    probed = []
    for row in rows:
        files, index = paths[row["repo"]]
        terms = list(dict.fromkeys(row["tokens"]))
        ranked = [files[i] for i in top_indices(index.scores(terms), 100)]
        probed.append({**row, "signals": {**row["signals"], "path": {
            path: rank for rank, path in enumerate(ranked, start=1)}}})
    return _with_weights(rows, probed, "path", params)


def _with_weights(rows: list[dict[str, Any]], probed: list[dict[str, Any]], name: str,
                  params: Params) -> dict[str, Any]:
    found: dict[str, Any] = {"without": ablation(rows, params)["all"]}
    for weight in FUSION_WEIGHTS:
        trial = replace(params, fusion={**params.fusion, name: weight})
        found[f"weight {weight}"] = ablation(probed, trial)["all"]
    return found


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
    return {"alone": {k: round(v / len(rows), 4) for k, v in alone.items()},
            **_with_weights(rows, probed, "tested", params)}


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
    # Each term's idf over whole files, once per repository; terms without postings have none.
    idfs = {}
    for repo, state in repos.items():
        index = state.search.files_lexical
        known = len(index.indptr) - 1
        frequency = np.diff(index.indptr)
        idfs[repo] = {term: float(bm25_idf(index.size, frequency[i]))
                      for term, i in index.vocabulary.ids.items()
                      if i < known and frequency[i]}
    for row in rows:
        search = repos[row["repo"]].search
        index, files, idf = search.files_lexical, search.corpus.files, idfs[row["repo"]]
        base = index.scores(row["tokens"])
        _count(hits, "without", base, files, row["gold_files"])
        for documents, terms, mix in PRF_SETTINGS:
            top = top_indices(base, documents)
            weight: dict[str, float] = defaultdict(float)
            for i in top:
                counted = search.corpus.file_terms(i)
                total = sum(counted.values()) or 1
                for term, count in counted.items():
                    if term in idf:
                        weight[term] += (count / total * idf[term]
                                         * float(base[i] / base[top[0]]))
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


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "path": (True, lambda rows, repos, args: probe_path(rows, repos)),
        "tested": (True, lambda rows, repos, args: probe_tested(rows, repos)),
        "linear_fusion": (False, lambda rows, repos, args: probe_linear_fusion(rows)),
        "prf": (True, lambda rows, repos, args: probe_prf(rows, repos)),
    })
