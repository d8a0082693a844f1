"""The `navbot` admin command line.

Handlers are thin: they build Settings, call the core, and print. Every NavbotError becomes
a one-line message with its exit code, never a traceback.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from navbot import __version__
from navbot.cli.progress import ProgressBar
from navbot.core.config import Settings, load_settings
from navbot.core.errors import HomeError, InputError, Interrupted, NavbotError
from navbot.core.gc_pause import paused_gc
from navbot.core.home import require_writable_home

if TYPE_CHECKING:
    from navbot.evaluation.negatives import Negative

INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE: a bug in navbot, not bad input
#: What the system answers when it refuses to let a file be made or written.
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                     errno.ENOTDIR})


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
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # usage errors and exits: click prints and exits as usual
        except Exception as exc:  # the outermost layer: a bug still gets a clean message
            if isinstance(exc, OSError) and exc.errno in REFUSED and exc.filename:
                # A read-only or full disk, an immutable directory: not a bug, and the
                # home checked up front cannot foresee every file a command opens.
                error = HomeError(f"{exc.strerror}: {exc.filename}")
            else:
                if (ctx.obj or {}).get("debug"):
                    raise
                click.echo(f"navbot: internal error: {type(exc).__name__}: {exc} (this is a "
                           "bug; rerun with --debug for the traceback)", err=True)
                ctx.exit(INTERNAL_ERROR_EXIT)
        # One line, whatever a library put in the message.
        click.echo(f"navbot: error: {' '.join(str(error).split())}", err=True)
        ctx.exit(error.exit_code)


def _settings(ctx: click.Context, *, writes: bool = True, **overrides: object) -> Settings:
    """Settings for a command; one that `writes` first checks that the home can be written."""
    base: dict[str, object] = ctx.obj or {}
    settings = load_settings(home=base.get("home"), **overrides)
    if writes:
        require_writable_home(settings.home)
    return settings


def decode_issue(data: bytes, source: str) -> str:
    """An issue's text: UTF-8 (a BOM is fine) without NUL bytes, else InputError on `source`."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        raise InputError(f"{source} is not UTF-8 text: byte {data[offset]:#04x} at byte "
                         f"offset {offset} ({exc.reason})") from None
    if "\0" in text:
        # Valid UTF-8 but binary: no issue's text holds a NUL byte.
        raise InputError(f"{source} is not text: a NUL byte at byte offset {data.index(0)}")
    return text


@click.group(cls=NavbotGroup)
@click.version_option(__version__, prog_name="navbot")
@click.option("--home", type=click.Path(path_type=Path), help="Data directory (NAVBOT_HOME).")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.pass_context
def main(ctx: click.Context, home: Path | None, debug: bool) -> None:
    """navbot: point maintainers at the code that matters for an issue."""
    ctx.obj = {"home": home, "debug": debug}


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--commit", default="HEAD", show_default=True, help="Commit to index.")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of incrementally.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def index(ctx: click.Context, path: Path, commit: str, full: bool, as_json: bool) -> None:
    """Index the git repository at PATH (a clone or a bare mirror)."""
    from bot.state.runs import StateLedger
    from indexer.build import Indexer
    from indexer.gitrepo import GitRepo
    from retrieval.llm_questions import index_llm
    from retrieval.searcher import SearchBuilder, embedder_for

    settings = _settings(ctx)
    progress = ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    # The collector stays paused from the index to the saved search: the imports in between
    # would otherwise rescan every object of the index held in memory. The process ends
    # right after, so what it built is frozen rather than walked once more.
    try:
        with paused_gc(freeze=True):
            result = Indexer(settings, progress).index(path, commit=commit, full=full)
            mark = time.perf_counter()
            builder = SearchBuilder(settings, GitRepo(path), result.repo,
                                    embedder_for(settings), progress,
                                    index_llm(settings, StateLedger(settings)))
            _, synced = builder.build_and_save(result.facts, result.graph, result.commit)
            embed_seconds = time.perf_counter() - mark
    finally:
        progress.close()
    summary = result.summary()
    summary["embedded"] = synced.embedded if synced else 0
    summary["embed_seconds"] = round(embed_seconds, 3) if synced else 0.0
    if as_json:
        click.echo(json.dumps(summary))
        return
    mode = "incremental" if result.incremental else "full"
    embedded = (f"; embedded {synced.embedded} new or changed questions "
                f"({embed_seconds:.1f}s)" if synced else "")
    click.echo(
        f"indexed {path} at {result.commit[:12]} ({mode}, {result.seconds:.1f}s): "
        f"{summary['files']} files, {summary['symbols']} symbols, {summary['commits']} commits, "
        f"{summary['edges']} edges{embedded}"
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
    from indexer.describe import describe
    from indexer.store import IndexStore

    store = IndexStore.for_path(_settings(ctx, writes=False), path)
    info = describe(store.load_graph().to_networkx(), target)
    click.echo(json.dumps(info, indent=1) if as_json else _format_description(info))


def _format_localization(found: dict[str, Any]) -> str:
    verdict = ("would post" if found["would_post"]
               else f"would stay silent: {found['verdict']}")
    lines = [f"confidence {found['confidence']:.2f} (threshold {found['threshold']:.2f}), "
             f"about this code {found['about']:.2f}: {verdict}; index at "
             f"{found['index_commit'][:12]}", "", "files:"]
    if found.get("message"):
        lines.append(f"  ({found['message']})")
    for rank, item in enumerate(found["files"], start=1):
        lines.append(f"  {rank}. {item['path']}")
        lines.extend(f"       - {why}" for why in item["evidence"])
    if found.get("related"):
        lines.append("related past fixes (leads to check, not duplicates):")
        lines.extend(f"  {', '.join(r['issues'])}: {r['change']}" for r in found["related"])
    lines.append("symbols:")
    for item in found["symbols"]:
        lines.append(f"  {item['path']}::{item['name']}  lines "
                     f"{item['lines'][0]}-{item['lines'][1]}")
        lines.extend(f"       - {why}" for why in item["evidence"])
    return "\n".join(lines)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("issue", required=False)
@click.option("--issue-file", type=click.File("rb"),
              help="Read the issue's title and body from a UTF-8 file ('-' for stdin).")
@click.option("--commit", help="Answer at this commit (indexing it if needed).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def ask(ctx: click.Context, path: Path, issue: str | None, issue_file: Any,
        commit: str | None, limit: int, as_json: bool) -> None:
    """Find the files and symbols an ISSUE's text is about, in PATH (indexed first if needed)."""
    from bot.state.runs import StateLedger
    from retrieval.locate import locate
    from retrieval.params import default_params, posting_threshold
    from retrieval.searcher import open_search

    if issue_file is not None:
        name = getattr(issue_file, "name", "<stdin>")  # a pipe may have no name
        text = decode_issue(issue_file.read(), f"--issue-file {name}")
    else:
        # The shell may pass bytes that are not UTF-8; Python keeps them as surrogates.
        text = decode_issue(os.fsencode(issue or ""), "the ISSUE argument")
    if not text or not text.strip():
        raise click.UsageError("give the issue's text as an argument or with --issue-file")
    settings = _settings(ctx)
    progress = ProgressBar(enabled=sys.stderr.isatty() and not as_json)
    with paused_gc(freeze=True):  # as in `index`: loading the search and importing chroma, torch
        try:
            search, manifest = open_search(settings, path, commit, progress,
                                           ledger=StateLedger(settings))
        finally:
            progress.close()
        localization = locate(search, text, default_params(), limit=limit)
    threshold = posting_threshold(settings.post_threshold)
    verdict = localization.verdict(threshold, default_params().about_threshold)
    found = localization.to_json()
    found["index_commit"] = manifest["commit"]
    found["threshold"] = threshold
    found["would_post"] = verdict.post
    found["silence"] = verdict.silence.value if verdict.silence else None
    found["verdict"] = verdict.reason
    if not search.corpus.files:
        found["message"] = ("nothing to search: the repository has no files in a supported "
                            "language")
    elif not found["files"]:
        found["message"] = "no file matches the issue"
    click.echo(json.dumps(found, indent=1) if as_json else _format_localization(found))


@main.command("eval")
@click.argument("data", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--repos", "repos_dir", required=True,
              type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Directory of clones or mirrors, as owner+name or owner/name.")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate the first N instances.")
@click.option("--repo", help="Only instances of this owner/name.")
@click.option("--instances", "instance_ids", multiple=True,
              help="Only these instance ids (comma-separated or repeated).")
@click.option("--no-llm", is_flag=True,
              help="Localize without an LLM (the only mode until an LLM is configured).")
@click.option("--foreign", "foreign_per_repo", type=click.IntRange(min=0), default=12,
              show_default=True,
              help="Issues of the other repositories asked of each one (a fixed-seed sample).")
@click.option("--all-foreign", is_flag=True,
              help="Ask every issue of the other repositories, not a sample.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write instances.csv, signals.jsonl and negatives.jsonl (row by row) and "
                   "results.json here.")
@click.pass_context
def eval_command(ctx: click.Context, data: Path, repos_dir: Path, limit: int | None,
                 repo: str | None, instance_ids: tuple[str, ...], no_llm: bool,
                 foreign_per_repo: int, all_foreign: bool, as_json: bool,
                 out_dir: Path | None) -> None:
    """Measure localization on DATA (JSONL issues with gold files) beside a BM25 baseline,
    and silence on foreign and off-topic issues asked of each repository."""
    from navbot.evaluation.data import load_dataset, select
    from navbot.evaluation.negatives import foreign_issues, offtopic_issues
    from navbot.evaluation.progress import EvalProgress
    from navbot.evaluation.report import SIGNAL_KEYS, CsvLog, JsonlLog, markdown, summary
    from navbot.evaluation.runner import EvalRun
    from retrieval.offtopic import offtopic_corpus
    from retrieval.params import default_params, posting_threshold

    settings = _settings(ctx)
    dataset = load_dataset(data)
    ids = [i.strip() for chunk in instance_ids for i in chunk.split(",") if i.strip()]
    chosen = select(dataset.instances, repo=repo, ids=ids or None, limit=limit)
    if not chosen:
        reasons = "".join(f"\n  {s.instance_id}: {s.reason}" for s in dataset.skipped[:5])
        raise click.UsageError(f"no usable instances match in {data}{reasons}")
    logs: list[CsvLog | JsonlLog] = [] if out_dir is None else [
        CsvLog(out_dir / "instances.csv"), JsonlLog(out_dir / "signals.jsonl", SIGNAL_KEYS)]
    progress = EvalProgress(len(chosen), bar=sys.stderr.isatty(), logs=logs,
                            negative_log=None if out_dir is None
                            else JsonlLog(out_dir / "negatives.jsonl"))
    offtopic = offtopic_issues(offtopic_corpus())

    def negatives_for(slug: str) -> list[Negative]:
        per_repo = None if all_foreign else foreign_per_repo
        return foreign_issues(slug, dataset.instances, per_repo) + offtopic

    run = EvalRun(settings, repos_dir, default_params(),
                  posting_threshold(settings.post_threshold), progress, negatives_for,
                  progress.negative)
    try:
        report = run.run(chosen, dataset.skipped)
    finally:
        progress.close()
    result = summary(report)
    if out_dir is not None:
        (out_dir / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    click.echo(json.dumps(result) if as_json else markdown(result))
    if report.interrupted:
        raise Interrupted(f"interrupted after {len(report.records)} instances; "
                          "the results above are partial")


def _register_app_commands() -> None:
    from navbot.cli import calibrate as cli_calibrate
    from navbot.cli import pause as cli_pause
    from navbot.cli import runs as cli_runs
    from navbot.cli.app import serve, status, worker

    for command in (serve, worker, status):
        main.add_command(command)
    cli_runs.register(main)
    cli_calibrate.register(main)
    cli_pause.register(main)


_register_app_commands()
