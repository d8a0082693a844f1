"""Opening search over a repository's index: the I/O edge behind `navbot ask`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.build import Indexer, Progress
from indexer.gitrepo import GitRepo
from navbot.config import Settings
from retrieval.corpus import DocumentCache
from retrieval.locate import SearchIndex


def open_search(settings: Settings, path: Path, commit: str | None = None,
                progress: Progress | None = None) -> tuple[SearchIndex, dict[str, Any]]:
    """Search over `path`'s index and that index's manifest, indexing first if needed.

    Without `commit`, a stored index is used as it is (or HEAD is indexed when there is
    none); with `commit`, the index is moved to it unless it is already there.
    """
    git = GitRepo(path)
    indexer = Indexer(settings, progress)
    store = indexer.store_for(git)
    wanted = git.resolve_commit(commit) if commit is not None else None
    if not store.exists() or (wanted is not None and store.manifest()["commit"] != wanted):
        indexer.index(path, commit=wanted or "HEAD")
    state = store.load_state()
    return SearchIndex(DocumentCache().build(git, state.facts)), state.manifest
