"""Probe symbol signals against a finished eval run, before building any into `locate`.

    python benchmarks/probe_symbols.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe NAME ...]

What the probes read, and its caveat: `benchmarks/probe_data.py`. Probes:
- `misses`: not a signal but where function Acc@10 is lost: issues by how many functions
  their fix changed, and whether all their gold files were listed (in the top three).
- `calls`: symbols one call away (either way) from the run's best five symbols, fused as
  one more symbol signal at several weights. Measured: function Acc@10 (all gold in 10).
- `local_idf`: ranking a listed file's symbols by BM25 with the file's own document
  frequencies instead of the repository's. Measured: gold symbols of listed files within
  their file's top 3 and top 10.
- `in_file_dense`: ranking a listed file's symbols by their best question's similarity to
  the issue (chroma filtered to the listed files). Measured as `local_idf`.
- `operators`: the special methods the issue's code and words use (`a + b` -> `__add__`,
  `x[0]` -> `__getitem__`, "iterating" -> `__iter__`), found in the listed files, members of
  classes the issue names first, fused as one more symbol signal at several weights.
  Measured as `calls`.
- `quota`: not a signal but another way to fill the top ten: the best few symbols of each
  listed file first (say 6, 2 and 2 of the first, second and third file), then the rest as
  fused. Measured as `calls`.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from fit_symbols import fused_order, measure
from probe_data import RepoState, run_probes

from navbot.config import load_settings
from navbot.evaluation.metrics import all_within
from retrieval.dense import dense_queries
from retrieval.embed import Embedder
from retrieval.lexical import LexicalIndex, bm25_idf
from retrieval.locate import SearchIndex
from retrieval.params import load_params
from retrieval.vectors import collection_name, open_client

CALL_SEEDS = 5
CALL_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
QUOTAS = ((10,), (8, 2), (7, 3), (6, 2, 2), (5, 3, 2), (4, 3, 3))
_OPERAND = r"[\w\)\]]"
# (pattern over the code, the special methods it uses)
CODE_OPERATORS = (
    (_OPERAND + r"\s*==\s*\S", ("__eq__", "__ne__")),
    (_OPERAND + r"\s*!=\s*\S", ("__ne__", "__eq__")),
    (_OPERAND + r"\s*<=\s*[\w(]", ("__le__", "__ge__")),
    (_OPERAND + r"\s*>=\s*[\w(]", ("__ge__", "__le__")),
    (_OPERAND + r" < [\w(]", ("__lt__", "__gt__")),
    (_OPERAND + r" > [\w(]", ("__gt__", "__lt__")),
    (_OPERAND + r"\s*\*\*\s*[\w(]", ("__pow__", "__rpow__")),
    (_OPERAND + r"\s*(?<!\*)\*(?!\*)\s*[\w(]", ("__mul__", "__rmul__")),
    (_OPERAND + r"\s*\+\s*[\w(]", ("__add__", "__radd__")),
    (_OPERAND + r"\s+-\s+[\w(]", ("__sub__", "__rsub__")),
    (_OPERAND + r" / [\w(]", ("__truediv__", "__rtruediv__", "__div__")),
    (_OPERAND + r"\s*@\s*[\w(]", ("__matmul__", "__rmatmul__")),
    (_OPERAND + r"\s*\^\s*[\w(]", ("__xor__", "__rxor__")),
    (_OPERAND + r"\s*%\s*[\w(]", ("__mod__", "__rmod__")),
    (r"\w\[[^\]\n]+\]\s*=[^=]", ("__setitem__",)),
    (r"\w\[[^\]\n]+\]", ("__getitem__",)),
    (r"\bfor\s+\w+(?:\s*,\s*\w+)*\s+in\b", ("__iter__",)),
    (r"\blen\(", ("__len__",)),
    (r"\bbool\(|^\s*if\s+\w+\s*:", ("__bool__",)),
    (r"\brepr\(", ("__repr__",)),
    (r"\bstr\(", ("__str__",)),
    (r"\bhash\(", ("__hash__",)),
    (r"\babs\(", ("__abs__",)),
    (r"\b(?:np|numpy)\.(?:as)?array\(", ("__array__",)),
    (r"\bdeepcopy\(", ("__deepcopy__",)),
    (r"\bcopy\.copy\(", ("__copy__",)),
    (r"\bpickle\.", ("__reduce__", "__getstate__", "__setstate__")),
    (r"^\s*with\s", ("__enter__", "__exit__")),
)
# (pattern over the words, the special methods they describe)
WORD_OPERATORS = (
    (r"\biterat(?:e|es|ed|ing|ion|or)\b", ("__iter__",)),
    (r"\bequal(?:ity|s)?\b|\bcompar(?:e|es|ed|ing|ison)\b", ("__eq__", "__ne__")),
    (r"\bindex(?:ing|ed)\b|\bsubscript|\bslic(?:e|ing)\b", ("__getitem__",)),
    (r"\bpickl", ("__reduce__", "__getstate__", "__setstate__")),
    (r"\bhash(?:able|ing)?\b", ("__hash__",)),
    (r"\btruth value|\bbool\b", ("__bool__",)),
    (r"\bdeep ?cop", ("__deepcopy__",)),
    (r"\bAttributeError\b|\battribute access", ("__getattr__", "__getattribute__")),
)


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
    probed, neighbours = [], []
    for row in symbol_rows:
        candidates = {key: dict(ranks) for key, ranks in row["symbol_signals"].items()}
        seeds = fused_order(row, weights, k)[:CALL_SEEDS]
        near: dict[str, tuple[int, int]] = {}
        for position, seed in enumerate(seeds):
            for other in repos[row["repo"]].calls.get(seed, ()):
                lexical = candidates.get(other, {}).get("symbol_lexical", 10**6)
                near[other] = min(near.get(other, (position, lexical)), (position, lexical))
        # Ties by key: `near` fills from sets, whose order changes with the hash seed.
        for rank, key in enumerate(sorted(near, key=lambda key: (near[key], key)), start=1):
            candidates.setdefault(key, {})["calls"] = rank
        probed.append({**row, "symbol_signals": candidates})
        neighbours.append(len(near))
    return {**_by_weight(symbol_rows, probed, "calls"),
            "neighbours per issue (median)": float(statistics.median(neighbours))}


def _by_weight(rows: list[dict[str, Any]], probed: list[dict[str, Any]], name: str
               ) -> dict[str, float]:
    """Function Acc@10 of `rows` as run, and of `probed` with signal `name` at each weight."""
    params = load_params()
    weights, k = params.symbol_weights(), params.fusion["rrf_k"]
    found = {"without": measure(rows, weights, k)["acc@10"]}
    for weight in CALL_WEIGHTS:
        found[f"weight {weight}"] = measure(probed, {**weights, name: weight}, k)["acc@10"]
    return found


def special_methods(code: str, text: str) -> set[str]:
    """The special methods an issue's code and words use."""
    found: set[str] = set()
    for pattern, names in CODE_OPERATORS:
        if re.search(pattern, code, re.M):
            found.update(names)
    for pattern, names in WORD_OPERATORS:
        if re.search(pattern, text, re.I):
            found.update(names)
    return found


def _operator_candidates(row: dict[str, Any], search: SearchIndex) -> list[str]:
    """The listed files' special methods the issue uses: of classes it names first."""
    queries = row["queries"]
    used, named = special_methods(queries.code, queries.text), set(queries.identifiers)
    found = []
    for position, path in enumerate(row["listed"]):
        for i in search.by_file.get(path, []):
            symbol = search.corpus.symbols[i]
            if symbol.name in used:
                owner = symbol.qualname.rsplit(".", 2)[-2] if "." in symbol.qualname else ""
                found.append((owner not in named, position, symbol.qualname.count("."), i,
                              f"{path}::{symbol.qualname}"))
    return [key for *_, key in sorted(found)]


def probe_operators(rows: list[dict[str, Any]], repos: dict[str, RepoState]
                    ) -> dict[str, float]:
    """Function Acc@10 with the special methods the issue uses fused in, by weight."""
    symbol_rows = [row for row in rows if row["gold_symbols"]]
    probed, counts = [], []
    for row in symbol_rows:
        candidates = {key: dict(ranks) for key, ranks in row["symbol_signals"].items()}
        keys = _operator_candidates(row, repos[row["repo"]].search)
        for rank, key in enumerate(keys, start=1):
            path = key.split("::")[0]
            candidates.setdefault(key, {"file": row["listed"].index(path) + 1})["operator"] = rank
        probed.append({**row, "symbol_signals": candidates})
        counts.append(len(keys))
    return {**_by_weight(symbol_rows, probed, "operator"),
            "issues with candidates": sum(1 for count in counts if count)}


def with_quota(order: list[str], file_rank: dict[str, int], quota: tuple[int, ...]
               ) -> list[str]:
    """`order` with the best `quota[n]` symbols of the file ranked n + 1 moved to the front."""
    front: list[str] = []
    for rank, count in enumerate(quota, start=1):
        front.extend([key for key in order if file_rank.get(key) == rank][:count])
    chosen = set(front)
    return front + [key for key in order if key not in chosen]


def probe_quota(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Function Acc@10 with the top ten filled by a quota per listed file, by quota."""
    params = load_params()
    weights, k = params.symbol_weights(), params.fusion["rrf_k"]
    symbol_rows = [row for row in rows if row["gold_symbols"]]
    found = {"without": measure(symbol_rows, weights, k)["acc@10"]}
    for quota in QUOTAS:
        hits = 0
        for row in symbol_rows:
            file_rank = {key: ranks.get("file", 0)
                         for key, ranks in row["symbol_signals"].items()}
            top = with_quota(fused_order(row, weights, k), file_rank, quota)[:10]
            hits += all(gold in top for gold in row["gold_symbols"])
        found["quota " + "-".join(map(str, quota))] = hits / len(symbol_rows)
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
            factor = (float(bm25_idf(len(mine), len(postings)))
                      / float(bm25_idf(index.size, stop - start)))
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
            scored: dict[int, float] = {}
            for path in row["listed"]:
                scored.update(_local_scores(search.symbols_lexical,
                                            search.by_file.get(path, []), row["tokens"], local))
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
        texts = dense_queries(row["queries"])
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


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "misses": (False, lambda rows, repos, args: probe_misses(rows)),
        "calls": (True, lambda rows, repos, args: probe_calls(rows, repos)),
        "local_idf": (True, lambda rows, repos, args: probe_local_idf(rows, repos)),
        "in_file_dense": (True, lambda rows, repos, args: probe_in_file_dense(rows, repos,
                                                                               args.home)),
        "operators": (True, lambda rows, repos, args: probe_operators(rows, repos)),
        "quota": (False, lambda rows, repos, args: probe_quota(rows)),
    })
