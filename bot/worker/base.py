"""What every job of a worker shares: settings, state, GitHub, runs, locks, loaded searches.

Jobs serialize on locks in the state database: one per repository's index and one per issue,
taken in that order (issue, then repository) so two jobs never wait on each other. Locks are
held by the worker process (the queue's lease owner) for `LEASE_S` and renewed by its
heartbeat, so a dead worker's locks lapse within a lease. A held lock makes the job run again
a little later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.state.leases import LEASE_S
from bot.state.queue import JobQueue
from bot.state.store import StateStore
from navbot.core.config import Settings
from navbot.core.errors import JobBusyError, UnknownCommitError

if TYPE_CHECKING:
    from bot.github import GitHubApp
    from bot.state.runs import RunStore
    from retrieval.search_index import SearchIndex

log = logging.getLogger("navbot.worker")

CACHED_SEARCHES = 4  # searches kept loaded per worker process


class WorkerBase:
    """Everything a worker process needs to run jobs: settings, state, queue and GitHub."""

    def __init__(self, settings: Settings, state: StateStore, queue: JobQueue,
                 github: GitHubApp | None = None) -> None:
        self.settings = settings
        self.state = state
        self.queue = queue
        self._github = github
        self._owner = queue.owner  # the heartbeat renews the locks with the job leases
        self._searches: dict[str, tuple[str, SearchIndex]] = {}
        self._runs: RunStore | None = None

    @property
    def github(self) -> GitHubApp:
        """The App's GitHub access, built on first use."""
        if self._github is None:
            from bot.github import GitHubApp

            self._github = GitHubApp(self.settings)
        return self._github

    @property
    def runs(self) -> RunStore:
        """Analysis runs, checkpoints and traces, in the state database."""
        if self._runs is None:
            from bot.state.runs import RunStore

            self._runs = RunStore(self.state.engine)
        return self._runs

    def _close_run(self, args: dict[str, Any], reason: str) -> None:
        """Close the run an earlier attempt of this job left running, so none stays so."""
        run_id = run_id_of(args)
        if self.runs.close_if_running(run_id, reason):
            log.info("run %s closed: %s", run_id, reason)

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        if not self.state.acquire_lock(name, self._owner, LEASE_S):
            raise JobBusyError(f"{name} is busy")
        try:
            yield
        finally:
            self.state.release_lock(name, self._owner)

    def _renew(self, name: str) -> None:
        if not self.state.renew_lock(name, self._owner, LEASE_S):
            raise JobBusyError(f"{name} lapsed to another worker")

    # The index and its loaded search ---------------------------------------------------------
    def _sync_index(self, installation_id: int, repo_id: int, full_name: str) -> str:
        from bot.clone import head_commit, sync_mirror
        from retrieval.searcher import open_search

        installation = self.github.installation(installation_id)
        ref = installation.repo(full_name).ref()
        dest = self.settings.clone_dir(full_name)
        sync_mirror(ref.clone_url, dest, installation.token())
        head = head_commit(dest, ref.default_branch)
        search, manifest = open_search(self.settings, dest, head, ledger=self.runs,
                                       usage_repo=full_name)
        self._remember(full_name, manifest["commit"], search)
        self.state.save_repository(repo_id, installation_id, full_name,
                                   default_branch=ref.default_branch, index_commit=head,
                                   indexed_at=time.time())
        return head

    def _search(self, installation_id: int, repo_id: int, full_name: str
                ) -> tuple[Path, SearchIndex, str, float]:
        """The repository's search at its indexed commit, cloning and indexing if needed."""
        from indexer.gitrepo import GitRepo
        from retrieval.searcher import open_search

        dest = self.settings.clone_dir(full_name)
        with self._lock(f"repo:{repo_id}"):
            row = self.state.repository(repo_id)
            if row is None or not row.get("index_commit") or not dest.exists():
                self._sync_index(installation_id, repo_id, full_name)
                row = self.state.repository(repo_id) or {}
            commit = str(row["index_commit"])
            cached = self._searches.get(full_name)
            if cached is None or cached[0] != commit:
                try:
                    search, _ = open_search(self.settings, dest, commit, ledger=self.runs,
                                            usage_repo=full_name)
                except UnknownCommitError:
                    # Another machine's worker indexed a commit this clone lacks: catch up.
                    commit = self._sync_index(installation_id, repo_id, full_name)
                    search = self._searches[full_name][1]
                self._remember(full_name, commit, search)
            search = self._searches[full_name][1]
        age = max(0.0, time.time() - GitRepo(dest).commit_time(commit))
        return dest, search, commit, age

    def _remember(self, full_name: str, commit: str, search: SearchIndex) -> None:
        # A loaded search holds BM25 arrays and token lists; keep only the most recent few.
        self._searches.pop(full_name, None)
        self._searches[full_name] = (commit, search)
        while len(self._searches) > CACHED_SEARCHES:
            self._searches.pop(next(iter(self._searches)))


def run_id_of(job: dict[str, Any]) -> str:
    """The id of the run an `analyse_issue` job's arguments start (or resume)."""
    from bot.pipeline.analysis import run_id_for

    return run_id_for(job["repo_id"], job["number"], job["trigger"], job.get("delivery_id"),
                      job.get("comment_id"))
