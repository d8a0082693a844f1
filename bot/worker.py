"""The worker: runs each job by name, with ids, safe to repeat.

Jobs serialize on locks in the state database: one per repository's index and one per issue,
taken in that order (issue, then repository) so two jobs never wait on each other. Locks are
held by the worker process (the queue's lease owner) for `LEASE_S` and renewed by its
heartbeat, so a dead worker's locks lapse within a lease. A held lock makes the job run again
a little later; failures are retried by the queue with backoff and, when retries run out,
recorded for `navbot status`.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.decide import (
    Answered,
    is_explicit,
    should_analyse,
    text_fingerprint,
    thread_after_answer,
    thread_after_skip,
    thread_after_stop,
)
from bot.state.job import Job
from bot.state.leases import LEASE_S
from bot.state.queue import JobQueue
from bot.state.store import StateStore
from navbot.core.config import Settings
from navbot.core.errors import JobBusyError, UnknownCommitError

if TYPE_CHECKING:
    from bot.github import GitHubApp, RepoClient
    from bot.state.runs import RunStore
    from retrieval.search_index import SearchIndex

log = logging.getLogger("navbot.worker")

CONFIG_PATH = ".github/navbot.yml"
CACHED_SEARCHES = 4  # searches kept loaded per worker process


class Worker:
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

    def _close_run(self, args: dict[str, Any], reason: str) -> None:
        """Close the run an earlier attempt of this job left running, so none stays so."""
        run_id = _run_id(args)
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
        """Ingest issues and PRs updated since the last ingest, and embed their titles."""
        from bot.ingest import ingest_items

        if self.state.is_suspended(installation_id):
            return
        with self._lock(f"history:{repo_id}"):
            client = self.github.installation(installation_id).repo(full_name)
            clone = self.settings.clone_dir(full_name)
            if not ingest_items(self.settings, self.state, client, repo_id, clone):
                return
            self._apply_history(repo_id, full_name)

    def _apply_history(self, repo_id: int, full_name: str) -> None:
        """Lay the ingested issues and PRs over the repository's graph and history signal."""
        from retrieval.searcher import apply_github_history

        clone = self.settings.clone_dir(full_name)
        if not clone.exists():
            return  # the first index will include them
        with self._lock(f"repo:{repo_id}"):
            apply_github_history(self.settings, clone, self.state.items(repo_id))
            self._searches.pop(full_name, None)

    # Issues ------------------------------------------------------------------------------------
    def job_analyse_issue(self, installation_id: int, repo_id: int, full_name: str,
                          number: int, trigger: str, comment_id: int | None = None,
                          delivery_id: str | None = None, **_: Any) -> None:
        """Analyse an issue and create, edit or leave its one comment."""
        if self.state.is_suspended(installation_id):
            return
        with self._lock(f"issue:{repo_id}:{number}"):
            run_id = self._analyse(installation_id, repo_id, full_name, number, trigger,
                                   comment_id, delivery_id)
        if run_id is not None and self.settings.otel_endpoint:
            from bot.state.telemetry import export_run

            # Outside the lock: a slow collector must not hold up this issue's next run.
            export_run(self.settings, self.runs, run_id)

    def _analyse(self, installation_id: int, repo_id: int, full_name: str, number: int,
                 trigger: str, comment_id: int | None, delivery_id: str | None
                 ) -> str | None:
        """Run the analysis; the id of the run when one finished now, else None."""
        from bot.pipeline.analysis import analyse
        from bot.pipeline.model import Composed, Posted
        from bot.pipeline.runner import RunInputs

        job = {"installation_id": installation_id, "repo_id": repo_id, "full_name": full_name,
               "number": number, "trigger": trigger, "comment_id": comment_id,
               "delivery_id": delivery_id}
        client = self.github.installation(installation_id).repo(full_name)
        issue = client.issue(number)
        thread = self.state.thread(repo_id, number)
        if issue.is_pull_request:
            return None
        if trigger == "stop":
            self.state.save_thread(thread_after_stop(thread))
            if comment_id is not None:
                client.react(comment_id, "+1")
            return None
        config = self._repo_config(client, repo_id, full_name, installation_id)
        text_hash = text_fingerprint(issue.title, issue.body)
        go = should_analyse(trigger, config.mode, thread, text_hash, issue.state == "open")
        if not go.analyse:
            log.info("%s#%d: not analysing: %s (delivery %s)", full_name, number, go.reason,
                     delivery_id)
            skipped = thread_after_skip(thread, trigger, go.reason)
            if skipped is not None:
                self.state.save_thread(skipped)
            # An earlier attempt may have started the run before the issue changed.
            self._close_run(job, f"not analysing any more: {go.reason}")
            return None
        if comment_id is not None:
            client.react(comment_id, "eyes")  # acknowledge the command before the work
        inputs = RunInputs(
            run_id=_run_id(job),
            full_name=full_name, number=number, trigger=trigger, title=issue.title,
            body=issue.body, repo_id=repo_id, delivery_id=delivery_id,
            explicit=is_explicit(trigger), show_help=trigger == "help")
        env = self._run_env(installation_id, repo_id, full_name, issue.title, config, thread,
                            client)
        run = analyse(inputs, env, self.runs, self._budget(), self.settings.run_wall_s,
                      job=job)
        if run is None:
            return None
        posted = run.output("post", Posted)
        composed = run.output("compose", Composed)
        if posted is None:
            return inputs.run_id
        answered = Answered(posted.action, posted.reason, posted.comment_id,
                            posted.fingerprint,
                            composed.answer.confidence if composed else None,
                            posted.thumbs_up, posted.thumbs_down)
        self.state.save_thread(thread_after_answer(thread, trigger, text_hash, answered))
        return inputs.run_id

    def _run_env(self, installation_id: int, repo_id: int, full_name: str, title: str,
                 config: Any, thread: Any, client: RepoClient) -> Any:
        """Everything the pipeline needs for one run of this repository."""
        from datetime import UTC, datetime

        from bot.ingest import title_similarity
        from bot.pipeline.env import IndexedRepo, RunEnv
        from retrieval.params import default_params
        from retrieval.related_issues import PastItem

        clone, search, commit, age = self._search(installation_id, repo_id, full_name)
        row = self.state.repository(repo_id) or {}
        started = datetime.now(UTC)
        return RunEnv(
            repo=IndexedRepo(full_name, row.get("default_branch") or "main", commit, age,
                             clone),
            search=lambda: search, graph=lambda: self._graph(clone), config=config,
            params=default_params(), thresholds=self._thresholds(config, clone),
            items=[PastItem.from_json(i) for i in self.state.items(repo_id)],
            title_similarity=title_similarity(self.settings, clone, title),
            llm=self._llm(), notes=lambda: client.maintainer_notes(thread.number, started),
            client=client, thread=thread,
            keepalive=lambda: self._renew(f"issue:{repo_id}:{thread.number}"),
            secrets=self._secrets(installation_id))

    def _secrets(self, installation_id: int) -> tuple[str, ...]:
        """Every secret this worker holds, so that no comment can carry one."""
        held = [self.settings.llm_api_key, self.settings.webhook_secret,
                self.settings.private_key]
        values = [s.get_secret_value() for s in held if s is not None]
        return (*values, self.github.installation(installation_id).token())

    def _renew(self, name: str) -> None:
        if not self.state.renew_lock(name, self._owner, LEASE_S):
            raise JobBusyError(f"{name} lapsed to another worker")

    @property
    def runs(self) -> RunStore:
        """Analysis runs, checkpoints and traces, in the state database."""
        if self._runs is None:
            from bot.state.runs import RunStore

            self._runs = RunStore(self.state.engine)
        return self._runs

    def _budget(self) -> Any:
        from navbot.llm.client import RunBudget

        return RunBudget.from_settings(self.settings)

    def _llm(self) -> Any:
        """The LLM client, or None when no model is configured (nor recordings replayed)."""
        from navbot.llm.client import LLMClient

        client = LLMClient(self.settings, self.runs)
        return client if client.available else None

    def _graph(self, clone: Path) -> Any:
        from indexer.store import IndexStore

        return IndexStore.for_path(self.settings, clone).load_graph()

    def _thresholds(self, config: Any, clone: Path) -> Any:
        from bot.pipeline.env import section_thresholds
        from retrieval.calibration.stored import load_calibration
        from retrieval.params import posting_threshold
        from retrieval.related_issues import MIN_SCORE

        return section_thresholds(config, load_calibration(self.settings, clone),
                                  posting_threshold(self.settings.post_threshold), MIN_SCORE)

    # Helpers -------------------------------------------------------------------------------------
    def _repo_config(self, client: RepoClient, repo_id: int, full_name: str,
                     installation_id: int) -> Any:
        from bot.repo_config import parse_repo_config

        ref = client.ref()
        result = parse_repo_config(client.file_text(CONFIG_PATH, ref.default_branch))
        if result.error:
            log.warning("%s: invalid %s, using defaults: %s", full_name, CONFIG_PATH,
                        result.error)
        self.state.save_repository(repo_id, installation_id, full_name,
                                   default_branch=ref.default_branch,
                                   config_error=result.error)
        return result.config

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


def _run_id(job: dict[str, Any]) -> str:
    """The id of the run an `analyse_issue` job's arguments start (or resume)."""
    from bot.pipeline.analysis import run_id_for

    return run_id_for(job["repo_id"], job["number"], job["trigger"], job.get("delivery_id"),
                      job.get("comment_id"))
