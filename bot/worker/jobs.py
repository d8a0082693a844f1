"""The worker: runs each job by name, with ids, safe to repeat.

Failures are retried by the queue with backoff and, when retries run out, recorded for
`navbot status`. Locks and the loaded searches are in `bot.worker.base`, the analysis of an
issue in `bot.worker.issues`.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

from bot.state.job import Job
from bot.worker.issues import IssueJobs

log = logging.getLogger("navbot.worker")


class Worker(IssueJobs):
    """Every job a worker runs: installations, repositories, history and issues."""

    def bind(self) -> None:
        """Make the queue run jobs in this process."""
        self.queue.bind(self.run, self.record_failure, self.state)

    def run(self, job: Job) -> None:
        """Run one job by name."""
        log.info("running %s", job.key)
        handler = getattr(self, f"job_{job.name}")
        handler(**job.args)

    def record_failure(self, job: Job, exc: BaseException) -> None:
        """Keep a job that failed for good where `navbot status` shows it."""
        log.error("job %s failed for good: %s: %s", job.key, type(exc).__name__, exc)
        self.state.record_failure(job.key, f"{type(exc).__name__}: {exc}")
        if job.name == "analyse_issue":
            self._close_run(job.args, f"the job failed for good: {type(exc).__name__}: {exc}")

    # Installations ------------------------------------------------------------------------
    def job_sync_installation(self, installation_id: int, **_: Any) -> None:
        """Record an installation and queue a sync of each repository it covers."""
        repos = self.github.installation(installation_id).repositories()
        account = repos[0].full_name.split("/")[0] if repos else None
        self.state.save_installation(installation_id, account)
        wanted = {r.id for r in repos}
        for row in self.state.repositories():
            if row["installation_id"] == installation_id and row["repo_id"] not in wanted:
                self._forget(row["repo_id"], row["full_name"])
        for ref in repos:
            self.state.save_repository(ref.id, installation_id, ref.full_name,
                                       default_branch=ref.default_branch)
            self.queue.enqueue(Job("sync_repository", {
                "installation_id": installation_id, "repo_id": ref.id,
                "full_name": ref.full_name}))

    def job_forget_installation(self, installation_id: int, **_: Any) -> None:
        """Forget an uninstalled installation and everything of its repositories."""
        for row in self.state.forget_installation(installation_id):
            self._forget(row["repo_id"], row["full_name"])

    def job_suspend_installation(self, installation_id: int, suspended: bool,
                                 **_: Any) -> None:
        """Suspend an installation (its jobs then do nothing) or resume it."""
        self.state.set_suspended(installation_id, suspended)

    # Repositories ---------------------------------------------------------------------------
    def job_sync_repository(self, installation_id: int, repo_id: int, full_name: str,
                            **_: Any) -> None:
        """Fetch the repository, move its index to the default branch, ingest history."""
        if self.state.is_suspended(installation_id):
            return
        with self._lock(f"repo:{repo_id}"):
            self._sync_index(installation_id, repo_id, full_name)
        self.job_ingest_history(installation_id, repo_id, full_name)

    def job_forget_repository(self, installation_id: int, repo_id: int, full_name: str,
                              **_: Any) -> None:
        """Forget a repository removed from the installation: its state, clone and index."""
        with self._lock(f"repo:{repo_id}"):
            self._forget(repo_id, full_name)

    def job_ingest_history(self, installation_id: int, repo_id: int, full_name: str,
                           **_: Any) -> None:
        """Ingest issues and PRs updated since the last ingest; score the shadow answers."""
        from bot.ingest import ingest_items

        if self.state.is_suspended(installation_id):
            return
        with self._lock(f"history:{repo_id}"):
            client = self.github.installation(installation_id).repo(full_name)
            clone = self.settings.clone_dir(full_name)
            if not ingest_items(self.settings, self.state, client, repo_id, clone):
                return
            self._score_shadow_answers(repo_id, full_name)
            self._apply_history(repo_id, full_name)

    def _score_shadow_answers(self, repo_id: int, full_name: str) -> None:
        """Score the kept answers whose issues a newly merged fix closed."""
        from bot.shadow import score

        scored = score(self.state.shadow_answers(repo_id), self.state.items(repo_id))
        if scored:
            self.state.score_shadow_answers(scored)
            log.info("%s: scored %d shadow answers (%d right)", full_name, len(scored),
                     sum(bool(a.hit) for a in scored))

    def _apply_history(self, repo_id: int, full_name: str) -> None:
        """Lay the ingested issues and PRs over the repository's graph and history signal."""
        from retrieval.searcher import apply_github_history

        clone = self.settings.clone_dir(full_name)
        if not clone.exists():
            return  # the first index will include them
        with self._lock(f"repo:{repo_id}"):
            apply_github_history(self.settings, clone, self.state.items(repo_id))
            self._searches.pop(full_name, None)

    def _forget(self, repo_id: int, full_name: str) -> None:
        from bot.ingest import drop_collections
        from indexer.store import IndexStore

        dest = self.settings.clone_dir(full_name)
        if dest.exists():
            index_dir = IndexStore.for_path(self.settings, dest).root
            drop_collections(self.settings, index_dir.name)
            shutil.rmtree(index_dir, ignore_errors=True)
            shutil.rmtree(dest, ignore_errors=True)
        self._searches.pop(full_name, None)
        self.state.forget_repository(repo_id)

