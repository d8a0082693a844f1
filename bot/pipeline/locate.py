"""Stage 2, locate: ranked files and symbols with evidence, and the calibrated confidence.

The same `retrieval.locate` as `navbot ask`. With an LLM, the cheap model may reorder the top
candidates; the confidence stays retrieval's, whose calibration the gates rely on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.comment import FileHit, RelatedItem, SymbolHit
from bot.pipeline.model import Located, Understanding
from bot.pipeline.runner import Run
from bot.repo_config import is_ignored
from navbot.core.errors import LLMError, PipelineError
from retrieval.locate import RankedFile, locate

if TYPE_CHECKING:
    from navbot.llm.client import LLMClient

CANDIDATES = 20
RERANKED = 8  # the LLM sees this many candidates; more would cost tokens for little
TRACED = 10


def run(run: Run) -> Located:
    """Find the files and symbols the issue is about."""
    understood = run.output("understand", Understanding)
    if understood is None:
        raise PipelineError("the issue could not be read")
    text = understood.text
    if understood.extra_queries:
        text += "\n\n" + "\n".join(understood.extra_queries)
    found = locate(run.env.search(), text, run.env.params, limit=CANDIDATES)
    ignore = run.env.config.ignore
    files = [f for f in found.files if not is_ignored(f.path, ignore)]
    run.trace("candidates", {
        "confidence": round(found.confidence, 4), "features": found.features,
        "about": round(found.about, 4), "about_features": found.about_features,
        "files": [{"path": f.path, "score": round(f.score, 5), "evidence": f.evidence}
                  for f in files[:TRACED]]})
    reranked = False
    llm = run.llm
    if llm is not None and len(files) > 1:
        files, reranked = _rerank(run, llm, understood, files)
    history = tuple(RelatedItem(0, change.change, "commit", "commit",
                                ("shares terms: " + ", ".join(change.shared_terms),),
                                fixes=tuple(change.issues))
                    for change in found.related)
    return Located(
        files=tuple(FileHit(f.path, round(f.score, 5), tuple(f.evidence)) for f in files),
        symbols=tuple(SymbolHit(s.qualname, s.path, (s.start_line, s.end_line),
                                tuple(s.evidence)) for s in found.symbols),
        confidence=round(found.confidence, 4),
        lexical=found.lexical, history=history, reranked=reranked,
        about=round(found.about, 4))


def _rerank(run: Run, llm: LLMClient, understood: Understanding, files: list[RankedFile]
            ) -> tuple[list[RankedFile], bool]:
    from navbot.llm.client import trim_to_tokens
    from navbot.llm.outputs import parse_ranking
    from navbot.llm.prompts import load_prompt

    top = files[:RERANKED]
    listing = "\n".join(f"{i + 1}. {f.path} — {f.evidence[0] if f.evidence else ''}"
                        for i, f in enumerate(top))
    try:
        reply = llm.complete(load_prompt("rerank"), run.budget, run.inputs.full_name,
                                 issue=trim_to_tokens(understood.text, 2000),
                                 candidates=listing)
    except LLMError as exc:
        run.trace("llm_skipped", {"prompt": "rerank", "error": str(exc)})
        return files, False
    run.trace_llm(reply)
    order = parse_ranking(reply.text, len(top))
    if not order:
        return files, False
    chosen = [top[i] for i in order] + [f for i, f in enumerate(top) if i not in order]
    run.trace("reranked", {"files": [f.path for f in chosen]})
    return chosen + files[RERANKED:], True
