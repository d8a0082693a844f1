"""Index a repository at a commit: full, or incremental from the stored index.

This module orchestrates the edges (git, store) around the pure core (filters, parse,
resolve, history, graph). An incremental run re-parses only files whose blob changed and
reads only commits the stored history lacks, then rebuilds the graph from all facts, so
its result equals a full index at the same commit by construction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from indexer.facts import FileFacts
from indexer.filters import SkipRules, skip_reason_for_content, skip_reason_for_path
from indexer.github_history import github_history, merge_history
from indexer.gitrepo import CommitRecord, GitRepo, TreeEntry
from indexer.graph import GraphData, assemble
from indexer.history import build_history
from indexer.languages import language_for
from indexer.parse import extract, extract_many
from indexer.resolve import resolve
from indexer.store import IndexState, IndexStore
from navbot.core.config import Settings
from navbot.core.errors import IndexStoreError
from navbot.core.gc_pause import without_gc

Progress = Callable[[str, int, int], None]
POOL_MIN_BYTES = 4_000_000  # below this, starting worker processes costs more than it saves
BATCH_BYTES = 1_000_000


@dataclass
class IndexResult:
    """What one index run did; the CLI's summary and `--json` come from it."""

    repo: str
    path: str
    commit: str
    incremental: bool
    counts: dict[str, int]
    seconds: float
    timings: dict[str, float]
    failed_files: list[dict[str, str]]
    reparsed: int
    new_commits: int
    graph: GraphData = field(repr=False)
    facts: dict[str, FileFacts] = field(repr=False, default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The `navbot index --json` object."""
        return {
            "repo": self.repo, "commit": self.commit, "files": self.counts["file"],
            "symbols": self.counts["symbol"], "edges": self.counts["edges"],
            "commits": self.counts["commit"], "seconds": round(self.seconds, 3),
            "incremental": self.incremental, "failed_files": len(self.failed_files),
        }


def _no_progress(stage: str, done: int, total: int) -> None:
    """Progress sink that shows nothing."""


def _batches(items: list[tuple[str, str, bytes, str | None]]
             ) -> Iterator[list[tuple[str, str, bytes, str | None]]]:
    batch: list[tuple[str, str, bytes, str | None]] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(item[2])
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _HistoryReader(threading.Thread):
    """Reads commit records in the background; git runs while files are being parsed."""

    def __init__(self, repo: GitRepo, shas: list[str]) -> None:
        super().__init__(daemon=True)
        self.repo, self.shas = repo, shas
        self.records: list[CommitRecord] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.records = self.repo.read_commits(self.shas)
        except BaseException as exc:  # re-raised in the indexing thread by result()
            self.error = exc

    def result(self) -> list[CommitRecord]:
        self.join()
        if self.error is not None:
            raise self.error
        return self.records


class Indexer:
    """Builds and stores the index of one local repository."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.progress = progress or _no_progress
        self.rules = SkipRules.create(settings.skip_dirs, settings.ignore, settings.max_file_bytes)

    def fingerprint(self) -> str:
        """Settings an index depends on; when they change, the next run is a full one."""
        return (f"{self.rules.fingerprint()}|{self.settings.history_max_commits}|"
                f"{self.settings.cochange_max_files}")

    @without_gc
    def index(self, path: Path, commit: str = "HEAD", full: bool = False) -> IndexResult:
        """Index `path` at `commit`, incrementally when the stored index allows it."""
        repo = GitRepo(path)
        sha = repo.resolve_commit(commit)
        store = IndexStore.for_repo(self.settings, repo)
        with store.lock(self.settings.lock_timeout_s):
            previous = None if full else self._usable_previous(store, repo, sha)
            return self._run(repo, store, sha, previous)

    @without_gc
    def apply_github_items(self, path: Path, items: list[dict[str, Any]]) -> GraphData | None:
        """Keep ingested GitHub issues and PRs with the index and lay them over its graph.

        Returns the new graph, or None when the repository has no index yet (its first
        index will include them).
        """
        store = IndexStore.for_path(self.settings, path)
        with store.lock(self.settings.lock_timeout_s):
            store.save_github_items(items)
            if not store.exists():
                return None
            graph = store.load_graph()
            present = [attrs["path"] for _, attrs in graph.nodes if attrs["kind"] == "file"]
            graph = merge_history(graph, github_history(items, present))
            store.replace_graph(graph)
            return graph

    def _usable_previous(self, store: IndexStore, repo: GitRepo, sha: str) -> IndexState | None:
        if not store.exists():
            return None
        try:
            state = store.load_state()
        except IndexStoreError:
            return None  # unreadable or from another schema: rebuild from scratch
        if state.manifest.get("settings") != self.fingerprint():
            return None
        if not repo.is_ancestor(state.manifest["commit"], sha):
            return None  # a force-push rewrote history: start over
        return state

    def _run(self, repo: GitRepo, store: IndexStore, sha: str, previous: IndexState | None
             ) -> IndexResult:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        known = previous.history if previous else {}
        window = repo.rev_list(sha, self.settings.history_max_commits)
        reader = _HistoryReader(repo, [s for s in window if s not in known])
        reader.start()

        mark = time.perf_counter()
        facts, skipped, reparsed = self._collect_facts(repo, sha, previous)
        timings["parse"] = time.perf_counter() - mark

        mark = time.perf_counter()
        resolution = resolve(facts)
        timings["resolve"] = time.perf_counter() - mark

        mark = time.perf_counter()
        fresh = {r.sha: r for r in reader.result()}
        self.progress("history", len(window), len(window))
        records = [fresh.get(s) or known[s] for s in window]
        history = build_history(records, facts, repo.remote_slug(),
                                self.settings.cochange_max_files)
        timings["history"] = time.perf_counter() - mark

        mark = time.perf_counter()
        graph = assemble(facts, resolution, history)
        items = store.github_items()
        if items:  # ingested from GitHub by the App: every rebuild keeps them
            graph = merge_history(graph, github_history(items, facts))
        timings["assemble"] = time.perf_counter() - mark

        mark = time.perf_counter()
        failed = [{"path": p, "reason": f.error} for p, f in sorted(facts.items()) if f.error]
        counts = graph.counts()
        snapshot_id = store.write_snapshot(graph, facts, skipped, records)
        timings["write"] = time.perf_counter() - mark
        elapsed = time.perf_counter() - started
        store.commit({
            "repo": store.root.name, "source": str(repo.path.resolve()), "commit": sha,
            "settings": self.fingerprint(), "counts": counts, "failed_files": failed,
            "skipped_files": len(skipped), "incremental": previous is not None,
            "reparsed_files": reparsed, "new_commits": len(fresh),
            "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "timings": timings, "seconds": elapsed,
        }, snapshot_id)
        return IndexResult(
            repo=store.root.name, path=str(repo.path), commit=sha,
            incremental=previous is not None, counts=counts, seconds=elapsed, timings=timings,
            failed_files=failed, reparsed=reparsed, new_commits=len(fresh), graph=graph,
            facts=facts,
        )

    def _collect_facts(self, repo: GitRepo, sha: str, previous: IndexState | None
                       ) -> tuple[dict[str, FileFacts], dict[str, tuple[str, str]], int]:
        facts: dict[str, FileFacts] = {}
        skipped: dict[str, tuple[str, str]] = {}
        to_read: list[TreeEntry] = []
        for entry in repo.list_tree(sha):
            reason = skip_reason_for_path(entry.path, entry.size, self.rules)
            if reason is not None:
                skipped[entry.path] = (entry.blob, reason)
            elif previous and entry.path in previous.facts \
                    and previous.facts[entry.path].blob == entry.blob:
                facts[entry.path] = previous.facts[entry.path]
            elif previous and previous.skipped.get(entry.path, ("",))[0] == entry.blob:
                skipped[entry.path] = previous.skipped[entry.path]
            else:
                to_read.append(entry)
        items: list[tuple[str, str, bytes, str | None]] = []
        blobs = repo.read_blobs(e.blob for e in to_read)
        for entry, (blob, content) in zip(to_read, blobs, strict=True):
            reason = skip_reason_for_content(entry.path, content)
            if reason is not None:
                skipped[entry.path] = (blob, reason)
            else:
                items.append((entry.path, blob, content, language_for(entry.path)))
        for parsed in self._parse(items):
            facts[parsed.path] = parsed
        return facts, skipped, len(items)

    def _parse(self, items: list[tuple[str, str, bytes, str | None]]) -> Iterator[FileFacts]:
        total = len(items)
        self.progress("parse", 0, total)
        done = 0
        if self.settings.parse_workers > 1 and sum(len(i[2]) for i in items) >= POOL_MIN_BYTES:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(self.settings.parse_workers, mp_context=context) as pool:
                for batch in pool.map(extract_many, _batches(items)):
                    yield from batch
                    done += len(batch)
                    self.progress("parse", done, total)
            return
        for path, blob, content, language in items:
            yield extract(path, blob, content, language)
            done += 1
            self.progress("parse", done, total)
