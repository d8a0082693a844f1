"""The `analyse_issue` job: read the issue and its repository's config, ask `bot.decide`
whether to analyse, run the pipeline, and record the thread and any kept (shadow) answer.

Writes to GitHub other than the comment (the 👀 and 👍 reactions to a command) obey the kill
switch too; the comment itself is decided in the post stage (`bot.pipeline.post`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.decide import (
    Answered,
    effective_mode,
    is_explicit,
    pause_reason,
    should_analyse,
    text_fingerprint,
    thread_after_answer,
    thread_after_skip,
    thread_after_stop,
)
from bot.repo_config import CONFIG_PATH, RepoConfig
from bot.state.records import ShadowAnswer
from bot.worker.base import WorkerBase, run_id_of

if TYPE_CHECKING:
    from bot.github import RepoClient
    from bot.pipeline.env import RunEnv, Thresholds
    from bot.pipeline.runner import Run
    from bot.state.records import Thread
    from indexer.graph import GraphData
    from navbot.llm.client import LLMClient, RunBudget

log = logging.getLogger("navbot.worker")


class IssueJobs(WorkerBase):
    """The analysis of one issue, from its job's ids to its one comment (or kept answer)."""

    def job_analyse_issue(self, installation_id: int, repo_id: int, full_name: str,
                          number: int, trigger: str, comment_id: int | None = None,
                          delivery_id: str | None = None, maintainer: bool | None = None,
                          **_: Any) -> None:
        """Analyse an issue and create, edit or leave its one comment."""
        if self.state.is_suspended(installation_id):
            return
        job = {"installation_id": installation_id, "repo_id": repo_id, "full_name": full_name,
               "number": number, "trigger": trigger, "comment_id": comment_id,
               "delivery_id": delivery_id}
        with self._lock(f"issue:{repo_id}:{number}"):
            run_id = self._analyse(job, bool(maintainer))
        if run_id is not None and self.settings.otel_endpoint:
            from bot.state.telemetry import export_run

            # Outside the lock: a slow collector must not hold up this issue's next run.
            export_run(self.settings, self.runs, run_id)

    def paused(self, full_name: str) -> str | None:
        """Why writes on `full_name` are stopped right now (the kill switch), or None."""
        return pause_reason(self.settings.paused, self.state.paused_scopes(), full_name)

    def _analyse(self, job: dict[str, Any], maintainer: bool) -> str | None:
        """Run the analysis; the id of the run when one finished now, else None."""
        from bot.pipeline.analysis import analyse
        from bot.pipeline.runner import RunInputs

        full_name, number, trigger = job["full_name"], job["number"], job["trigger"]
        repo_id, comment_id = job["repo_id"], job["comment_id"]
        client = self.github.installation(job["installation_id"]).repo(full_name)
        issue = client.issue(number)
        thread = self.state.thread(repo_id, number)
        if issue.is_pull_request:
            return None
        if trigger == "stop":
            self.state.save_thread(thread_after_stop(thread))
            self._react(client, full_name, comment_id, "+1")
            return None
        config = self._repo_config(client, repo_id, full_name, job["installation_id"])
        mode = effective_mode(config.mode, self.settings.default_mode)
        text_hash = text_fingerprint(issue.title, issue.body)
        go = should_analyse(trigger, mode, thread, text_hash, issue.state == "open")
        if not go.analyse:
            log.info("%s#%d: not analysing: %s (delivery %s)", full_name, number, go.reason,
                     job["delivery_id"])
            skipped = thread_after_skip(thread, trigger, go.reason)
            if skipped is not None:
                self.state.save_thread(skipped)
            # An earlier attempt may have started the run before the issue changed.
            self._close_run(job, f"not analysing any more: {go.reason}")
            return None
        self._react(client, full_name, comment_id, "eyes")  # acknowledge before the work
        inputs = RunInputs(
            run_id=run_id_of(job), full_name=full_name, number=number, trigger=trigger,
            title=issue.title, body=issue.body, repo_id=repo_id,
            delivery_id=job["delivery_id"], explicit=is_explicit(trigger),
            show_help=trigger == "help", mode=mode, maintainer=maintainer)
        env = self._run_env(job["installation_id"], repo_id, full_name, issue.title, config,
                            thread, client)
        run = analyse(inputs, env, self.runs, self._budget(), self.settings.run_wall_s,
                      job=job)
        if run is None:
            return None
        self._record(run, thread, text_hash)
        return inputs.run_id

    def _react(self, client: RepoClient, full_name: str, comment_id: int | None,
               reaction: str) -> None:
        if comment_id is not None and self.paused(full_name) is None:
            client.react(comment_id, reaction)

    def _record(self, run: Run, thread: Thread, text_hash: str) -> None:
        """Keep what the finished run did: the thread, and the answer if it was withheld."""
        from bot.pipeline.model import Composed, Located, Posted

        posted = run.output("post", Posted)
        composed = run.output("compose", Composed)
        if posted is None:
            return
        answered = Answered(posted.action, posted.reason, posted.comment_id,
                            posted.fingerprint,
                            composed.answer.confidence if composed else None,
                            posted.thumbs_up, posted.thumbs_down)
        self.state.save_thread(thread_after_answer(thread, run.inputs.trigger, text_hash,
                                                   answered))
        located = run.output("locate", Located)
        if posted.withheld is None or located is None:
            return
        files = tuple(hit.path for hit in located.files[:run.env.config.max_files])
        self.state.save_shadow_answer(ShadowAnswer(
            thread.repo_id, thread.number, run.inputs.run_id,
            would_post=posted.action == "withheld", files=files,
            confidence=located.confidence, about=located.about, lexical=located.lexical,
            reason=posted.withheld, analysed_at=time.time()))

    def _run_env(self, installation_id: int, repo_id: int, full_name: str, title: str,
                 config: RepoConfig, thread: Thread, client: RepoClient) -> RunEnv:
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
            search=lambda: search, graph=self._graph_loader(clone), config=config,
            params=default_params(), thresholds=self._thresholds(config, clone),
            items=[PastItem.from_json(i) for i in self.state.items(repo_id)],
            title_similarity=title_similarity(self.settings, clone, title),
            llm=self._llm(), notes=lambda: client.maintainer_notes(thread.number, started),
            client=client, thread=thread,
            keepalive=lambda: self._renew(f"issue:{repo_id}:{thread.number}"),
            secrets=self._secrets(installation_id),
            paused=lambda: self.paused(full_name))

    def _secrets(self, installation_id: int) -> tuple[str, ...]:
        """Every secret this worker holds, so that no comment can carry one."""
        held = [self.settings.llm_api_key, self.settings.webhook_secret,
                self.settings.private_key]
        values = [s.get_secret_value() for s in held if s is not None]
        return (*values, self.github.installation(installation_id).token())

    def _budget(self) -> RunBudget:
        from navbot.llm.client import RunBudget

        return RunBudget.from_settings(self.settings)

    def _llm(self) -> LLMClient | None:
        """The LLM client, or None when no model is configured (nor recordings replayed)."""
        from navbot.llm.client import LLMClient

        client = LLMClient(self.settings, self.runs)
        return client if client.available else None

    def _graph_loader(self, clone: Path) -> Callable[[], GraphData]:
        from indexer.store import IndexStore

        return lambda: IndexStore.for_path(self.settings, clone).load_graph()

    def _thresholds(self, config: RepoConfig, clone: Path) -> Thresholds:
        from bot.pipeline.env import section_thresholds
        from retrieval.calibration.stored import load_calibration
        from retrieval.params import posting_threshold
        from retrieval.related_issues import MIN_SCORE

        return section_thresholds(config, load_calibration(self.settings, clone),
                                  posting_threshold(self.settings.post_threshold), MIN_SCORE)

    def _repo_config(self, client: RepoClient, repo_id: int, full_name: str,
                     installation_id: int) -> RepoConfig:
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
