"""The job queue (real huey on SQLite) and navbot's state store (real SQLite)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from navbot.config import Settings, load_settings
from navbot.errors import JobBusyError, QueueError, RateLimitedError
from navbot.job import Job
from navbot.queue import JobQueue
from navbot.records import Thread
from navbot.state import StateStore


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
    monkeypatch.setattr("navbot.queue.BUSY_RETRY_S", 0.0)
    monkeypatch.setattr("navbot.queue.MIN_RATE_LIMIT_WAIT_S", 0.0)
    queue.enqueue(job(1))
    queue.run_pending()  # rate limited, then done: the retry comes due at once
    assert len(attempts) == 3 and failures == []
    assert queue.depth() == 0


def test_an_unreachable_queue_is_a_clear_error(tmp_path: Path) -> None:
    _, queue = _queue(tmp_path, redis_url="redis://127.0.0.1:1/0")
    assert not queue.reachable()
    with pytest.raises(QueueError, match="cannot enqueue"):
        queue.enqueue(job(1))
