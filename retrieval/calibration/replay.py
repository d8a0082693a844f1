"""Replaying past fixes as issues: against the code before them, in a scratch index.

The I/O around `retrieval.calibration.examples`' windows: each window's cut is indexed into a
scratch home inside the repository's index folder (so deleting that folder deletes it too),
never into the live index, its saved search or its question collection, and without the
GitHub overlay, whose pull requests merged after the cut would leak the future into the
history signal. Successive windows move forward, so the indexer mostly runs incrementally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navbot.core.config import Settings
from navbot.core.errors import RepositoryError

if TYPE_CHECKING:
    from indexer.build import Progress
    from indexer.gitrepo import GitRepo
    from indexer.graph import GraphData
    from navbot.llm.client import UsageLedger
    from retrieval.calibration.examples import FixExample, Window
    from retrieval.calibration.thresholds import Outcome
    from retrieval.params import Params
    from retrieval.search_index import SearchIndex

SCRATCH_DIR = "calibration"  # inside the repository's index folder


@dataclass
class Replayed:
    """What replaying before each fix measured: outcomes of the examples replayed, and the rest.

    `examples` are those replayed, their gold kept to the files that existed at their cut;
    `windows` has one {"cut", "replayed", "skipped"} per window; `skipped` counts by reason.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    examples: list[FixExample] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def scratch_settings(settings: Settings, index_root: Path) -> Settings:
    """`settings` with a scratch home under `index_root`, the live index's folder.

    Everything derived from the home lands under it: the index, saved search, state
    database and an on-disk chroma (a chroma server would hold the scratch questions under
    the live collection's name). Recorded LLM calls stay shared, so a replay can use them.
    """
    return settings.model_copy(update={
        "home": index_root / SCRATCH_DIR, "database_url": None, "chroma_url": None,
        "llm_cache_dir": settings.llm_cache_path()})


def replay(search: SearchIndex, examples: list[FixExample], params: Params,
           progress: Progress | None = None, *, done: int = 0, total: int | None = None
           ) -> list[Outcome]:
    """Locate every example's text in `search` with its own fix hidden from the history.

    Progress counts on from `done` of `total` (default: these examples alone).
    """
    from retrieval.calibration.thresholds import outcome_of
    from retrieval.confidence import LISTED_FILES
    from retrieval.locate import locate

    total = len(examples) if total is None else total
    original = search.history
    outcomes = []
    try:
        for count, example in enumerate(examples, start=done + 1):
            if original is not None:
                search.history = original.hiding(example.hide_shas, example.hide_prs)
            found = locate(search, example.text, params, limit=LISTED_FILES)
            outcomes.append(outcome_of(found.confidence, [f.path for f in found.files],
                                       example.gold, found.about, found.lexical))
            if progress is not None:
                progress("calibrate", count, total)
    finally:
        search.history = original
    return outcomes


def ask_offtopic(search: SearchIndex, params: Params) -> list[Outcome]:
    """The shipped off-topic corpus asked of `search`: negatives, where any post is false.

    Asked of the live index: an off-topic text has no fix whose future could leak.
    """
    from retrieval.calibration.thresholds import outcome_of
    from retrieval.confidence import LISTED_FILES
    from retrieval.locate import locate
    from retrieval.offtopic import offtopic_corpus

    outcomes = []
    for text in offtopic_corpus():
        found = locate(search, text.text, params, limit=LISTED_FILES)
        outcomes.append(outcome_of(found.confidence, [f.path for f in found.files], (),
                                   found.about, found.lexical))
    return outcomes


def replay_before_fixes(settings: Settings, path: Path, examples: list[FixExample],
                        graph: GraphData, params: Params, windows: int,
                        progress: Progress | None = None,
                        ledger: UsageLedger | None = None) -> Replayed:
    """Replay `examples` in `windows` time windows, each against the code before its fixes.

    `graph` is the live index's: it dates the fix commits. Progress reports the indexing of
    each window's cut and ("calibrate", done, total) over all examples, skipped ones too.
    LLM tokens spent on the scratch's questions are real: they count in `ledger`.
    """
    from indexer.gitrepo import GitRepo
    from indexer.store import IndexStore
    from retrieval.calibration.examples import NO_FIX_COMMIT, plan_windows

    git = GitRepo(path)
    index_root = IndexStore.for_repo(settings, git).root
    scratch = scratch_settings(settings, index_root)
    commit_times = {str(attrs["sha"]): int(attrs.get("timestamp") or 0)
                    for _, attrs in graph.nodes if attrs.get("kind") == "commit"}
    plan, unplaced = plan_windows(examples, windows, commit_times,
                                  lambda shas: _before_all(git, shas))
    result = Replayed()
    if unplaced:
        result.skipped[NO_FIX_COMMIT] = unplaced
    done = unplaced
    for window in plan:
        done = _replay_window(scratch, ledger, git, index_root.name, window, params, result,
                              progress, done, len(examples))
    return result


def _replay_window(scratch: Settings, ledger: UsageLedger | None, git: GitRepo, repo_key: str,
                   window: Window, params: Params, result: Replayed,
                   progress: Progress | None, done: int, total: int) -> int:
    """Replay one window into `result`; return how many examples are done after it."""
    from retrieval.calibration.examples import at_cut
    from retrieval.searcher import open_search

    search = None
    if window.cut is not None:
        search, _ = open_search(scratch, git.path, window.cut, progress, ledger=ledger,
                                usage_repo=repo_key)
    cut = window.cut
    changed = _changed_paths(git, [sha for e in window.examples for sha in e.hide_shas])
    then = replace(window, examples=tuple(_gold_when_fixed(e, changed)
                                          for e in window.examples))
    kept, skipped = at_cut(
        then, lambda sha: cut is not None and git.is_ancestor(sha, cut),
        search.corpus.files if search is not None else ())
    done += len(window.examples) - len(kept)
    if progress is not None:
        progress("calibrate", done, total)
    if search is not None and kept:
        result.outcomes += replay(search, kept, params, progress, done=done, total=total)
    result.examples += kept
    result.windows.append({"cut": cut, "replayed": len(kept), "skipped": skipped})
    result.skipped.update(skipped)
    return done + len(kept)


def _changed_paths(git: GitRepo, shas: list[str]) -> dict[str, set[str]]:
    """The non-test paths each of `shas` changed, read from git in one go."""
    from retrieval.paths import is_test_path

    return {record.sha: {c.path for c in record.changes if not is_test_path(c.path)}
            for record in git.read_commits(list(dict.fromkeys(shas)))}


def _gold_when_fixed(example: FixExample, changed: Mapping[str, set[str]]) -> FixExample:
    """`example` with its gold as the paths its fix commits changed, when git names them.

    Gold comes from the indexed commit's files, and files move (requests/ became
    src/requests/): the code before the fix has them under the paths the fix changed. A fix
    known only by its merge commit (which git reports without changes) keeps its gold.
    """
    paths = {path for sha in example.hide_shas for path in changed.get(sha, ())}
    return replace(example, gold=tuple(sorted(paths))) if paths else example


def _before_all(git: GitRepo, shas: list[str]) -> str | None:
    """The newest commit that precedes every one of `shas`: the merge base of their parents.

    A root commit has no parent; it is left out here, and `at_cut` finds it in the code.
    None when no code came before any of them.
    """
    parents = []
    for sha in shas:
        try:
            parents.append(git.resolve_commit(f"{sha}^"))
        except RepositoryError:
            continue
    return git.merge_base(parents) if parents else None
