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
- `ceiling`: not a signal but how far any choice among the recorded signals could go: the
  issues whose one gold file some signal ranks first (or in its top 3), against the fusion.
- `title`: the issue's title line searched alone (BM25 over files, over symbols and over
  paths, and what it names outright), each fused as one more signal.
- `churn`: how often each file changed in the commits before the issue's base commit
  (all commits, or those whose message says fix, bug or issue), as one more signal.
"""

from __future__ import annotations

import subprocess
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from fit_params import ablation
from probe_data import RepoState, run_probes

from navbot.evaluation.data import find_repository
from navbot.evaluation.metrics import all_within
from retrieval.lexical import LexicalIndex, bm25_idf, top_indices
from retrieval.locate import CANDIDATES, fuse, is_test_path
from retrieval.mentions import collect_mentions
from retrieval.params import Params, load_params
from retrieval.query import parse_issue
from retrieval.symbol_rank import ranks_of
from retrieval.text import tokenize_path

TESTED_FROM = 5  # best-ranked test files mapped to their sources
FUSION_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
LINEAR_POOL = 50  # files per issue the linear ranker reorders: the run's fused top 50
LINEAR_L2 = (0.001, 0.01, 0.1)
LINEAR_STEPS = 2000
PRF_SETTINGS = ((3, 10, 0.3), (5, 10, 0.2), (5, 20, 0.3), (3, 20, 0.5))  # docs, terms, mix
CHURN_COMMITS = (300, 1000, 3000)  # the newest commits before the base commit counted
CHURN_LARGE = 30  # a commit changing more files is a sweep (a rename, a reformat): skipped
FIX_WORDS = ("fix", "bug", "issue", "#")


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
    return {"without": ablation(rows, params)["all"], **_at_weights(probed, name, params)}


def _at_weights(probed: list[dict[str, Any]], name: str, params: Params, label: str = "",
                weights: tuple[float, ...] = FUSION_WEIGHTS) -> dict[str, Any]:
    """The replayed fusion of `probed` with signal `name` at each weight, keyed by `label`."""
    found = {}
    for weight in weights:
        trial = replace(params, fusion={**params.fusion, name: weight})
        found[f"{label}weight {weight}"] = ablation(probed, trial)["all"]
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


def probe_ceiling(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issues whose one gold file some signal ranks first or in its top 3, and the fusion's."""
    params = load_params()
    single = [row for row in rows if len(row["gold_files"]) == 1]
    counts: Counter[str] = Counter()
    for row in single:
        gold = row["gold_files"][0]
        best = min((ranks.get(gold) or CANDIDATES + 1 for ranks in row["signals"].values()),
                   default=CANDIDATES + 1)
        fused = fuse(row["signals"], params, row["shape"])
        # Ties as the ranking breaks them: the higher score, then the lower path.
        counts["fused first"] += min(fused, key=lambda p: (-fused[p], p)) == gold
        counts["some signal first"] += best == 1
        counts["some signal in its top 3"] += best <= 3
        for name, ranks in row["signals"].items():
            counts[f"first by {name}"] += ranks.get(gold) == 1
    return {"instances": len(rows), "one gold file": len(single), **dict(sorted(counts.items())),
            "acc@1 if some signal's first were always chosen": round(
                counts["some signal first"] / len(rows), 4)}


def _title_signals(row: dict[str, Any], state: RepoState) -> dict[str, dict[str, int]]:
    search = state.search
    queries = parse_issue(row["text"].strip().split("\n", 1)[0])
    terms = list(dict.fromkeys(queries.tokens))

    def best_files(scores: Any) -> dict[str, int]:
        return ranks_of({search.corpus.files[i]: float(scores[i])
                         for i in top_indices(scores, CANDIDATES) if scores[i] > 0})

    symbol_scores = search.symbols_lexical.scores(terms)
    best_symbol: dict[str, float] = {}
    for i in top_indices(symbol_scores, CANDIDATES * 3):
        if symbol_scores[i] > 0:
            best_symbol.setdefault(search.corpus.symbols[i].path, float(symbol_scores[i]))
    return {"title_lexical": best_files(search.files_lexical.scores(terms)),
            "title_symbol": ranks_of(best_symbol),
            "title_path": best_files(search.paths_lexical.scores(terms)),
            "title_mention": ranks_of(dict(collect_mentions(search, queries).files))}


def probe_title(rows: list[dict[str, Any]], repos: dict[str, RepoState]) -> dict[str, Any]:
    """File ranking with the title searched alone as one more signal, each kind by weight."""
    params = load_params()
    titles = [_title_signals(row, repos[row["repo"]]) for row in rows]
    found: dict[str, Any] = {"without": ablation(rows, params)["all"]}
    for name in titles[0]:
        probed = [{**row, "signals": {**row["signals"], name: title[name]}}
                  for row, title in zip(rows, titles, strict=True)]
        found |= _at_weights(probed, name, params, f"{name}, ")
    return found


def _commits_before(mirror: Path, commit: str, count: int) -> list[tuple[str, list[str]]]:
    """The newest `count` non-merge commits up to `commit`: (subject, changed paths).

    Not checked: a mirror may lack an old tree, and git then stops at that commit; the
    commits it listed before are what there is to count.
    """
    log = subprocess.run(
        ["git", "--git-dir", str(mirror), "log", "--no-merges", "--format=%x00%s",
         "--name-only", "-n", str(count), commit],
        capture_output=True, text=True, check=False).stdout
    commits = []
    for block in log.split("\0")[1:]:
        subject, *paths = block.strip("\n").split("\n")
        commits.append((subject, [p for p in paths if p]))
    return commits


def probe_churn(rows: list[dict[str, Any]], mirrors: Path) -> dict[str, Any]:
    """File ranking with how often each file changed before the issue as one more signal."""
    params = load_params()
    found: dict[str, Any] = {"without": ablation(rows, params)["all"]}
    history = [_commits_before(find_repository(mirrors, row["repo"]) or mirrors,
                               row["base_commit"], max(CHURN_COMMITS)) for row in rows]
    for count in CHURN_COMMITS:
        for fixes_only in (False, True):
            probed = []
            for row, commits in zip(rows, history, strict=True):
                changed: Counter[str] = Counter()
                for subject, paths in commits[:count]:
                    if len(paths) <= CHURN_LARGE and (not fixes_only or any(
                            word in subject.lower() for word in FIX_WORDS)):
                        changed.update(paths)
                probed.append({**row, "signals": {**row["signals"],
                                                  "churn": ranks_of(dict(changed))}})
            kind = "fix commits" if fixes_only else "commits"
            found |= _at_weights(probed, "churn", params, f"{count} {kind}, ",
                                 FUSION_WEIGHTS[:3])
    return found


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "path": (True, lambda rows, repos, args: probe_path(rows, repos)),
        "tested": (True, lambda rows, repos, args: probe_tested(rows, repos)),
        "linear_fusion": (False, lambda rows, repos, args: probe_linear_fusion(rows)),
        "prf": (True, lambda rows, repos, args: probe_prf(rows, repos)),
        "ceiling": (False, lambda rows, repos, args: probe_ceiling(rows)),
        "title": (True, lambda rows, repos, args: probe_title(rows, repos)),
        "churn": (False, lambda rows, repos, args: probe_churn(rows, args.repos)),
    })
