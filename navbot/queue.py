"""The job queue: huey on SQLite (embedded default) or on Redis (`NAVBOT_REDIS_URL`).

huey was chosen because one small library gives both backends with the same code, retries
with exponential backoff, scheduled (delayed) tasks and a consumer with worker threads; see
docs/architecture.md. Every job goes through one huey task, `run_job(name, args)`, which hands
a :class:`Job` to the runner the worker process bound. The web process only enqueues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from navbot.config import Settings
from navbot.errors import JobBusyError, QueueError, RateLimitedError
from navbot.job import Job

log = logging.getLogger("navbot.queue")

#: How long a job waits before trying again when its repository or issue is busy.
BUSY_RETRY_S = 5.0
#: The shortest wait after GitHub's rate limit, even when it names no time.
MIN_RATE_LIMIT_WAIT_S = 1.0


JobRunner = Callable[[Job], None]


class JobQueue:
    """Enqueue jobs by name and ids; in a worker, run them with the bound runner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.huey = _make_huey(settings)
        self._runner: JobRunner | None = None
        self._on_failure: Callable[[Job, BaseException], None] | None = None
        self._task = self.huey.task(
            retries=settings.job_retries, retry_delay=settings.job_retry_delay_s,
            retry_backoff=2.0, name="navbot.run_job")(self._run)
        self._watch_failures()

    def bind(self, runner: JobRunner, on_failure: Callable[[Job, BaseException], None]) -> None:
        """Make this process a worker: jobs run with `runner`; final failures go to
        `on_failure`."""
        self._runner = runner
        self._on_failure = on_failure

    def enqueue(self, job: Job, delay_s: float | None = None) -> None:
        """Put a job on the queue (after `delay_s` seconds, if given)."""
        try:
            if delay_s:
                self._task.schedule(args=(job.name, job.args), delay=delay_s)
            else:
                self._task(job.name, job.args)
        except Exception as exc:  # huey raises backend-specific errors (sqlite3, redis)
            raise QueueError(f"cannot enqueue {job.key}: {type(exc).__name__}: {exc}") from exc

    def depth(self) -> int:
        """Jobs waiting to run now plus jobs scheduled for later (retries among them)."""
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())

    def reachable(self) -> bool:
        """Whether the queue's storage answers."""
        try:
            self.huey.pending_count()
            return True
        except Exception:  # any backend failure means "not reachable" for /healthz
            return False

    def run_pending(self, max_jobs: int = 1000) -> int:
        """Run queued jobs in this thread until none is ready; returns how many ran.

        Used by tests and one-shot CLI runs; `navbot worker` runs huey's consumer instead.
        """
        ran = 0
        while ran < max_jobs:
            for task in self.huey.read_schedule(_now()):
                self.huey.enqueue(task)
            task = self.huey.dequeue()
            if task is None:
                return ran
            self.huey.execute(task)
            ran += 1
        return ran

    def consumer(self, workers: int) -> Any:
        """huey's consumer with `workers` threads, for `navbot worker` and `navbot serve`."""
        return self.huey.create_consumer(workers=workers, worker_type="thread",
                                         periodic=False, check_worker_health=True)

    def _run(self, name: str, args: dict[str, Any]) -> None:
        from huey.exceptions import RetryTask

        if self._runner is None:
            raise QueueError("no job runner is bound in this process")
        job = Job(name, args)
        try:
            self._runner(job)
        except JobBusyError as exc:
            # Not a failure: the retry does not use up one of the job's retries.
            raise RetryTask(str(exc), delay=BUSY_RETRY_S) from exc
        except RateLimitedError as exc:
            log.warning("%s: rate limited by GitHub, retrying in %.0fs", job.key,
                        exc.retry_after)
            raise RetryTask(str(exc), delay=max(MIN_RATE_LIMIT_WAIT_S, exc.retry_after)) from exc

    def _watch_failures(self) -> None:
        from huey.signals import SIGNAL_ERROR

        @self.huey.signal(SIGNAL_ERROR)
        def _failed(signal: str, task: Any, exc: BaseException | None = None) -> None:
            if task.retries:  # huey retries it; only the last failure is recorded
                return
            name, args = task.args
            if self._on_failure is not None and exc is not None:
                self._on_failure(Job(name, args), exc)


def _now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _make_huey(settings: Settings) -> Any:
    from huey import RedisHuey, SqliteHuey

    try:
        if settings.redis_url:
            return RedisHuey("navbot", url=settings.redis_url)
        settings.home.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("navbot", filename=str(settings.home / "queue.db"))
    except Exception as exc:  # a bad URL or an unwritable file: say which
        raise QueueError(f"cannot open the job queue: {type(exc).__name__}: {exc}") from exc
