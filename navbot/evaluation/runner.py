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
from indexer.store import IndexStore
from navbot.core.config import Settings
from navbot.core.errors import NavbotError
from navbot.evaluation.data import (
    Instance,
    Skipped,
    find_repository,
    gold_symbols,
    spans_from_patch,
)
from navbot.evaluation.metrics import gold_ranks
from navbot.evaluation.negatives import Negative
from retrieval.confidence import LISTED_FILES
from retrieval.lexical import top_indices
from retrieval.locate import Localization, locate
from retrieval.params import Params
from retrieval.paths import is_test_path
from retrieval.search_index import SearchIndex
from retrieval.searcher import SearchBuilder, embedder_for
from retrieval.text import tokenize

logger = logging.getLogger(__name__)
RANKED = 50  # ranking depth kept per instance; ranks beyond it count as not found


@dataclass
class EvalReport:
    """Everything a run measured; partial when `interrupted`.

    `records` are the issues asked of their own repository; `negatives` the foreign and
    off-topic issues asked of each repository, where every post is a false one.
    """

    threshold: float
    about_threshold: float = 0.0
    listed: int = LISTED_FILES
    records: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, Any]] = field(default_factory=list)
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
NegativesFor = Callable[[str], list[Negative]]
NegativeListener = Callable[[str, dict[str, Any]], None]


def _ignore(repo: str, outcome: dict[str, Any] | Skipped) -> None:
    """Listener that does nothing."""


def _ignore_negative(repo: str, record: dict[str, Any]) -> None:
    """Negative listener that does nothing."""


class EvalRun:
    """Runs instances against repositories under `repos_dir`, with its own index home."""

    def __init__(self, settings: Settings, repos_dir: Path, params: Params,
                 threshold: float, listener: Listener | None = None,
                 negatives: NegativesFor | None = None,
                 negative_listener: NegativeListener | None = None) -> None:
        # A separate home: evaluating never moves the user's own indexes to old commits.
        self.settings = settings.model_copy(update={"home": settings.home / "eval"})
        self.repos_dir = repos_dir
        self.params = params
        self.listener = listener or _ignore
        self.negatives = negatives
        self.negative_listener = negative_listener or _ignore_negative
        self.report = EvalReport(threshold=threshold, about_threshold=params.about_threshold)
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
        repo_key = IndexStore.for_repo(self.settings, git).root.name
        builder = SearchBuilder(self.settings, git, repo_key, self.embedder)
        last: tuple[SearchIndex, str] | None = None
        for _, sha, instance in ordered:
            try:
                record, search = self._evaluate(indexer, builder, path, sha, instance)
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
            last = (search, sha)
        if last is not None and self.negatives is not None:
            self._ask_negatives(slug, self.negatives(slug), *last)

    def _ask_negatives(self, slug: str, negatives: list[Negative], search: SearchIndex,
                       sha: str) -> None:
        """Ask `negatives` of `slug`'s index at its newest evaluated commit."""
        for negative in negatives:
            found = locate(search, negative.text, self.params, limit=RANKED)
            record = {"kind": negative.kind.value, "id": negative.id, "repo": slug,
                      "split": negative.split, "base_commit": sha,
                      **self._gate_fields(found)}
            self.report.negatives.append(record)
            self.negative_listener(slug, record)

    def _gate_fields(self, found: Localization) -> dict[str, Any]:
        """What the posting gate saw and decided, for the metrics and for refits."""
        verdict = found.verdict(self.report.threshold, self.report.about_threshold)
        return {"confidence": found.confidence, "about": found.about,
                "has_files": bool(found.files), "lexical": found.lexical,
                "would_post": verdict.post,
                "silence": verdict.silence.value if verdict.silence else None,
                "features": found.features, "about_features": found.about_features,
                "shape": found.shape, "signals": found.signals}

    def _evaluate(self, indexer: Indexer, builder: SearchBuilder, path: Path, sha: str,
                  instance: Instance) -> tuple[dict[str, Any], SearchIndex]:
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
        return {**self._gate_fields(found),
            "instance_id": instance.instance_id, "repo": instance.repo, "base_commit": sha,
            "gold_files": instance.gold_files,
            "gold_funcs": [f"{p}::{q}" for p, q in gold_funcs],
            "file_ranks": gold_ranks(files, instance.gold_files),
            "bm25_file_ranks": gold_ranks(bm25_files, instance.gold_files),
            "func_ranks": gold_ranks(symbols, gold_funcs),
            "bm25_func_ranks": gold_ranks(bm25_symbols, gold_funcs),
            "top5": [f.path for f in found.files[:5]],
            "bm25_top5": [p for p, _ in bm25_files[:5]],
            # Per-signal file ranks (in the gate fields) and symbol ranks, so weights can be
            # refitted without re-running.
            "symbol_signals": found.symbol_signals,
            "gold_symbols": [f"{p}::{q}" for p, q in gold_funcs], "test_files": sorted(
                {p for ranks in found.signals.values() for p in ranks if is_test_path(p)}),
            "latency_s": latency, "bm25_latency_s": bm25_latency,
            "index_mode": "incremental" if indexed.incremental else "full",
            "index_s": index_s, "search_build_s": search_build_s,
            "embedded": synced.embedded if synced else 0,
        }, search


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
