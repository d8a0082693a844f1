"""The `navbot` admin command line.

Handlers are thin: they build Settings, call the core, and print. Every NavbotError becomes
a one-line message with its exit code, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from navbot import __version__
from navbot.config import Settings, load_settings
from navbot.errors import Interrupted, NavbotError


class NavbotGroup(click.Group):
    """A click group that turns navbot errors and Ctrl-C into clean messages."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map expected failures to messages and exit codes."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            error: NavbotError = Interrupted("interrupted; the previous index is left intact")
        except NavbotError as exc:
            error = exc
        click.echo(f"navbot: error: {error}", err=True)
        ctx.exit(error.exit_code)


def _settings(ctx: click.Context, **overrides: object) -> Settings:
    base: dict[str, object] = ctx.obj or {}
    return load_settings(**base, **overrides)


class _ProgressBar:
    """Per-stage tqdm bars on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="file" if stage == "parse"
                                          else "commit", file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


@click.group(cls=NavbotGroup)
@click.version_option(__version__, prog_name="navbot")
@click.option("--home", type=click.Path(path_type=Path), help="Data directory (NAVBOT_HOME).")
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """navbot: point maintainers at the code that matters for an issue."""
    ctx.obj = {"home": home}


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--commit", default="HEAD", show_default=True, help="Commit to index.")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of incrementally.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def index(ctx: click.Context, path: Path, commit: str, full: bool, as_json: bool) -> None:
    """Index the git repository at PATH (a clone or a bare mirror)."""
    from indexer.build import Indexer

    progress = _ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        result = Indexer(_settings(ctx), progress).index(path, commit=commit, full=full)
    finally:
        progress.close()
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    mode = "incremental" if result.incremental else "full"
    click.echo(
        f"indexed {path} at {result.commit[:12]} ({mode}, {result.seconds:.1f}s): "
        f"{summary['files']} files, {summary['symbols']} symbols, {summary['commits']} commits, "
        f"{summary['edges']} edges"
    )
    if result.failed_files:
        click.echo(f"{len(result.failed_files)} files could not be fully parsed "
                   f"(listed in the manifest), e.g. {result.failed_files[0]['path']}: "
                   f"{result.failed_files[0]['reason']}")


def _format_description(info: dict[str, Any]) -> str:
    lines = [f"{info['kind']} {info['target']}"]
    for d in info["definitions"]:
        lines.append(f"  {d['kind']} {d['symbol']}  lines {d['lines'][0]}-{d['lines'][1]}")
        if d["signature"]:
            lines.append(f"      {d['signature']}")
        if d["doc"]:
            lines.append(f"      {d['doc'][:120]}")
    sections: list[tuple[str, Callable[[Any], str]]] = [
        ("imports", str), ("imported_by", str), ("callers", str), ("callees", str),
        ("inherits", str), ("inherited_by", str),
        ("pull_requests", lambda p: f"#{p['number']} {p['title']}"),
        ("commits", lambda c: f"{c['sha']} {c['title']}"),
        ("co_changes", lambda c: f"{c['path']} ({c['weight']}x)"),
    ]
    for key, fmt in sections:
        if info[key]:
            lines.append(f"{key.replace('_', ' ')}:")
            lines.extend(f"  {fmt(item)}" for item in info[key])
    return "\n".join(lines)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def show(ctx: click.Context, path: Path, target: str, as_json: bool) -> None:
    """Show what the index knows about TARGET, a file path or a symbol, in PATH's index."""
    from indexer.build import Indexer
    from indexer.describe import describe
    from indexer.gitrepo import GitRepo

    store = Indexer(_settings(ctx)).store_for(GitRepo(path))
    info = describe(store.load_graph().to_networkx(), target)
    click.echo(json.dumps(info, indent=1) if as_json else _format_description(info))
