"""Building search over a repository's index: the I/O edge behind `navbot ask` and the eval.

A `SearchBuilder` serves successive states of one repository: token lists are reused by
blob, and the question collection is synced by content hash, so moving forward one commit
re-tokenizes and re-embeds only what changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.build import Indexer, Progress
from indexer.facts import FileFacts
from indexer.gitrepo import GitRepo
from indexer.graph import GraphData
from indexer.store import IndexStore
from navbot.core.config import Settings
from navbot.core.gc_pause import without_gc
from retrieval.corpus import DOCUMENTS_DIR, DocumentCache
from retrieval.dense import DenseSignal, question_items
from retrieval.embed import Embedder
from retrieval.history_signal import HistorySignal
from retrieval.llm_questions import STORE_FILE, LLMQuestions, LLMQuestionStore, index_llm
from retrieval.persist import load_search, save_search
from retrieval.search_index import SearchIndex
from retrieval.vectors import SyncStats, VectorCollection

if TYPE_CHECKING:
    from navbot.llm.client import LLMClient, UsageLedger


class SearchBuilder:
    """Search over one repository, state after state.

    With an `llm` (and `llm_index_questions` on), files get LLM-written questions too; the
    LLM's daily token ledger counts them under `usage_repo` (default: `repo_key`).
    """

    def __init__(self, settings: Settings, repo: GitRepo, repo_key: str,
                 embedder: Embedder | None = None, progress: Progress | None = None,
                 llm: LLMClient | None = None, usage_repo: str | None = None) -> None:
        self.repo = repo
        self.progress = progress
        self.saved = search_dir(settings, repo_key)
        self.documents = DocumentCache(self.saved / DOCUMENTS_DIR)
        self.questions: VectorCollection | None = None
        if embedder is not None:
            self.questions = VectorCollection.for_repository(settings, repo_key, "questions",
                                                             embedder)
        self.llm_questions: LLMQuestions | None = None
        if llm is not None and embedder is not None and settings.llm_index_questions:
            # Beside the search directory, which is replaced on every save.
            store = LLMQuestionStore(settings.repo_dir(repo_key) / STORE_FILE)
            self.llm_questions = LLMQuestions(settings, llm, store, usage_repo or repo_key)

    def dense(self) -> DenseSignal | None:
        """The dense signal over this repository's questions, when embeddings are on."""
        return DenseSignal(self.questions) if self.questions is not None else None

    @without_gc
    def build(self, facts: dict[str, FileFacts], graph: GraphData
              ) -> tuple[SearchIndex, SyncStats | None]:
        """Search over this state, and what syncing the questions cost."""
        corpus = self.documents.build(self.repo, facts)
        stats = None
        if self.questions is not None:
            items = question_items(corpus)
            if self.llm_questions is not None:
                items += self.llm_questions.items(self.repo, facts, corpus)
            stats = self.questions.sync(items, self.progress)
        return SearchIndex.build(corpus, graph, self.dense()), stats

    @without_gc
    def build_and_save(self, facts: dict[str, FileFacts], graph: GraphData, commit: str
                       ) -> tuple[SearchIndex, SyncStats | None]:
        """Build the search of `commit` and save it for later `navbot ask` runs."""
        search, stats = self.build(facts, graph)
        save_search(search, self.saved, commit, self.documents)
        return search, stats

    @without_gc
    def load(self, commit: str) -> SearchIndex | None:
        """The saved search of `commit`, or None when it must be built."""
        return load_search(self.saved, commit, self.dense())


def search_dir(settings: Settings, repo_key: str) -> Path:
    """Where the saved search of a repository's current index lives."""
    return settings.repo_dir(repo_key) / "search"


def embedder_for(settings: Settings) -> Embedder | None:
    """The embedder settings ask for, or None when embeddings are off."""
    return Embedder(settings.embedding_model) if settings.embeddings else None


def open_search(settings: Settings, path: Path, commit: str | None = None,
                progress: Progress | None = None, *, ledger: UsageLedger | None = None,
                usage_repo: str | None = None) -> tuple[SearchIndex, dict[str, Any]]:
    """Search over `path`'s index and that index's manifest, indexing first if needed.

    Without `commit`, a stored index is used as it is (or HEAD is indexed when there is
    none); with `commit`, the index is moved to it unless it is already there. When an LLM
    is configured (or replayed), a build adds LLM-written questions, counting its tokens in
    `ledger` (default: in memory) under `usage_repo` (default: the index's key).
    """
    git = GitRepo(path)
    indexer = Indexer(settings, progress)
    store = IndexStore.for_repo(settings, git)
    wanted = git.resolve_commit(commit) if commit is not None else None
    builder = SearchBuilder(settings, git, store.root.name, embedder_for(settings), progress,
                            index_llm(settings, ledger), usage_repo)
    if not store.exists() or (wanted is not None and store.manifest()["commit"] != wanted):
        # Just indexed: build from what the indexer holds instead of reading it back.
        result = indexer.index(path, commit=wanted or "HEAD")
        search, _ = builder.build_and_save(result.facts, result.graph, result.commit)
        return search, store.manifest()
    manifest = store.manifest()
    saved = builder.load(manifest["commit"])
    if saved is not None:
        return saved, manifest
    state = store.load_state()
    search, _ = builder.build_and_save(state.facts, store.load_graph(), manifest["commit"])
    return search, manifest


def apply_github_history(settings: Settings, path: Path, items: list[dict[str, Any]]) -> bool:
    """Lay ingested GitHub issues and PRs over `path`'s index and its saved search.

    Only the history signal depends on them, so a saved search gets a new history signal
    and keeps the rest. Returns whether an index existed to update.
    """
    indexer = Indexer(settings)
    graph = indexer.apply_github_items(path, items)
    if graph is None:
        return False
    git = GitRepo(path)
    store = IndexStore.for_repo(settings, git)
    builder = SearchBuilder(settings, git, store.root.name, embedder_for(settings))
    commit = store.manifest()["commit"]
    saved = builder.load(commit)
    if saved is not None:
        saved.history = HistorySignal.from_graph(graph, set(saved.corpus.files))
        save_search(saved, builder.saved, commit)
    return True
