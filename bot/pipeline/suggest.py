"""Stage 4, suggest: where the change might go, what else may need to change, and a plan.

Without an LLM the section is "where to change": the ranked symbols in the listed files,
with their lines. With one, the strong model writes a short plan and a unified diff from the
top snippets; the diff is shown only if it applies to the indexed commit, touches only
files navbot showed it, and leaves them parsing. Either way the knowledge graph adds what
else may need to change: callers, tests, subclasses, docs and files that change together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.also_change import AlsoChange
from bot.comment import SymbolHit
from bot.pipeline.model import Located, Suggestion, Understanding
from bot.pipeline.runner import Run
from navbot.core.errors import LLMError, PipelineError

if TYPE_CHECKING:
    from navbot.llm.client import LLMClient

SNIPPET_LINES = 80  # per symbol shown to the model
SNIPPET_TOKENS = 3000  # all snippets together


def run(run: Run) -> Suggestion:
    """Suggest where and how to change, from the located files and symbols."""
    located = run.output("locate", Located)
    if located is None:
        raise PipelineError("there are no located files to suggest changes in")
    listed = {f.path for f in located.files[:run.env.config.max_files]}
    where = tuple(s for s in located.symbols if s.path in listed)[:run.env.config.max_files]
    also: tuple[AlsoChange, ...] = ()
    if run.env.graph is not None and where:
        from bot.also_change import also_change
        also = tuple(also_change(run.env.graph(), [(s.path, s.name) for s in where]))
        run.trace("also_change", {"items": [[a.kind, a.path, a.reason] for a in also]})
    llm = run.llm
    understood = run.output("understand", Understanding)
    if llm is None or understood is None or not where or run.env.repo.clone is None:
        return Suggestion(where=where, also=also)
    return _with_llm(run, llm, understood, where, also)


def _with_llm(run: Run, llm: LLMClient, understood: Understanding,
              where: tuple[SymbolHit, ...], also: tuple[AlsoChange, ...]) -> Suggestion:
    from bot.diffcheck import check_diff
    from navbot.llm.client import trim_to_tokens
    from navbot.llm.outputs import parse_suggestion
    from navbot.llm.prompts import load_prompt

    clone, commit = run.env.repo.clone, run.env.repo.index_commit
    assert clone is not None
    snippets = trim_to_tokens(_snippets(run, where), SNIPPET_TOKENS)
    try:
        reply = llm.complete(load_prompt("suggest"), run.budget, run.inputs.full_name,
                             issue=trim_to_tokens(understood.text, 2000), snippets=snippets)
    except LLMError as exc:
        run.trace("llm_skipped", {"prompt": "suggest", "error": str(exc)})
        return Suggestion(where=where, also=also, dropped=f"the LLM was not available: {exc}")
    run.trace_llm(reply)
    suggested = parse_suggestion(reply.text)
    if suggested is None:
        return Suggestion(where=where, also=also, dropped="the LLM proposed no change")
    diff = suggested.diff
    dropped = None
    if diff is not None:
        check = check_diff(clone, commit, diff, allowed={s.path for s in where})
        run.trace("diff_check", {"ok": check.ok, "reason": check.reason,
                                 "files": list(check.files)})
        if not check.ok:
            dropped, diff = f"the suggested diff was dropped: {check.reason}", None
    return Suggestion(where=where, also=also, plan=suggested.plan, diff=diff, dropped=dropped)


def _snippets(run: Run, where: tuple[SymbolHit, ...]) -> str:
    """The code of the top symbols with line numbers, read at the indexed commit."""
    from indexer.gitrepo import GitRepo

    clone = run.env.repo.clone
    assert clone is not None
    repo = GitRepo(clone)
    texts: dict[str, list[str]] = {}
    parts = []
    for hit in where:
        if hit.path not in texts:
            raw = repo.read_file(run.env.repo.index_commit, hit.path)
            texts[hit.path] = raw.decode("utf-8", "replace").splitlines()
        start, end = hit.lines
        end = min(end, start + SNIPPET_LINES - 1)
        lines = texts[hit.path][start - 1:end]
        numbered = "\n".join(f"{start + i:5d} {line}" for i, line in enumerate(lines))
        parts.append(f"--- {hit.path} (lines {start}-{end}, {hit.name})\n{numbered}")
    return "\n\n".join(parts)
