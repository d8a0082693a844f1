"""Stage 3, related: past issues and PRs like this one, grouped by state (pure over data)."""

from __future__ import annotations

from bot.comment import RelatedItem
from bot.pipeline.model import Related, Understanding
from bot.pipeline.runner import Run
from navbot.core.errors import PipelineError
from retrieval.related_issues import related_issues


def run(run: Run) -> Related:
    """Rank the ingested issues against this one; a possible duplicate needs strong evidence."""
    understood = run.output("understand", Understanding)
    if understood is None:
        raise PipelineError("the issue could not be read")
    min_score = run.env.thresholds.related
    found = related_issues(understood.text, run.inputs.number, run.env.items,
                           run.env.title_similarity, min_score)
    items = tuple(RelatedItem(r.number, r.title, "issue", r.group, tuple(r.evidence()),
                              r.fixed_by) for r in found)
    run.trace("related", {"items": [{"number": r.number, "group": r.group,
                                     "score": round(r.score, 3)} for r in found]})
    return Related(items=items, min_score=min_score)
