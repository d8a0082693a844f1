"""One analysis run from start (or resume) to finish: the stages in order, and the record."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from bot.pipeline import compose, locate, post, related, suggest, understand
from bot.pipeline.env import RunEnv
from bot.pipeline.model import Composed, Located, Posted, Related, Suggestion, Understanding
from bot.pipeline.runner import Run, RunInputs, StageSpec, execute

if TYPE_CHECKING:
    from bot.state.runs import RunStore
    from navbot.llm.client import RunBudget

log = logging.getLogger("navbot.pipeline")

STAGES = (
    StageSpec("understand", Understanding, understand.run),
    StageSpec("locate", Located, locate.run),
    StageSpec("related", Related, related.run),
    StageSpec("suggest", Suggestion, suggest.run),
    StageSpec("compose", Composed, compose.run, timed=False),
    StageSpec("post", Posted, post.run, timed=False, critical=True),
)
STAGE_NAMES = tuple(spec.name for spec in STAGES)


def run_id_for(*parts: object) -> str:
    """A run id that a retry of the same job finds again (a hash of the job's ids)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def analyse(inputs: RunInputs, env: RunEnv, store: RunStore, budget: RunBudget,
            wall_s: float, job: dict[str, Any] | None = None
            ) -> Run | None:
    """Run (or resume) the analysis; None when this run already finished before.

    `job` holds the arguments of the job running it, kept with the run for its trace; a
    worker that dies mid-run has its job queued again by its lease (`bot/state/queue.py`).
    """
    if not store.start_run(inputs.run_id, inputs.repo_id, inputs.full_name, inputs.number,
                           inputs.trigger, inputs.delivery_id, job):
        log.info("run %s already finished", inputs.run_id)
        return None
    run = Run(inputs, env, store, budget, deadline=time.time() + wall_s)
    execute(run, STAGES)
    posted = run.output("post", Posted)
    composed = run.output("compose", Composed)
    reasons = dict(composed.gates) if composed else {}
    reasons.update({f"{name} failed": error for name, error in run.failures.items()})
    outcome: str
    if posted is not None:
        outcome = posted.action
        reasons["comment"] = posted.reason
        if posted.withheld is not None:
            reasons["withheld"] = posted.withheld
    else:
        outcome = "silent" if composed is not None and not composed.cleared else "composed"
    store.finish_run(inputs.run_id, "finished", outcome, reasons)
    log.info("run %s of %s#%d: %s (%s)", inputs.run_id, inputs.full_name, inputs.number,
             outcome, reasons)
    return run
