"""Stage 1, understand: the issue's text (with maintainers' notes), its shape, extra queries.

With an LLM, the cheap model writes a few search queries in the words code uses; the issue's
own text stays the main query. Without one, the stage is pure text handling.
"""

from __future__ import annotations

from bot.pipeline.model import Understanding
from bot.pipeline.runner import Run
from navbot.core.errors import LLMError
from retrieval.query import parse_issue

MAX_ISSUE_CHARS = 20_000  # the LLM sees at most this much of a long issue


def run(run: Run) -> Understanding:
    """Read the issue and note how it is shaped."""
    notes = tuple(run.env.notes())
    text = f"{run.inputs.title}\n\n{run.inputs.body}"
    if notes:
        text += "\n\n" + "\n\n".join(notes)
    shape = parse_issue(text).shape
    extra: tuple[str, ...] = ()
    llm = run.llm
    if llm is not None:
        from navbot.llm.client import trim_to_tokens
        from navbot.llm.outputs import parse_queries
        from navbot.llm.prompts import load_prompt

        try:
            reply = llm.complete(load_prompt("queries"), run.budget, run.inputs.full_name,
                                 issue=trim_to_tokens(text[:MAX_ISSUE_CHARS], 2000))
        except LLMError as exc:
            run.trace("llm_skipped", {"prompt": "queries", "error": str(exc)})
        else:
            run.trace_llm(reply)
            extra = tuple(parse_queries(reply.text))
    run.trace("understood", {"shape": shape, "extra_queries": list(extra),
                             "notes": len(notes)})
    return Understanding(text=text, shape=shape, extra_queries=extra, notes=notes)

