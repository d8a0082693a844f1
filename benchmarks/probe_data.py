"""What the probes of `benchmarks/probe_symbols.py` and `probe_files.py` replay against.

A new signal costs code, index time and a 20-minute eval to measure. A probe replays one
cheaply: it reads a finished run's `instances.csv` and `signals.jsonl` (`navbot eval --out
DIR`) and the indexes the run's home kept, and measures itself against the run's own
ranking. Caveat: an eval home keeps each repository at the last commit it evaluated, so the
graphs, corpora and vectors are of that commit, not each issue's base commit. Good enough
to reject a probe; a probe that passes must still be built and measured with `navbot eval`.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from indexer.gitrepo import GitRepo
from indexer.store import IndexStore
from navbot.evaluation.data import find_repository
from retrieval.confidence import LISTED_FILES
from retrieval.corpus import DocumentCache
from retrieval.locate import MAX_QUERY_TOKENS, SearchIndex
from retrieval.query import parse_issue

# A probe: whether it needs the repositories' kept state, and what it computes from
# (rows, repositories, the parsed arguments).
Probe = tuple[bool, Callable[[list[dict[str, Any]], dict[str, "RepoState"], Any], Any]]


def load_rows(run: Path, data: Path) -> list[dict[str, Any]]:
    """The run's instances with their recorded signals, issue texts and parsed queries."""
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
        row["queries"] = parse_issue(row["text"])
        row["tokens"] = row["queries"].tokens[:MAX_QUERY_TOKENS]  # as `locate` queries
        row["listed"] = json.loads(record["top5"])[:LISTED_FILES]
        row["func_ranks"] = json.loads(record["func_ranks"])
        row["base_commit"] = record["base_commit"]
        rows.append(row)
    return rows


class RepoState:
    """One repository as the eval home kept it: its search index and call edges."""

    def __init__(self, store: Path, mirror: Path) -> None:
        self.key = store.name
        self.store = IndexStore(store)
        state = self.store.load_state()
        self.search = SearchIndex.build(DocumentCache().build(GitRepo(mirror), state.facts))
        self.calls: dict[str, set[str]] = defaultdict(set)
        for source, target, kind, _ in self.store.load_graph().edges:
            if kind == "calls":  # ids "sym:path::qualname", the eval's keys behind "sym:"
                caller, callee = source.removeprefix("sym:"), target.removeprefix("sym:")
                self.calls[caller].add(callee)
                self.calls[callee].add(caller)


def load_repos(home: Path, mirrors: Path, wanted: set[str]) -> dict[str, RepoState]:
    """Each wanted repository's kept state, by its `owner/name`."""
    found = {}
    for store in sorted((home / "repos").iterdir()):
        repo = store.name.rsplit("-", 1)[0].replace("+", "/")
        mirror = find_repository(mirrors, repo) if repo in wanted else None
        if mirror is not None:
            found[repo] = RepoState(store, mirror)
    return found


def run_probes(description: str, probes: Mapping[str, Probe]) -> None:
    """Parse the common arguments, run the chosen probes and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run", type=Path, required=True, help="navbot eval --out DIR")
    parser.add_argument("--home", type=Path, required=True, help="the run's HOME/eval")
    parser.add_argument("--repos", type=Path, required=True, help="mirrors, as for eval")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--probe", choices=list(probes), action="append")
    args = parser.parse_args()
    rows = load_rows(args.run, args.data)
    chosen = args.probe or list(probes)
    repos = (load_repos(args.home, args.repos, {row["repo"] for row in rows})
             if any(probes[name][0] for name in chosen) else {})
    results = {"run": str(args.run), "instances": len(rows)}
    results |= {name: probes[name][1](rows, repos, args) for name in chosen}
    print(json.dumps(results, indent=2))
