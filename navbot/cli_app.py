"""The App's commands: `navbot serve`, `navbot worker` and `navbot status`.

Kept apart from the indexing and evaluation commands in `navbot.cli`; all three build the
same Settings, state store and queue the webhook app uses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import click

from navbot.config import Settings, load_settings
from navbot.errors import ConfigError


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    base: dict[str, object] = ctx.obj or {}
    return load_settings(home=base.get("home"), **overrides)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _start_worker(settings: Settings) -> Any:
    from bot.worker import Worker
    from navbot.queue import JobQueue
    from navbot.state import StateStore

    state = StateStore(settings.state_url())
    queue = JobQueue(settings)
    worker = Worker(settings, state, queue)
    worker.bind()
    worker.resume_stale_runs()
    return state, queue


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads (NAVBOT_WORKERS).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int | None) -> None:
    """Run the webhook receiver and a worker together (the embedded default)."""
    settings = _settings(ctx, workers=workers)
    if settings.webhook_secret is None:
        raise ConfigError("NAVBOT_WEBHOOK_SECRET is not set: navbot cannot verify that "
                          "webhooks come from GitHub, so it will not receive them. Set it to "
                          "the secret entered when registering the App (see README).")
    from werkzeug.serving import make_server

    from webhooks import create_app

    _configure_logging()
    state, queue = _start_worker(settings)
    if settings.redis_url is None:
        # One machine, one worker process: locks left by a crashed run are stale.
        state.clear_locks()
    server = make_server(host, port, create_app(settings, queue, state), threaded=True)
    threading.Thread(target=server.serve_forever, name="webhooks", daemon=True).start()
    click.echo(f"navbot: receiving webhooks on http://{host}:{server.server_port}"
               f"/webhooks/github with {settings.workers} worker threads", err=True)
    try:
        queue.consumer(settings.workers).run()
    finally:
        server.shutdown()


@click.command()
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads (NAVBOT_WORKERS).")
@click.pass_context
def worker(ctx: click.Context, workers: int | None) -> None:
    """Run workers alone (with NAVBOT_REDIS_URL, as many as you like on many machines)."""
    settings = _settings(ctx, workers=workers)
    _configure_logging()
    _, queue = _start_worker(settings)
    click.echo(f"navbot: worker with {settings.workers} threads on "
               f"{'redis' if settings.redis_url else 'the SQLite queue'}", err=True)
    queue.consumer(settings.workers).run()


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Installations, repositories and their index, the queue, and failed jobs."""
    from navbot.queue import JobQueue
    from navbot.state import StateStore

    settings = _settings(ctx)
    state = StateStore(settings.state_url())
    queue = JobQueue(settings)
    now = time.time()
    report = {
        "installations": state.installations(),
        "repositories": [
            {"full_name": r["full_name"], "installation_id": r["installation_id"],
             "index_commit": r["index_commit"],
             "indexed_age_s": round(now - r["indexed_at"]) if r["indexed_at"] else None,
             "config_error": r["config_error"],
             "calibration": _track_record(settings, r["full_name"])}
            for r in state.repositories()],
        "queue": {"backend": "redis" if settings.redis_url else "sqlite",
                  "reachable": queue.reachable(),
                  "depth": queue.depth() if queue.reachable() else None},
        "deliveries": state.delivery_count(),
        "issues": state.thread_outcomes(),
        "feedback": dict(zip(("thumbs_up", "thumbs_down"), state.feedback(), strict=True)),
        "failed_jobs": [{"job": f["job"], "error": f["error"],
                         "failed_age_s": round(now - f["failed_at"])}
                        for f in state.failures()],
    }
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(_format_status(report))


def _track_record(settings: Settings, full_name: str) -> str | None:
    """The repository's calibration sentence, when `navbot calibrate` measured one."""
    from navbot.calibrations import load_calibration

    clone = settings.clone_dir(full_name)
    calibration = load_calibration(settings, clone) if clone.exists() else None
    return calibration.sentence if calibration is not None else None


def _format_status(report: dict[str, Any]) -> str:
    lines = [f"installations: {len(report['installations'])}"]
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
    queue = report["queue"]
    depth = queue["depth"] if queue["reachable"] else "unreachable"
    lines.append(f"queue ({queue['backend']}): {depth} waiting")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report["issues"].items())) or "none"
    lines.append(f"deliveries: {report['deliveries']}; issues: {outcomes}")
    feedback = report["feedback"]
    lines.append(f"feedback: {feedback['thumbs_up']} 👍, {feedback['thumbs_down']} 👎")
    lines.append(f"failed jobs: {len(report['failed_jobs'])}")
    for failed in report["failed_jobs"]:
        lines.append(f"  {_age(failed['failed_age_s'])}: {failed['job']}: {failed['error']}")
    return "\n".join(lines)
