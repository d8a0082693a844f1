"""`navbot calibrate`: replay a repository's past fixes and store its own posting threshold.

The edge around `retrieval.calibration`: it finds the repository (a local path, or an App
repository's clone and ingested issues), opens its search to find the past fixes, replays
each against the code before it (`navbot.calibrate_replay`), and keeps the result as
`calibration.json` beside the repository's index.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from navbot.core.config import Settings, load_settings
from navbot.core.errors import CalibrationError, RepositoryError
from retrieval.calibration.stored import (
    MIN_POSTED,
    TARGET_PRECISION,
    Calibration,
    calibration_file,
    save_calibration,
)

if TYPE_CHECKING:
    from indexer.build import Progress

# Retrieval is imported inside the functions: registering this command must keep every
# `navbot` invocation's start-up free of it.

DEFAULT_LIMIT = 200
DEFAULT_WINDOWS = 4
_FULL_NAME = re.compile(r"[\w.-]+/[\w.-]+")


@dataclass(frozen=True)
class _Target:
    """The repository to calibrate: where its git data is, its name, its ingested items."""

    path: Path
    name: str
    items: list[dict[str, Any]]


def _resolve_target(settings: Settings, target: str) -> _Target:
    """A local repository path, or an App repository named owner/repo."""
    from indexer.build import Indexer
    from indexer.gitrepo import GitRepo

    path = Path(target).expanduser()
    if path.exists():
        git = GitRepo(path)  # raises RepositoryError when it is not one
        items = Indexer(settings).store_for(git).github_items()
        return _Target(path, git.remote_slug() or path.resolve().name.removesuffix(".git"),
                       items)
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
    return _Target(clone, full_name, state.items(int(row["repo_id"])))


def calibrate_repository(settings: Settings, target: str, limit: int = DEFAULT_LIMIT,
                         target_precision: float = TARGET_PRECISION,
                         progress: Progress | None = None, min_posted: int = MIN_POSTED,
                         windows: int = DEFAULT_WINDOWS) -> Calibration:
    """Measure navbot on `target`'s newest `limit` past fixes, choose a threshold, store it.

    The fixes are replayed in `windows` time windows, each against the code before them.
    """
    from bot.state.runs import StateLedger
    from indexer.build import Indexer
    from indexer.gitrepo import GitRepo
    from retrieval.calibration.examples import describe, fix_examples
    from retrieval.calibration.replay import ask_offtopic, replay_before_fixes
    from retrieval.calibration.thresholds import choose_threshold, threshold_grid, threshold_table
    from retrieval.params import default_params, posting_threshold
    from retrieval.searcher import open_search

    repo = _resolve_target(settings, target)
    search, manifest = open_search(settings, repo.path, None, progress,
                                   ledger=StateLedger(settings))
    graph = Indexer(settings).store_for(GitRepo(repo.path)).load_graph()
    examples = fix_examples(graph, search.corpus.files, repo.items)[:limit]
    if not examples:
        raise CalibrationError(
            f"{repo.name}: no usable past fixes to measure on (none of its commits or merged "
            f"pull requests closes an issue with a 'Fixes #N' reference while modifying 1 to "
            f"20 indexed non-test files); navbot keeps the default threshold")
    params = default_params()
    replayed = replay_before_fixes(settings, repo.path, examples, graph, params, windows,
                                   progress)
    if not replayed.examples:
        raise CalibrationError(
            f"{repo.name}: none of its {len(examples)} past fixes could be replayed against "
            f"the code before it ({_skips(replayed.skipped)}); navbot keeps the default "
            f"threshold")
    fallback = posting_threshold(settings.post_threshold)
    negatives = ask_offtopic(search, params)
    table = threshold_table(replayed.outcomes + negatives, threshold_grid([fallback]),
                            params.about_threshold)
    choice = choose_threshold(table, target_precision, min_posted, fallback=fallback)
    sources = dict(Counter(example.source for example in replayed.examples))
    calibration = Calibration(
        repository=repo.name, path=str(repo.path), threshold=choice.threshold,
        precision=choice.precision, coverage=choice.coverage, posted=choice.posted,
        examples=len(replayed.examples), fitted=choice.fitted, reason=choice.reason,
        sentence=describe(choice, len(replayed.examples), sources, repo.name),
        commit=str(manifest["commit"]),
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        params_version=params.version, target_precision=target_precision, sources=sources,
        table=[asdict(row) for row in table], windows=replayed.windows,
        skipped=dict(replayed.skipped), negatives=len(negatives))
    save_calibration(calibration_file(settings, repo.path), calibration)
    return calibration


def _skips(skipped: Mapping[str, int]) -> str:
    """Counts by reason: "fix already in the code: 3, its files did not exist yet: 1"."""
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items()))


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
    skipped = f"; skipped {_skips(calibration.skipped)}" if calibration.skipped else ""
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
    from navbot.cli import ProgressBar

    settings = load_settings(home=(ctx.obj or {}).get("home"))
    progress = ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    try:
        calibration = calibrate_repository(settings, target, limit, target_precision, progress,
                                           windows=windows)
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
