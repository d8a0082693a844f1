"""The job queue (real huey on SQLite) and navbot's state store (real SQLite)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.state.job import Job
from bot.state.queue import JobQueue
from bot.state.records import Thread
from bot.state.store import StateStore
from navbot.core.config import Settings, load_settings
from navbot.core.errors import JobBusyError, QueueError, RateLimitedError


@pytest.fixture
def state(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def _queue(tmp_path: Path, **overrides: object) -> tuple[Settings, JobQueue]:
    settings = load_settings(home=tmp_path / "home", job_retry_delay_s=0, **overrides)
    return settings, JobQueue(settings)


def job(n: int) -> Job:
    return Job("sync_installation", {"installation_id": n})


def test_job_requires_its_ids() -> None:
    with pytest.raises(ValueError, match="installation_id"):
        Job("sync_installation", {})
    with pytest.raises(ValueError, match="bad job"):
        Job("reboot_github", {})
    assert job(3).key == "sync_installation(installation_id=3)"


def test_deliveries_are_deduplicated_durably(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert StateStore(url).record_delivery("d-1", "issues", "opened")
    # A new process (a new store on the same database) still knows the delivery.
    assert not StateStore(url).record_delivery("d-1", "issues", "opened")
    StateStore(url).forget_delivery("d-1")
    assert StateStore(url).record_delivery("d-1", "issues", "opened")


def test_locks_exclude_and_expire(state: StateStore) -> None:
    assert state.acquire_lock("repo:1", "worker-a", ttl_s=60)
    assert not state.acquire_lock("repo:1", "worker-b", ttl_s=60)
    state.release_lock("repo:1", "worker-b")  # not the holder: no effect
    assert not state.acquire_lock("repo:1", "worker-b", ttl_s=60)
    state.release_lock("repo:1", "worker-a")
    assert state.acquire_lock("repo:1", "worker-b", ttl_s=0.05)
    time.sleep(0.1)  # the holder died: its lock expires
    assert state.acquire_lock("repo:1", "worker-c", ttl_s=60)


def test_threads_and_items_round_trip(state: StateStore) -> None:
    assert state.thread(1, 7) == Thread(1, 7)
    state.save_thread(Thread(1, 7, comment_id=99, answer_hash="a", outcome="create",
                             thumbs_up=2))
    state.save_thread(Thread(1, 7, comment_id=99, answer_hash="b", outcome="edit",
                             thumbs_up=3, thumbs_down=1))
    assert state.thread(1, 7).answer_hash == "b"
    assert state.thread_outcomes() == {"edit": 1}
    assert state.feedback() == (3, 1)
    state.save_items(1, [{"number": 3, "kind": "issue", "title": "a", "updated_at": "t1"}])
    state.save_items(1, [{"number": 3, "kind": "issue", "title": "b", "updated_at": "t2"},
                         {"number": 2, "kind": "pr", "title": "c", "updated_at": "t2"}])
    assert [(i["number"], i["title"]) for i in state.items(1)] == [(2, "c"), (3, "b")]
    state.save_repository(1, 42, "octo-org/shop", index_commit="abc")
    state.forget_repository(1)
    assert state.items(1) == [] and state.repository(1) is None
    assert state.thread(1, 7) == Thread(1, 7)


def test_queue_retries_then_records_a_final_failure(tmp_path: Path) -> None:
    _, queue = _queue(tmp_path, job_retries=2)
    attempts: list[int] = []
    failures: list[tuple[str, str]] = []

    def runner(j: Job) -> None:
        attempts.append(j.args["installation_id"])
        if j.args["installation_id"] == 2:
            raise RuntimeError("GitHub is down")

    queue.bind(runner, lambda j, exc: failures.append((j.key, str(exc))))
    queue.enqueue(job(1))
    queue.enqueue(job(2))
    assert queue.depth() == 2
    queue.run_pending()
    assert attempts.count(1) == 1
    assert attempts.count(2) == 3  # the first try and two retries
    assert failures == [("sync_installation(installation_id=2)", "GitHub is down")]
    assert queue.depth() == 0


def test_busy_and_rate_limited_jobs_run_again_later(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, queue = _queue(tmp_path, job_retries=0)
    attempts: list[str] = []

    def runner(j: Job) -> None:
        attempts.append(j.key)
        if len(attempts) == 1:
            raise JobBusyError("repo:1 is busy")
        if len(attempts) == 2:
            raise RateLimitedError("slow down", retry_after=0)

    failures: list[str] = []
    queue.bind(runner, lambda j, exc: failures.append(j.key))
    queue.enqueue(job(1))
    queue.run_pending()
    # Busy: scheduled again a few seconds later without using up a retry (it has none).
    assert len(attempts) == 1 and queue.huey.scheduled_count() == 1 and failures == []
    queue.huey.storage.flush_schedule()
    monkeypatch.setattr("bot.state.queue.BUSY_RETRY_S", 0.0)
    monkeypatch.setattr("bot.state.queue.MIN_RATE_LIMIT_WAIT_S", 0.0)
    queue.enqueue(job(1))
    queue.run_pending()  # rate limited, then done: the retry comes due at once
    assert len(attempts) == 3 and failures == []
    assert queue.depth() == 0


def test_an_unreachable_queue_is_a_clear_error(tmp_path: Path) -> None:
    _, queue = _queue(tmp_path, redis_url="redis://127.0.0.1:1/0")
    assert not queue.reachable()
    with pytest.raises(QueueError, match="cannot enqueue"):
        queue.enqueue(job(1))


def test_status_counts_every_failed_job_and_lists_the_most_recent(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from navbot.cli.app import RECENT_FAILURES
    from navbot.cli.main import main

    settings = load_settings(home=tmp_path / "home")
    state = StateStore(settings.state_url())
    assert state.failure_count() == 0
    for n in range(1, 26):
        state.record_failure(f"sync_installation(installation_id={n})", f"GitHubError: {n}")
    assert state.failure_count() == 25
    newest = [f"sync_installation(installation_id={n})"
              for n in range(25, 25 - RECENT_FAILURES, -1)]
    assert [f["job"] for f in state.failures(RECENT_FAILURES)] == newest

    home = ["--home", str(settings.home)]
    text = CliRunner().invoke(main, [*home, "status"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    at = lines.index(f"failed jobs: 25; the {RECENT_FAILURES} most recent:")
    listed = lines[at + 1:]
    assert len(listed) == RECENT_FAILURES
    assert listed[0].endswith(": sync_installation(installation_id=25): GitHubError: 25")
    assert listed[-1].endswith(": sync_installation(installation_id=6): GitHubError: 6")
    report = json.loads(CliRunner().invoke(main, [*home, "status", "--json"]).stdout)
    assert report["failed_jobs_total"] == 25
    assert [f["job"] for f in report["failed_jobs"]] == newest


def test_status_lists_every_failed_job_when_there_are_few(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from navbot.cli.main import main

    home = tmp_path / "home"
    state = StateStore(load_settings(home=home).state_url())
    state.record_failure("sync_installation(installation_id=1)", "boom")
    text = CliRunner().invoke(main, ["--home", str(home), "status"]).stdout.splitlines()
    at = text.index("failed jobs: 1")
    assert text[at + 1].endswith(": sync_installation(installation_id=1): boom")


# Leases: at-least-once jobs ---------------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _worker_queue(tmp_path: Path, ran: list[str], failures: list[str],
                  **overrides: object) -> tuple[JobQueue, StateStore]:
    settings, queue = _queue(tmp_path, **overrides)
    state = StateStore(settings.state_url())
    leased: list[list[dict[str, object]]] = []

    def runner(j: Job) -> None:
        leased.append(state.leases())
        ran.append(j.key)

    queue.bind(runner, lambda j, exc: failures.append(f"{j.key}: {exc}"), state)
    return queue, state


def test_a_job_is_leased_while_it_runs_and_released_when_it_ends(tmp_path: Path) -> None:
    settings, queue = _queue(tmp_path, job_retries=0)
    state = StateStore(settings.state_url())
    seen: list[list[dict[str, object]]] = []

    def runner(j: Job) -> None:
        seen.append(state.leases(queue.owner))
        if j.args["installation_id"] == 2:
            raise RuntimeError("GitHub is down")

    failures: list[str] = []
    queue.bind(runner, lambda j, exc: failures.append(j.key), state)
    queue.enqueue(job(1))
    queue.enqueue(job(2))
    # Noted as queued before the queue has them, so a worker killed between taking one from
    # the queue and leasing it loses nothing.
    assert [(lease["owner"], lease["attempts"]) for lease in state.leases()] == [("", 0)] * 2
    assert queue.run_pending() == 2
    [[first], [second]] = seen
    assert first["owner"] == queue.owner and first["args"] == {"installation_id": 1}
    assert first["expires_at"] > time.time() and first["attempts"] == 1
    assert second["name"] == "sync_installation"
    assert failures == ["sync_installation(installation_id=2)"]
    assert state.leases() == [] and queue.depth() == 0


def test_the_job_of_a_lapsed_lease_runs_again_under_its_task_id(tmp_path: Path) -> None:
    ran: list[str] = []
    failures: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, failures, job_retries=3)
    # A worker on another machine took the job and stopped renewing its lease.
    state.take_job("task-1", "sync_installation", {"installation_id": 7}, "elsewhere:12:ab",
                   lease_s=-1)
    # One of another machine that is still renewing is left alone.
    state.take_job("task-2", "sync_installation", {"installation_id": 8}, "elsewhere:13:cd",
                   lease_s=60)
    assert queue.reclaim() == 1
    assert queue.reclaim() == 0  # queued once, not once per pass
    [queued] = queue.huey.pending()
    assert queued.id == "task-1"
    assert queue.run_pending() == 1
    assert ran == ["sync_installation(installation_id=7)"] and failures == []
    assert [lease["task_id"] for lease in state.leases()] == ["task-2"]


def test_a_dead_local_worker_is_recovered_at_once_with_its_locks(tmp_path: Path) -> None:
    from bot.state.leases import this_host

    ran: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, [])
    dead = f"{this_host()}:{_dead_pid()}:ab12"
    state.take_job("task-1", "sync_installation", {"installation_id": 7}, dead, lease_s=60)
    assert state.acquire_lock("repo:1", dead, ttl_s=60)
    alive = f"{this_host()}:{queue.owner.split(':')[1]}:other"  # this very process
    state.take_job("task-2", "sync_installation", {"installation_id": 8}, alive, lease_s=60)
    assert state.acquire_lock("repo:2", alive, ttl_s=60)
    assert queue.reclaim() == 1
    assert state.lock_owners() == {alive}
    queue.run_pending()
    assert ran == ["sync_installation(installation_id=7)"]


def test_a_job_that_keeps_killing_its_worker_fails_for_good(tmp_path: Path) -> None:
    ran: list[str] = []
    failures: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, failures, job_retries=1)
    for _ in range(2):  # taken twice, and each time its worker died
        state.take_job("task-1", "sync_installation", {"installation_id": 7},
                       "elsewhere:12:ab", lease_s=-1)
    assert queue.reclaim() == 0
    assert failures == ["sync_installation(installation_id=7): its worker stopped 2 times "
                        "while running it"]
    assert state.leases() == [] and queue.depth() == 0 and ran == []


def test_only_one_of_two_reclaimers_gets_a_lapsed_lease(state: StateStore) -> None:
    state.take_job("task-1", "sync_installation", {"installation_id": 7}, "gone:1:ab",
                   lease_s=-1)
    assert state.claim_lease("task-1", "gone:1:ab", "worker-a:2:cd", 60)
    assert not state.claim_lease("task-1", "gone:1:ab", "worker-b:3:ef", 60)
    [lease] = state.leases()
    assert lease["owner"] == "worker-a:2:cd"


def test_renewing_pushes_back_the_leases_and_locks_of_their_owner(state: StateStore) -> None:
    state.take_job("task-1", "sync_installation", {"installation_id": 7}, "me:1:ab", 1)
    state.take_job("task-2", "sync_installation", {"installation_id": 8}, "you:2:cd", 1)
    assert state.acquire_lock("repo:1", "me:1:ab", ttl_s=1)
    state.take_job("task-3", "sync_installation", {"installation_id": 9}, "me:1:ab", 1)
    # Only the leases of jobs the owner still runs: one it left behind lapses.
    assert state.renew_leases("me:1:ab", 600, ["task-1"]) == 1
    expiry = {lease["task_id"]: lease["expires_at"] for lease in state.leases()}
    assert expiry["task-1"] > time.time() + 500 > max(expiry["task-2"], expiry["task-3"])
    assert not state.acquire_lock("repo:1", "you:2:cd", ttl_s=1)


def test_the_abandoned_rule() -> None:
    from bot.state.leases import QUEUED, abandoned, exhausted

    def alive(pid: int) -> bool:
        return pid == 10

    assert abandoned("h:10:a", expires_at=5, now=6, host="h", alive=alive)  # lapsed
    assert not abandoned("h:10:a", expires_at=7, now=6, host="h", alive=alive)
    assert abandoned("h:11:a", expires_at=7, now=6, host="h", alive=alive)  # gone, here
    assert not abandoned("g:11:a", expires_at=7, now=6, host="h", alive=alive)  # elsewhere
    # A queued one: only when past its time and no longer in the queue.
    assert not abandoned(QUEUED, expires_at=5, now=6, host="h", alive=alive)
    assert not abandoned(QUEUED, expires_at=7, now=6, host="h", alive=alive, in_queue=False)
    assert abandoned(QUEUED, expires_at=5, now=6, host="h", alive=alive, in_queue=False)
    assert not abandoned("no-pid-here", expires_at=7, now=6, host="h", alive=alive)
    assert not exhausted(attempts=2, retries=2) and exhausted(attempts=3, retries=2)


def _create_at_once(url: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    StateStore(url)


def test_twenty_fresh_homes_each_created_by_two_processes_at_once(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for home in range(20):
        url = f"sqlite:///{tmp_path / str(home) / 'navbot.db'}"
        barrier = context.Barrier(2)
        starts = [context.Process(target=_create_at_once, args=(url, barrier))
                  for _ in range(2)]
        for process in starts:
            process.start()
        for process in starts:
            process.join(60)
        assert [p.exitcode for p in starts] == [0, 0], f"home {home}"
        assert StateStore(url).leases() == []


def test_a_run_whose_job_gave_up_is_closed_not_left_running(state: StateStore) -> None:
    from bot.state.runs import RunStore

    runs = RunStore(state.engine)
    assert runs.start_run("r-1", 1, "octo-org/shop", 7, "opened", "d-1")
    assert runs.close_if_running("r-1", "the job failed for good: GitHubError: 404")
    row = runs.run("r-1")
    assert row is not None and row["status"] == "failed" and row["finished_at"]
    assert row["reasons"] == {"job": "the job failed for good: GitHubError: 404"}
    assert not runs.close_if_running("r-1", "again")  # only a running one is closed
    runs.finish_run("r-1", "finished", "create", {})
    assert not runs.close_if_running("r-1", "late")


def test_a_queued_task_that_is_not_a_job_is_recorded_not_raised(tmp_path: Path) -> None:
    ran: list[str] = []
    failures: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, failures)
    # As an older navbot might have queued it: an id as a string.
    queue.huey.enqueue(queue._task.s("sync_installation", {"installation_id": "7"}))
    # And a lease of a dead worker holding arguments that are no job.
    state.take_job("task-9", "sync_installation", {"installation_id": [1]}, "elsewhere:1:ab",
                   lease_s=-1)
    assert queue.reclaim() == 0
    queue.run_pending()
    assert ran == []
    recorded = sorted(f["job"] for f in state.failures())
    assert recorded == ["sync_installation({'installation_id': '7'})",
                        "sync_installation({'installation_id': [1]})"]
    assert all("installation_id must be" in f["error"] for f in state.failures())
    assert state.leases() == []


def test_a_job_taken_from_the_queue_by_a_worker_killed_before_leasing_it_runs_again(
        tmp_path: Path) -> None:
    from sqlalchemy import update

    from bot.state.schema import job_leases

    ran: list[str] = []
    failures: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, failures)
    queue.enqueue(job(5))
    [noted] = state.leases()
    assert noted["owner"] == "" and noted["attempts"] == 0  # queued, not yet taken
    # A worker takes the task from the queue and is killed before it leases it.
    assert queue.huey.dequeue() is not None and queue.depth() == 0
    assert queue.reclaim() == 0  # not yet past its time: it may still be on its way
    with state.engine.begin() as conn:
        conn.execute(update(job_leases).values(expires_at=time.time() - 1))
    assert queue.reclaim() == 1
    assert queue.run_pending() == 1
    assert ran == ["sync_installation(installation_id=5)"] and failures == []
    assert state.leases() == []


def test_a_queued_job_the_queue_still_holds_is_not_queued_twice(tmp_path: Path) -> None:
    from sqlalchemy import update

    from bot.state.schema import job_leases

    ran: list[str] = []
    queue, state = _worker_queue(tmp_path, ran, [])
    queue.enqueue(job(6))
    with state.engine.begin() as conn:  # waited long in a backlog
        conn.execute(update(job_leases).values(expires_at=time.time() - 1))
    assert queue.reclaim() == 0 and queue.depth() == 1
    assert queue.run_pending() == 1 and ran == ["sync_installation(installation_id=6)"]
