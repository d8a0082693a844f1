"""The job queue: huey on SQLite (embedded default) or on Redis (`NAVBOT_REDIS_URL`), with
leases in the state database that make every job run at least once.

huey was chosen because one small library gives both backends with the same code, scheduled
(delayed) tasks and a consumer with worker threads; see docs/architecture.md. Every job goes
through one huey task, `run_job(name, args)`, which hands a :class:`Job` to the runner the
worker process bound. The web process only enqueues.

huey forgets a task once a worker takes it, so a worker that dies would lose its jobs. Here
a job is leased in the state database as it starts (`bot/state/leases.py`) and the lease is
dropped only when the job finished, failed for good, or is back in the queue: retries are
scheduled by this module (queue first, then drop the lease), never by huey after the fact.
Abandoned leases are queued again under the same task id at every worker start and every
`RECLAIM_S` while workers run; a stop returns the running jobs to the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.state.job import Job, JobError
from bot.state.leases import (
    HEARTBEAT_S,
    LEASE_S,
    QUEUED,
    QUEUED_GRACE_S,
    RECLAIM_S,
    abandoned,
    exhausted,
    new_owner,
    owner_process,
    process_alive,
    this_host,
)
from navbot.core.config import Settings
from navbot.core.errors import JobBusyError, NavbotError, QueueError, RateLimitedError, StateError

if TYPE_CHECKING:
    from bot.state.store import StateStore

log = logging.getLogger("navbot.queue")

#: How long a job waits before trying again when its repository or issue is busy.
BUSY_RETRY_S = 5.0
#: The shortest wait after GitHub's rate limit, even when it names no time.
MIN_RATE_LIMIT_WAIT_S = 1.0
#: How long a stopping worker lets its running jobs finish before returning them.
SHUTDOWN_GRACE_S = 8.0  # inside the 10 s Docker and most supervisors wait before SIGKILL
RETRY_BACKOFF = 2.0


JobRunner = Callable[[Job], None]
FailureHandler = Callable[[Job, BaseException], None]


class JobQueue:
    """Enqueue jobs by name and ids; in a worker, run them with the bound runner."""

    def __init__(self, settings: Settings, state: StateStore | None = None) -> None:
        """A queue of `settings`; jobs are noted in `state` (default: its own, when needed)."""
        self.settings = settings
        self.huey = _make_huey(settings)
        #: This process as the holder of job leases and locks (host, pid, random part).
        self.owner = new_owner()
        self._runner: JobRunner | None = None
        self._on_failure: FailureHandler | None = None
        self._state = state
        # Task ids of the jobs running in this process: only their leases are renewed, so a
        # lease left behind by a failure here lapses and is reclaimed like a dead worker's.
        self._running: set[str] = set()
        self._running_lock = threading.Lock()
        # The retry policy travels with each task (the enqueuer's settings count); this
        # module schedules the retries itself, so that no failure escapes to huey.
        self._task = self.huey.task(
            retries=settings.job_retries, retry_delay=settings.job_retry_delay_s,
            context=True, name="navbot.run_job")(self._run)

    def bind(self, runner: JobRunner, on_failure: FailureHandler,
             state: StateStore | None = None) -> None:
        """Make this process a worker: jobs run with `runner`, leased in `state` (the state
        database of the settings when not given); final failures go to `on_failure`."""
        from bot.state.store import StateStore

        self._runner = runner
        self._on_failure = on_failure
        self._state = state if state is not None else StateStore(self.settings.state_url())

    def enqueue(self, job: Job, delay_s: float | None = None) -> None:
        """Put a job on the queue (after `delay_s` seconds, if given)."""
        self._put(job, delay_s)

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

    def check(self) -> None:
        """Raise QueueError naming the problem when the queue's storage does not answer."""
        try:
            self.huey.pending_count()
        except Exception as exc:  # huey raises backend-specific errors (sqlite3, redis)
            raise QueueError(f"the job queue ({_where(self.settings)}) does not answer: "
                             f"{type(exc).__name__}: {exc}") from None

    def run_pending(self, max_jobs: int = 1000) -> int:
        """Run queued jobs in this thread until none is ready; returns how many ran.

        Used by tests and one-shot runs; `navbot worker` runs `work` instead.
        """
        ran = 0
        with self._heartbeat():
            while ran < max_jobs:
                for task in self.huey.read_schedule(_now()):
                    self.huey.enqueue(task)
                task = self.huey.dequeue()
                if task is None:
                    return ran
                self.huey.execute(task)
                ran += 1
        return ran

    def work(self, workers: int, grace_s: float = SHUTDOWN_GRACE_S) -> int:
        """Run jobs with `workers` threads until SIGTERM or SIGINT; returns how many running
        jobs went back to the queue.

        SIGTERM lets running jobs finish for up to `grace_s` seconds; SIGINT stops at once.
        Either way, jobs still running are queued again, and this process's locks lapse
        (or a worker of this host releases them when it sees this process gone).
        """
        consumer = self.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=False, check_worker_health=True,
            graceful_signal="TERM", shutdown_timeout=grace_s)
        with self._heartbeat():
            self.reclaim()
            consumer.run()
        return self.return_running()

    # Leases ---------------------------------------------------------------------------------
    def reclaim(self) -> int:
        """Queue again the jobs of abandoned leases, and drop the locks of workers of this
        host that are gone; returns how many jobs were queued again."""
        state = self._bound_state()
        now, host = time.time(), this_host()
        count = 0
        leases = state.leases()
        # Which tasks the queue still holds matters only for queued leases past their time.
        held = self._queued_ids() if any(
            lease["owner"] == QUEUED and float(lease["expires_at"]) < now
            for lease in leases) else set()
        for lease in leases:
            owner = str(lease["owner"])
            if lease["task_id"] in self._running_ids() or not abandoned(
                    owner, float(lease["expires_at"]), now, host, process_alive,
                    in_queue=lease["task_id"] in held):
                continue
            # Claim it first: of two workers reclaiming at once, one queues it.
            if not state.claim_lease(lease["task_id"], owner, self.owner, LEASE_S):
                continue
            job = self._job_or_fail(str(lease["task_id"]), lease["name"], lease["args"])
            if job is None:
                continue
            if exhausted(int(lease["attempts"]), self.settings.job_retries):
                self._fail(lease["task_id"], job, QueueError(
                    f"its worker stopped {lease['attempts']} times while running it"))
                continue
            log.warning("%s: its worker %s stopped %s; queueing it again", job.key,
                        owner or "(none)", "mid-job" if owner else "before leasing it")
            self._put(job, None, task_id=str(lease["task_id"]))
            count += 1
        for owner in state.lock_owners():
            holder = owner_process(owner)
            if holder is not None and holder[0] == host and not process_alive(holder[1]):
                released = state.release_locks_of(owner)
                log.warning("released %d lock(s) of worker %s, which is gone", released, owner)
        return count

    def return_running(self) -> int:
        """Queue again the jobs this process still runs (it is stopping); how many."""
        state = self._bound_state()
        count = 0
        for lease in state.leases(self.owner):
            job = self._job_or_fail(str(lease["task_id"]), lease["name"], lease["args"])
            if job is None:
                continue
            # Not counted as an attempt first, then queued (which marks the lease queued).
            state.requeue_lease(lease["task_id"], self.owner, returned=True)
            self._put(job, None, task_id=str(lease["task_id"]))
            log.warning("%s did not finish before the stop; queued again", job.key)
            count += 1
        return count

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """Renew this process's leases and locks, and reclaim abandoned ones, in a thread."""
        stop = threading.Event()
        thread = threading.Thread(target=self._keep_leases, args=(stop,),
                                  name="navbot-leases", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=HEARTBEAT_S)

    def _keep_leases(self, stop: threading.Event) -> None:
        state = self._bound_state()
        last_reclaim = time.monotonic()
        while not stop.wait(HEARTBEAT_S):
            try:
                state.renew_leases(self.owner, LEASE_S, self._running_ids())
                if time.monotonic() - last_reclaim >= RECLAIM_S:
                    last_reclaim = time.monotonic()
                    self.reclaim()
            except (StateError, QueueError) as exc:
                # The database or queue is briefly away: the next beat tries again, and a
                # lease only lapses after several missed beats.
                log.warning("cannot renew or reclaim job leases: %s", exc)

    def _running_ids(self) -> set[str]:
        with self._running_lock:
            return set(self._running)

    def _bound_state(self) -> StateStore:
        if self._state is None:
            raise QueueError("no job runner is bound in this process")
        return self._state

    # Running one job --------------------------------------------------------------------------
    def _run(self, name: str, args: dict[str, Any], task: Any) -> None:
        runner = self._runner
        if runner is None:
            raise QueueError("no job runner is bound in this process")
        job = self._job_or_fail(task.id, name, args)
        if job is None:
            return
        state = self._bound_state()
        # A StateError here escapes to huey, which queues the task again: nothing is lost.
        state.take_job(task.id, name, args, self.owner, LEASE_S)
        with self._running_lock:
            self._running.add(task.id)
        try:
            self._run_leased(runner, task, job)
        finally:
            with self._running_lock:
                self._running.discard(task.id)

    def _run_leased(self, runner: JobRunner, task: Any, job: Job) -> None:
        try:
            runner(job)
        except JobBusyError:
            # Not a failure: the retry does not use up one of the job's retries.
            self._retry(task, job, BUSY_RETRY_S, task.retries, task.retry_delay)
        except RateLimitedError as exc:
            wait = max(MIN_RATE_LIMIT_WAIT_S, exc.retry_after)
            log.warning("%s: rate limited by GitHub, retrying in %.0fs", job.key, wait)
            self._retry(task, job, wait, task.retries, task.retry_delay)
        except Exception as exc:  # the outermost layer of a job: a bug fails it like an error
            if not task.retries:
                self._fail(task.id, job, exc)
                return
            log.warning("%s failed (%s: %s); retrying in %.0fs, %d retries left", job.key,
                        type(exc).__name__, exc, task.retry_delay, task.retries - 1,
                        exc_info=not isinstance(exc, NavbotError))
            self._retry(task, job, task.retry_delay, task.retries - 1,
                        task.retry_delay * RETRY_BACKOFF)
        else:
            self._bound_state().release_job(task.id)

    def _retry(self, task: Any, job: Job, delay_s: float, retries: int,
               retry_delay: float) -> None:
        # Queuing marks the lease as queued again: it stays until the job ends.
        self._put(job, delay_s, task_id=task.id, retries=retries, retry_delay=retry_delay)

    def _job_or_fail(self, task_id: str, name: Any, args: Any) -> Job | None:
        """The job a task or lease holds; None, recorded as failed, when it is not one.

        A task queued by an older navbot, or a hand-edited lease, may not pass today's checks;
        it must reach `navbot status` rather than raise in the consumer or the heartbeat.
        """
        try:
            return Job(str(name), dict(args))
        except (JobError, TypeError, ValueError) as exc:
            state = self._bound_state()
            state.record_failure(f"{name}({args!r})", f"{type(exc).__name__}: {exc}")
            state.release_job(task_id)
            log.error("dropped a queued job that is not one: %s", exc)
            return None

    def _fail(self, task_id: str, job: Job, exc: BaseException) -> None:
        if self._on_failure is not None:
            self._on_failure(job, exc)
        self._bound_state().release_job(task_id)

    def _put(self, job: Job, delay_s: float | None, task_id: str | None = None,
             retries: int | None = None, retry_delay: float | None = None) -> None:
        """Note the job as queued in the state database, then hand it to the queue.

        In that order: a crash between them leaves a queued lease the queue does not hold,
        which `reclaim` queues again once it is past its time.
        """
        options: dict[str, Any] = {"id": task_id, "retries": retries,
                                   "retry_delay": retry_delay}
        if delay_s:
            options["delay"] = delay_s
        task = self._task.s(job.name, job.args, **options)
        try:
            self._lease_state().queue_job(task.id, job.name, job.args,
                                          time.time() + (delay_s or 0.0), QUEUED_GRACE_S)
        except StateError as exc:
            raise QueueError(f"cannot enqueue {job.key}: {exc}") from exc
        try:
            self.huey.enqueue(task)
        except Exception as exc:  # huey raises backend-specific errors (sqlite3, redis)
            raise QueueError(f"cannot enqueue {job.key}: {type(exc).__name__}: {exc}") from exc

    def _lease_state(self) -> StateStore:
        """The state database leases are noted in: the one given or bound, else the
        settings' own, opened on the first enqueue."""
        if self._state is None:
            from bot.state.store import StateStore

            self._state = StateStore(self.settings.state_url())
        return self._state

    def _queued_ids(self) -> set[str]:
        """Ids of the tasks the queue holds, waiting or scheduled."""
        try:
            return ({task.id for task in self.huey.pending()}
                    | {task.id for task in self.huey.scheduled()})
        except Exception as exc:  # huey raises backend-specific errors (sqlite3, redis)
            raise QueueError(f"cannot read the job queue: {type(exc).__name__}: {exc}") \
                from exc


def _now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _where(settings: Settings) -> str:
    if settings.redis_url:
        from urllib.parse import urlsplit

        # A Redis URL may carry a password; never print it.
        parts = urlsplit(settings.redis_url)
        return f"Redis at {parts.hostname or '?'}:{parts.port or 6379}"
    return f"SQLite at {settings.home / 'queue.db'}"


def _make_huey(settings: Settings) -> Any:
    from huey import RedisHuey, SqliteHuey

    try:
        if settings.redis_url:
            return RedisHuey("navbot", url=settings.redis_url, results=False)
        settings.home.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("navbot", filename=str(settings.home / "queue.db"), results=False)
    except Exception as exc:  # a bad URL or an unwritable file: say which
        raise QueueError(f"cannot open the job queue: {type(exc).__name__}: {exc}") from exc
