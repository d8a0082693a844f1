"""`navbot calibrate`: replay a repository's past fixes and store its own posting threshold.

The edge around `retrieval.calibration.workflow`: it finds the repository (a local path, or
an App repository's clone and ingested issues), runs the workflow with the state database's
LLM ledger, and prints the table it stored.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from navbot.core.config import Settings, load_settings
from navbot.core.errors import RepositoryError
from retrieval.calibration.stored import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOWS,
    TARGET_PRECISION,
    Calibration,
    calibration_file,
    describe_skips,
)

if TYPE_CHECKING:
    from retrieval.calibration.workflow import CalibrationTarget

# The workflow and retrieval are imported inside the functions: registering this command
# must keep every `navbot` invocation's start-up free of them.

_FULL_NAME = re.compile(r"[\w.-]+/[\w.-]+")


def resolve_target(settings: Settings, target: str) -> CalibrationTarget:
    """A local repository path, or an App repository named owner/repo."""
    from indexer.gitrepo import GitRepo
    from indexer.store import IndexStore
    from retrieval.calibration.workflow import CalibrationTarget

    path = Path(target).expanduser()
    if path.exists():
        git = GitRepo(path)  # raises RepositoryError when it is not one
        items = IndexStore.for_repo(settings, git).github_items()
        name = git.remote_slug() or path.resolve().name.removesuffix(".git")
        return CalibrationTarget(path, name, items)
    if not _FULL_NAME.fullmatch(target):
        raise RepositoryError(f"{target}: no such directory, and not an owner/repo name")
    from bot.state.store import StateStore

    state = StateStore(settings.state_url())
    row = next((r for r in state.repositories()
                if str(r["full_name"]).lower() == target.lower()), None)
    if row is None:
        raise RepositoryError(f"{target}: no such directory, and not a repository the App is "
                              "installed on; give a local clone's path instead")
    full_name = str(row["full_name"])
    clone = settings.clone_dir(full_name)
    if not clone.exists():
        raise RepositoryError(f"{full_name} has no clone yet at {clone}; the App clones it "
                              "when it indexes the repository")
    return CalibrationTarget(clone, full_name, state.items(int(row["repo_id"])))


def format_calibration(calibration: Calibration, stored: Path) -> str:
    """The sentence, the thresholds at which something would post, and where it was kept."""
    lines = [calibration.sentence, "",
             "threshold  precision  at least  coverage  posts  off-topic posts"]
    for row in calibration.table:
        chosen = row["threshold"] == calibration.threshold
        if row["posted"] == 0 and not chosen:
            continue
        precision = "-" if row["precision"] is None else f"{row['precision']:.0%}"
        bound = row.get("lower_bound")
        at_least = "-" if bound is None else f"{bound:.0%}"
        negatives = row.get("negatives", 0)
        false_posts = f"{row.get('false_posts', 0)} of {negatives}" if negatives else "-"
        lines.append(f"{'*' if chosen else ' '}{row['threshold']:>8.2f}  {precision:>9}  "
                     f"{at_least:>8}  {row['coverage']:>8.0%}  {row['posted']:>5}  "
                     f"{false_posts:>15}")
    lines += ["", "at least: the precision's lower bound with 90% confidence (Wilson)",
              "off-topic posts: texts of the shipped off-topic corpus that would get a post",
              _windows_line(calibration),
              f"* {'fitted' if calibration.fitted else 'default'} threshold; "
              f"stored in {stored}"]
    return "\n".join(lines)


def _windows_line(calibration: Calibration) -> str:
    """How the replay went: against what code, in how many windows, and what it skipped."""
    if not calibration.windows:
        return f"replayed {calibration.method}"
    count = len(calibration.windows)
    skipped = f"; skipped {describe_skips(calibration.skipped)}" if calibration.skipped else ""
    return (f"replayed {calibration.method}, in {count} time window{'s' if count != 1 else ''}"
            f"{skipped}")


@click.command("calibrate")
@click.argument("target")
@click.option("--limit", type=click.IntRange(min=1), default=DEFAULT_LIMIT, show_default=True,
              help="Replay at most this many past fixes, newest first.")
@click.option("--precision", "target_precision", default=TARGET_PRECISION, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="Precision the chosen threshold must reach.")
@click.option("--windows", type=click.IntRange(min=1), default=DEFAULT_WINDOWS,
              show_default=True,
              help="Time windows the fixes are cut into; each is searched before its fixes.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def calibrate(ctx: click.Context, target: str, limit: int, target_precision: float,
              windows: int, as_json: bool) -> None:
    """Measure navbot on TARGET's past fixes (a path, or owner/repo) and store its threshold."""
    from bot.state.runs import StateLedger
    from navbot.cli.progress import ProgressBar
    from retrieval.calibration.workflow import calibrate_repository

    settings = load_settings(home=(ctx.obj or {}).get("home"))
    progress = ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        calibration = calibrate_repository(settings, resolve_target(settings, target), limit,
                                           target_precision, progress, windows=windows,
                                           ledger=StateLedger(settings))
    finally:
        progress.close()
    stored = calibration_file(settings, Path(calibration.path))
    if as_json:
        click.echo(json.dumps({**calibration.to_json(), "stored": str(stored)}))
    else:
        click.echo(format_calibration(calibration, stored))


def register(main: click.Group) -> None:
    """Add `calibrate` to the `navbot` command group."""
    main.add_command(calibrate)
