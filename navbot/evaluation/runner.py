"""The evaluation loop: index each instance's commit, localize its issue, score both systems.

Instances of one repository run in commit order, so the index moves forward incrementally
whenever the next base commit descends from the current one (as push events would move it).
navbot's side calls the same `locate` as `navbot ask`; the baseline is plain BM25 over the
same files, measured in the same process on the same machine.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.build import Indexer
from indexer.gitrepo import GitRepo
from navbot.config import Settings
from navbot.errors import NavbotError
from navbot.evaluation.data import (
    Instance,
    Skipped,
    find_repository,
    gold_symbols,
    spans_from_patch,
)
from navbot.evaluation.metrics import gold_ranks
from retrieval.lexical import top_indices
from retrieval.locate import LISTED_FILES, SearchIndex, is_test_path, locate
from retrieval.params import Params
from retrieval.searcher import SearchBuilder, embedder_for
from retrieval.text import tokenize

logger = logging.getLogger(__name__)
RANKED = 50  # ranking depth kept per instance; ranks beyond it count as not found


@dataclass
class EvalReport:
    """Everything a run measured; partial when `interrupted`."""

    threshold: float
    listed: int = LISTED_FILES
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def peak_rss_mb(self) -> float:
        """Peak resident memory of this process or any child it waited for (git, parsers)."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return max(own, children) / 1024


Listener = Callable[[str, dict[str, Any] | Skipped], None]


def _ignore(repo: str, outcome: dict[str, Any] | Skipped) -> None:
    """Listener that does nothing."""


class EvalRun:
    """Runs instances against repositories under `repos_dir`, with its own index home."""

    def __init__(self, settings: Settings, repos_dir: Path, params: Params,
                 threshold: float, listener: Listener | None = None) -> None:
        # A separate home: evaluating never moves the user's own indexes to old commits.
        self.settings = settings.model_copy(update={"home": settings.home / "eval"})
        self.repos_dir = repos_dir
        self.params = params
        self.listener = listener or _ignore
        self.report = EvalReport(threshold=threshold)
        self.embedder = embedder_for(self.settings)

    def run(self, instances: list[Instance], skipped: list[Skipped]) -> EvalReport:
        """Evaluate `instances` repository by repository; Ctrl-C keeps what is done."""
        started = time.perf_counter()
        for item in skipped:
            self._skip(item)
        by_repo: dict[str, list[Instance]] = {}
        for instance in instances:
            by_repo.setdefault(instance.repo, []).append(instance)
        try:
            for repo, group in by_repo.items():
                self._run_repository(repo, group)
        except KeyboardInterrupt:
            self.report.interrupted = True
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _skip(self, item: Skipped, repo: str = "") -> None:
        self.report.skipped.append(item)
        self.listener(repo, item)

    def _run_repository(self, slug: str, group: list[Instance]) -> None:
        path = find_repository(self.repos_dir, slug)
        if path is None:
            for instance in group:
                self._skip(Skipped(instance.instance_id, f"repository {slug} not found under "
                                   f"{self.repos_dir} (as {slug.replace('/', '+')} or {slug})"),
                           slug)
            return
        git = GitRepo(path)
        ordered: list[tuple[int, str, Instance]] = []
        for instance in group:
            try:
                sha = git.resolve_commit(instance.base_commit)
            except NavbotError as exc:
                self._skip(Skipped(instance.instance_id, str(exc)), slug)
                continue
            ordered.append((git.commit_time(sha), sha, instance))
        ordered.sort(key=lambda item: item[0])
        indexer = Indexer(self.settings)
        builder = SearchBuilder(self.settings, git, indexer.store_for(git).root.name,
                                self.embedder)
        for _, sha, instance in ordered:
            try:
                record = self._evaluate(indexer, builder, path, sha, instance)
            except NavbotError as exc:
                self._skip(Skipped(instance.instance_id, f"{exc}"), slug)
                continue
            except Exception as exc:  # outermost layer of one instance: the run goes on
                logger.exception("eval instance %s failed", instance.instance_id)
                self._skip(Skipped(instance.instance_id,
                                   f"internal error: {type(exc).__name__}: {exc}"), slug)
                continue
            self.report.records.append(record)
            self.listener(slug, record)

    def _evaluate(self, indexer: Indexer, builder: SearchBuilder, path: Path, sha: str,
                  instance: Instance) -> dict[str, Any]:
        mark = time.perf_counter()
        indexed = indexer.index(path, commit=sha)
        index_s = time.perf_counter() - mark
        mark = time.perf_counter()
        search, synced = builder.build(indexed.facts, indexed.graph)
        search_build_s = time.perf_counter() - mark

        text = instance.problem_statement
        mark = time.perf_counter()
        found = locate(search, text, self.params, limit=RANKED)
        latency = time.perf_counter() - mark
        mark = time.perf_counter()
        bm25_files, bm25_symbols = _bm25(search, text)
        bm25_latency = time.perf_counter() - mark

        spans = instance.gold_spans
        if spans is None and instance.patch:
            spans = spans_from_patch(instance.patch, indexed.facts)
        gold_funcs = gold_symbols(spans or {})
        files = [(f.path, f.score) for f in found.files]
        symbols = [((s.path, s.qualname), s.score) for s in found.symbols]
        return {
            "instance_id": instance.instance_id, "repo": instance.repo, "base_commit": sha,
            "gold_files": instance.gold_files,
            "gold_funcs": [f"{p}::{q}" for p, q in gold_funcs],
            "file_ranks": gold_ranks(files, instance.gold_files),
            "bm25_file_ranks": gold_ranks(bm25_files, instance.gold_files),
            "func_ranks": gold_ranks(symbols, gold_funcs),
            "bm25_func_ranks": gold_ranks(bm25_symbols, gold_funcs),
            "top5": [f.path for f in found.files[:5]],
            "bm25_top5": [p for p, _ in bm25_files[:5]],
            "confidence": found.confidence,
            "would_post": found.would_post(self.report.threshold),
            "features": found.features, "shape": found.shape,
            # Per-signal file ranks, so fusion weights can be refitted without re-running.
            "signals": found.signals, "symbol_signals": found.symbol_signals,
            "gold_symbols": [f"{p}::{q}" for p, q in gold_funcs], "test_files": sorted(
                {p for ranks in found.signals.values() for p in ranks if is_test_path(p)}),
            "latency_s": latency, "bm25_latency_s": bm25_latency,
            "index_mode": "incremental" if indexed.incremental else "full",
            "index_s": index_s, "search_build_s": search_build_s,
            "embedded": synced.embedded if synced else 0,
        }


def _bm25(search: SearchIndex, text: str
          ) -> tuple[list[tuple[str, float]], list[tuple[tuple[str, str], float]]]:
    """The baseline: plain BM25 of the issue's tokens over whole files and over symbols."""
    tokens = tokenize(text)
    corpus = search.corpus
    file_scores = search.files_lexical.scores(tokens)
    files = [(corpus.files[i], float(file_scores[i])) for i in top_indices(file_scores, RANKED)]
    symbol_scores = search.symbols_lexical.scores(tokens)
    symbols = [((corpus.symbols[i].path, corpus.symbols[i].qualname), float(symbol_scores[i]))
               for i in top_indices(symbol_scores, RANKED)]
    return files, symbols
