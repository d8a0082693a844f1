"""`navbot runs` lists recent analysis runs; `navbot trace RUN_ID` shows what one did.

`navbot trace RUN_ID --otlp` sends the run to the OpenTelemetry collector instead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from navbot.core.config import Settings, load_settings

if TYPE_CHECKING:
    from bot.state.store import StateStore
from navbot.core.errors import ConfigError, RunNotFoundError


def _settings(ctx: click.Context) -> Settings:
    base: dict[str, object] = ctx.obj or {}
    return load_settings(home=base.get("home"))


def _store(settings: Settings) -> Any:
    from bot.state.runs import RunStore

    return RunStore.for_settings(settings)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--repo", "full_name", help="Only runs on this owner/repo.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def runs(ctx: click.Context, limit: int, full_name: str | None, as_json: bool) -> None:
    """Recent analysis runs, newest first: issue, trigger, outcome and time taken."""
    settings = _settings(ctx)
    rows = _store(settings).recent_runs(limit, full_name)
    if as_json:
        click.echo(json.dumps(rows, indent=1, default=str))
        return
    if not rows:
        click.echo("no runs yet")
        return
    for row in rows:
        took = (f"{row['finished_at'] - row['started_at']:.1f}s" if row["finished_at"]
                else "running")
        click.echo(f"{row['run_id']}  {_when(row['started_at'])}  "
                   f"{row['full_name']}#{row['number']}  {row['trigger']:<8} "
                   f"{row['outcome'] or row['status']:<10} {took}{_why_silent(row)}")
    from bot.state.store import StateStore

    state = StateStore(settings.state_url())
    listed = {row["full_name"] for row in rows}
    for repo in state.repositories():
        record = shadow_record(state, int(repo["repo_id"]))
        if record and repo["full_name"] in listed:
            click.echo(f"{repo['full_name']} {record}")


def shadow_record(state: StateStore, repo_id: int) -> str | None:
    """A repository's shadow track record in one line, when navbot kept answers on it."""
    from bot.shadow import track_record

    answers = state.shadow_answers(repo_id)
    return f"in shadow: {track_record(answers).sentence()}" if answers else None


def _why_silent(row: dict[str, Any]) -> str:
    """Why nothing was posted: the files' gate, or the pause or shadow mode that withheld it."""
    reasons = row.get("reasons") or {}
    if row["outcome"] == "withheld":
        return f"  ({reasons.get('withheld', 'withheld')})"
    if row["outcome"] != "silent":
        return ""
    reason = reasons.get("files")
    return f"  ({reason})" if reason else ""


@click.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Export the whole trace as JSON.")
@click.option("--otlp", is_flag=True,
              help="Send the run to the OpenTelemetry collector at NAVBOT_OTEL_ENDPOINT.")
@click.pass_context
def trace(ctx: click.Context, run_id: str, as_json: bool, otlp: bool) -> None:
    """One run: its stages with their status and checkpoints, and every trace event."""
    settings = _settings(ctx)
    store = _store(settings)
    matches = store.find_runs(run_id)
    if len(matches) != 1:
        raise RunNotFoundError(f"no run with id {run_id!r}" if not matches else
                               f"{run_id!r} matches several runs: {', '.join(matches)}")
    found = matches[0]
    if otlp:
        _export(settings, store, found)
        return
    report = {"run": store.run(found), "stages": store.checkpoints(found),
              "events": list(store.events(found))}
    if as_json:
        click.echo(json.dumps(report, indent=1, default=str))
        return
    click.echo(_format_trace(report))


def _export(settings: Settings, store: Any, run_id: str) -> None:
    from bot.state.telemetry import export_run, trace_id_for, traces_url

    if not settings.otel_endpoint:
        raise ConfigError("--otlp needs a collector: set NAVBOT_OTEL_ENDPOINT "
                          "(e.g. http://127.0.0.1:4318)")
    if store.run(run_id)["status"] == "running":
        raise click.ClickException(f"run {run_id} is still running; export it once it ends")
    url = traces_url(settings.otel_endpoint)
    if not export_run(settings, store, run_id):
        raise click.ClickException(f"could not export run {run_id} to {url} (is the collector "
                                   "up, and is navbot[otel] installed?)")
    click.echo(f"exported run {run_id} to {url} as trace {trace_id_for(run_id):032x}")


def _format_trace(report: dict[str, Any]) -> str:
    run = report["run"]
    lines = [f"run {run['run_id']}: {run['full_name']}#{run['number']} ({run['trigger']}, "
             f"delivery {run['delivery_id'] or '-'})",
             f"  started {_when(run['started_at'])}, {run['status']}, "
             f"outcome {run['outcome'] or '-'}"]
    for reason, text in (run["reasons"] or {}).items():
        lines.append(f"  {reason}: {text}")
    lines.append("stages:")
    for stage in report["stages"]:
        took = stage["finished_at"] - stage["started_at"]
        error = f"  {stage['error']}" if stage["error"] else ""
        lines.append(f"  {stage['stage']:<10} {stage['status']:<6} {took:6.2f}s "
                     f"attempts {stage['attempts']}{error}")
    lines.append("events:")
    start = run["started_at"]
    for event in report["events"]:
        data = json.dumps(event["data"], default=str)
        if len(data) > 300:
            data = data[:297] + "..."
        lines.append(f"  +{event['at'] - start:7.2f}s {event['stage'] or '-':<10} "
                     f"{event['kind']:<12} {data}")
    return "\n".join(lines)


def register(main: click.Group) -> None:
    """Add `runs` and `trace` to the CLI."""
    main.add_command(runs)
    main.add_command(trace)
