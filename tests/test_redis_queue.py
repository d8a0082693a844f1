"""The same queue and app on Redis (`NAVBOT_REDIS_URL`), against a real redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.state.job import Job
from bot.state.queue import JobQueue
from navbot.core.config import load_settings


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port, for this module only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/test installs it where it can)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                              stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_jobs_flow_through_redis_between_processes(redis_url: str, tmp_path: Path) -> None:
    # Two queues on two homes share nothing but Redis, like a web host and a worker host.
    # A job's retry policy travels with it, so it is the enqueuer's settings that count.
    web = JobQueue(load_settings(home=tmp_path / "web", redis_url=redis_url, job_retries=1,
                                 job_retry_delay_s=0))
    worker = JobQueue(load_settings(home=tmp_path / "worker", redis_url=redis_url))
    web.huey.flush()
    ran: list[str] = []
    failed: list[str] = []

    def runner(job: Job) -> None:
        ran.append(job.key)
        if job.args["installation_id"] == 2:
            raise RuntimeError("always fails")

    worker.bind(runner, lambda job, exc: failed.append(job.key))
    assert web.reachable()
    web.enqueue(Job("sync_installation", {"installation_id": 1}))
    web.enqueue(Job("sync_installation", {"installation_id": 2}))
    assert worker.depth() == 2
    worker.run_pending()
    assert ran.count("sync_installation(installation_id=1)") == 1
    assert ran.count("sync_installation(installation_id=2)") == 2  # a try and a retry
    assert failed == ["sync_installation(installation_id=2)"]
    assert web.depth() == 0


def test_healthz_reports_redis(redis_url: str, tmp_path: Path) -> None:
    from bot.state.store import StateStore
    from webhooks import create_app

    settings = load_settings(home=tmp_path, redis_url=redis_url, webhook_secret="s")
    app = create_app(settings, JobQueue(settings), StateStore(settings.state_url()))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["queue"] == "ok"
