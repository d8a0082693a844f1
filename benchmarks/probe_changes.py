"""Probe symbol signals drawn from which functions past commits changed, before building any.

    python benchmarks/probe_changes.py --run DIR --home HOME/eval --repos MIRRORS \\
        --data ../shared/eval/swebench_verified_dev.jsonl [--probe NAME ...]

The index knows which files a commit changed, not which functions. git does, roughly: with
its built-in Python diff driver, each hunk header names the `def` or `class` line above the
hunk, so `git log -U0 -p` lists the functions a commit's hunks fall in. (A hunk that starts
on a `def` line is credited to the function before it; good enough for a probe.) Each
probe is fused as one more symbol signal at several weights and measured as function
Acc@10, as in `benchmarks/probe_symbols.py`, whose caveats hold here too:
- `function_churn`: the listed files' functions ranked by how many of the last N commits
  that changed the file (before the issue's base commit) changed them.
- `similar_changes`: the functions changed by the past commits whose messages are most
  like the issue (BM25, as the file-level history signal), each weighted by the commit's
  similarity and shared among its functions. Only commits the base commit reaches count.

Both match a hunk's function to today's symbols by name, so methods of the same name in
one file share their credit.
"""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from probe_data import RepoState, run_probes
from probe_symbols import _by_weight

from navbot.evaluation.data import find_repository
from retrieval.history_signal import SIMILAR_CHANGES, HistorySignal
from retrieval.lexical import top_indices
from retrieval.locate import CANDIDATES, SearchIndex

CHURN_COMMITS = (30, 100, 300)
_HUNK_FUNCTION = re.compile(r"^@@ [^@]* @@\s*(?:async\s+)?(?:def|class)\s+(\w+)", re.M)
_FILE_HEADER = re.compile(r"^diff --git a/\S+ b/(\S+)$", re.M)


def changed_functions(patch: str) -> dict[str, set[str]]:
    """Per file of a patch, the names of the functions and classes its hunks fall in."""
    found: dict[str, set[str]] = defaultdict(set)
    headers = list(_FILE_HEADER.finditer(patch))
    for n, header in enumerate(headers):
        end = headers[n + 1].start() if n + 1 < len(headers) else len(patch)
        found[header.group(1)].update(_HUNK_FUNCTION.findall(patch[header.end():end]))
    return dict(found)


def python_patches(mirror: Path, args: list[str]) -> str:
    """`git ARGS` on `mirror` with hunk headers from git's Python diff driver."""
    with tempfile.NamedTemporaryFile("w", suffix=".attributes") as attributes:
        attributes.write("*.py diff=python\n")
        attributes.flush()
        return subprocess.run(
            ["git", "--git-dir", str(mirror), "-c", f"core.attributesFile={attributes.name}",
             *args], capture_output=True, text=True, errors="replace", check=False).stdout


def commits_changing(mirror: Path, commit: str, path: str, count: int) -> list[set[str]]:
    """For the newest `count` non-merge commits up to `commit` that changed `path`, newest
    first: the names of the functions each changed in it."""
    log = python_patches(mirror, ["log", "--no-merges", "-U0", "-p", "--format=%x00",
                                  "-n", str(count), commit, "--", path])
    return [changed_functions(block).get(path, set()) for block in log.split("\0")[1:]]


def _with_signal(row: dict[str, Any], ranked: list[str], name: str) -> dict[str, Any]:
    """`row` with the symbol keys `ranked` (best first) added as signal `name`.

    A new candidate takes its file's fused rank from the run's candidates of that file.
    """
    candidates = {key: dict(ranks) for key, ranks in row["symbol_signals"].items()}
    file_rank: dict[str, int] = {}
    for key, ranks in candidates.items():
        if "file" in ranks:
            file_rank.setdefault(key.split("::")[0], ranks["file"])
    for rank, key in enumerate(ranked, start=1):
        if key not in candidates:
            candidates[key] = {"file": file_rank.get(key.split("::")[0], CANDIDATES)}
        candidates[key][name] = rank
    return {**row, "symbol_signals": candidates}


def _named(search: SearchIndex, path: str, names: Counter[str] | dict[str, float]
           ) -> dict[str, float]:
    """Today's symbols of `path` whose names `names` weighs, by key, with that weight."""
    found = {}
    for i in search.by_file.get(path, []):
        symbol = search.corpus.symbols[i]
        if names.get(symbol.name):
            found[f"{path}::{symbol.qualname}"] = float(names[symbol.name])
    return found


def probe_function_churn(rows: list[dict[str, Any]], repos: dict[str, RepoState],
                         mirrors: Path) -> dict[str, Any]:
    """Function Acc@10 with the listed files' most often changed functions fused in."""
    symbol_rows = [row for row in rows if row["gold_symbols"]]
    history = []
    for row in symbol_rows:
        mirror = find_repository(mirrors, row["repo"]) or mirrors
        history.append([commits_changing(mirror, row["base_commit"], path, max(CHURN_COMMITS))
                        for path in row["listed"]])
    found: dict[str, Any] = {}
    for count in CHURN_COMMITS:
        probed = []
        for row, per_file in zip(symbol_rows, history, strict=True):
            scored: list[tuple[float, int, str]] = []
            for position, (path, commits) in enumerate(zip(row["listed"], per_file,
                                                            strict=True)):
                changed = Counter(name for names in commits[:count] for name in names)
                scored.extend((-weight, position, key) for key, weight in
                              _named(repos[row["repo"]].search, path, changed).items())
            probed.append(_with_signal(row, [key for *_, key in sorted(scored)], "churn"))
        by_weight = _by_weight(symbol_rows, probed, "churn")
        found["without"] = by_weight.pop("without")
        found |= {f"{count} commits, {label}": value for label, value in by_weight.items()}
    return found


def _ancestors(mirror: Path, commit: str) -> set[str]:
    return set(subprocess.run(["git", "--git-dir", str(mirror), "rev-list", commit],
                              capture_output=True, text=True, check=False).stdout.split())


def probe_similar_changes(rows: list[dict[str, Any]], repos: dict[str, RepoState],
                          mirrors: Path) -> dict[str, Any]:
    """Function Acc@10 with the functions similar past commits changed fused in."""
    symbol_rows = [row for row in rows if row["gold_symbols"]]
    signals = {name: HistorySignal.from_graph(state.store.load_graph(),
                                              set(state.search.corpus.files))
               for name, state in repos.items()}
    probed, reached = [], 0
    for row in symbol_rows:
        mirror = find_repository(mirrors, row["repo"]) or mirrors
        history = signals[row["repo"]]
        reachable = _ancestors(mirror, row["base_commit"])
        # The run's home is at a later commit: the fix and later commits must not count.
        scores = history.lexical.scores(row["tokens"]).copy()
        for i, change in enumerate(history.changes):
            if change.sha not in reachable:
                scores[i] = 0.0
        top = [i for i in top_indices(scores, SIMILAR_CHANGES) if scores[i] > 0]
        weight: dict[str, float] = defaultdict(float)
        for i in top:
            change = history.changes[i]
            functions = changed_functions(python_patches(
                mirror, ["show", "-U0", "--format=", change.sha, "--", *change.files]))
            share = float(scores[i] / scores[top[0]]) / math.sqrt(
                max(1, sum(map(len, functions.values()))))
            for path, names in functions.items():
                for key in _named(repos[row["repo"]].search, path, dict.fromkeys(names, 1.0)):
                    weight[key] += share
        probed.append(_with_signal(row, sorted(weight, key=lambda key: (-weight[key], key)),
                                   "similar_changes"))
        reached += sum(gold in weight for gold in row["gold_symbols"])
    return {**_by_weight(symbol_rows, probed, "similar_changes"),
            "gold functions reached": reached,
            "gold functions": sum(len(row["gold_symbols"]) for row in symbol_rows)}


if __name__ == "__main__":
    run_probes(__doc__.split("\n")[0], {
        "function_churn": (True, lambda rows, repos, args: probe_function_churn(
            rows, repos, args.repos)),
        "similar_changes": (True, lambda rows, repos, args: probe_similar_changes(
            rows, repos, args.repos)),
    })
