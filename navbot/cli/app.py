"""The App's commands: `navbot serve`, `navbot worker` and `navbot status`.

Kept apart from the indexing and evaluation commands in `navbot.cli.main`; all three build the
same Settings, state store and queue the webhook app uses.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import click

from bot.state.queue import SHUTDOWN_GRACE_S
from navbot.core.config import Settings, load_settings


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    base: dict[str, object] = ctx.obj or {}
    return load_settings(home=base.get("home"), **overrides)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _start_worker(settings: Settings) -> Any:
    """Check the settings, bind a worker to the queue and queue again abandoned jobs."""
    from bot.worker import Worker
    from webhooks.preflight import worker_ready

    state, queue = worker_ready(settings)
    Worker(settings, state, queue).bind()
    return queue


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads (NAVBOT_WORKERS).")
@click.option("--grace", type=click.FloatRange(0, 600), default=SHUTDOWN_GRACE_S,
              show_default=True,
              help="Seconds a stop lets running jobs finish before queueing them again.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None,
          grace: float) -> None:
    """Receive webhooks (gunicorn) and run a worker process, on one machine."""
    import os

    from navbot.cli.serving import Supervisor, gunicorn_child, listen, worker_child
    from webhooks.preflight import check_app_credentials, web_ready

    settings = _settings(ctx, workers=workers)
    web_ready(settings)  # the schema is created here, once, before any child starts
    check_app_credentials(settings)
    _configure_logging()
    sock = listen(host, port)
    env = {**os.environ, "NAVBOT_HOME": str(settings.home),
           "NAVBOT_WORKERS": str(settings.workers)}
    supervisor = Supervisor([gunicorn_child(sock), worker_child(settings.workers, grace)],
                            env, grace)
    click.echo(f"navbot: receiving webhooks on http://{host}:{sock.getsockname()[1]}"
               f"/webhooks/github with {settings.workers} worker threads", err=True)
    try:
        supervisor.run()
    finally:
        sock.close()


@click.command()
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads (NAVBOT_WORKERS).")
@click.option("--grace", type=click.FloatRange(0, 600), default=SHUTDOWN_GRACE_S,
              show_default=True,
              help="Seconds a stop lets running jobs finish before queueing them again.")
@click.pass_context
def worker(ctx: click.Context, workers: int | None, grace: float) -> None:
    """Run workers alone (with NAVBOT_REDIS_URL, as many as you like on many machines)."""
    settings = _settings(ctx, workers=workers)
    queue = _start_worker(settings)
    _configure_logging()
    click.echo(f"navbot: worker with {settings.workers} threads on "
               f"{'redis' if settings.redis_url else 'the SQLite queue'}", err=True)
    returned = queue.work(settings.workers, grace)
    click.echo(f"navbot: worker stopped; {returned} unfinished job(s) queued again", err=True)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


RECENT_FAILURES = 20  # failed jobs `status` lists; it counts them all


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Installations, repositories and their index, the queue, and failed jobs."""
    from bot.state.queue import JobQueue
    from bot.state.store import StateStore
    from navbot.cli.runs import shadow_record
    from navbot.core.home import require_writable_home

    settings = _settings(ctx)
    require_writable_home(settings.home)  # the SQLite state and queue live there
    state = StateStore(settings.state_url())
    queue = JobQueue(settings, state)
    now = time.time()
    report = {
        "installations": state.installations(),
        "repositories": [
            {"full_name": r["full_name"], "installation_id": r["installation_id"],
             "index_commit": r["index_commit"],
             "indexed_age_s": round(now - r["indexed_at"]) if r["indexed_at"] else None,
             "config_error": r["config_error"],
             "calibration": _track_record(settings, r["full_name"]),
             "shadow": shadow_record(state, int(r["repo_id"]))}
            for r in state.repositories()],
        "default_mode": settings.default_mode,
        "paused": {"by_setting": settings.paused, "scopes": sorted(state.paused_scopes())},
        "queue": {"backend": "redis" if settings.redis_url else "sqlite",
                  "reachable": queue.reachable(),
                  "depth": queue.depth() if queue.reachable() else None},
        "deliveries": state.delivery_count(),
        "issues": state.thread_outcomes(),
        "feedback": dict(zip(("thumbs_up", "thumbs_down"), state.feedback(), strict=True)),
        "failed_jobs_total": state.failure_count(),
        "failed_jobs": [{"job": f["job"], "error": f["error"],
                         "failed_age_s": round(now - f["failed_at"])}
                        for f in state.failures(RECENT_FAILURES)],
    }
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(_format_status(report))


def _track_record(settings: Settings, full_name: str) -> str | None:
    """The repository's calibration sentence, when `navbot calibrate` measured one."""
    from retrieval.calibration.stored import load_calibration

    clone = settings.clone_dir(full_name)
    calibration = load_calibration(settings, clone) if clone.exists() else None
    return calibration.sentence if calibration is not None else None


def _format_status(report: dict[str, Any]) -> str:
    from bot.state.records import ALL_REPOSITORIES

    paused = report["paused"]
    scopes = ["NAVBOT_PAUSED"] if paused["by_setting"] else []
    scopes += ["every repository" if s == ALL_REPOSITORIES else s for s in paused["scopes"]]
    lines = [f"paused: {', '.join(scopes)} (no comment is written)" if scopes
             else "paused: no", f"default mode: {report['default_mode']}",
             f"installations: {len(report['installations'])}"]
    for inst in report["installations"]:
        flag = " (suspended)" if inst["suspended"] else ""
        lines.append(f"  {inst['installation_id']} {inst['account'] or '?'}{flag}")
    lines.append(f"repositories: {len(report['repositories'])}")
    for repo in report["repositories"]:
        commit = (repo["index_commit"] or "not indexed")[:12]
        lines.append(f"  {repo['full_name']}: index {commit}, "
                     f"{_age(repo['indexed_age_s'])}")
        if repo["config_error"]:
            lines.append(f"    invalid .github/navbot.yml (defaults apply): "
                         f"{repo['config_error']}")
        if repo["calibration"]:
            lines.append(f"    {repo['calibration']}")
        if repo["shadow"]:
            lines.append(f"    {repo['shadow']}")
    queue = report["queue"]
    depth = queue["depth"] if queue["reachable"] else "unreachable"
    lines.append(f"queue ({queue['backend']}): {depth} waiting")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report["issues"].items())) or "none"
    lines.append(f"deliveries: {report['deliveries']}; issues: {outcomes}")
    feedback = report["feedback"]
    lines.append(f"feedback: {feedback['thumbs_up']} 👍, {feedback['thumbs_down']} 👎")
    shown, total = len(report["failed_jobs"]), report["failed_jobs_total"]
    recent = f"; the {shown} most recent:" if shown < total else ""
    lines.append(f"failed jobs: {total}{recent}")
    for failed in report["failed_jobs"]:
        lines.append(f"  {_age(failed['failed_age_s'])}: {failed['job']}: {failed['error']}")
    return "\n".join(lines)
