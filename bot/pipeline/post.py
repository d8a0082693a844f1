"""Stage 6, gate and post: create, edit in place, or leave the one comment (GitHub edge).

In shadow mode or while paused (`bot.decide.withhold_reason`) nothing is written: the body
that would have been posted goes to the run's trace instead.

Safe to repeat: the comment is looked for by its marker before one is created, so a run
that crashed after posting edits its own comment on the retry instead of adding a second.
"""

from __future__ import annotations

from bot.comment import MARKER, answer_fingerprint, compose
from bot.decide import CommentPlan, hold_back, plan_comment, withhold_reason
from bot.pipeline.model import Composed, Posted
from bot.pipeline.runner import Run
from bot.state.records import Thread
from navbot.core.errors import PipelineError

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8  # shorter "secrets" would redact ordinary words


def redact(body: str, secrets: tuple[str, ...]) -> str:
    """`body` with every known secret replaced: no model output may leak one."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_CHARS:
            body = body.replace(secret, REDACTED)
    return body


def run(run: Run) -> Posted:
    """Post, edit or stay silent, as the gates and the thread's history say."""
    composed = run.output("compose", Composed)
    client = run.env.client
    if composed is None:
        raise PipelineError("there is no answer to post")
    number = run.inputs.number
    thread = run.env.thread or Thread(run.inputs.repo_id or 0, number)
    existing = client.find_comment(number, MARKER)
    fingerprint = answer_fingerprint(composed.answer)
    plan = plan_comment(run.inputs.trigger, composed.cleared, fingerprint, thread,
                        existing.id if existing else None)
    body = redact(compose(composed.answer), run.env.secrets)
    if plan.action == "edit" and existing is not None and existing.body == body:
        # A retry after a crash between posting and saving: the comment already says this.
        plan = CommentPlan("unchanged", "the comment already shows this answer")
    # Asked last, right before the write: a pause during the run still stops it.
    withheld = withhold_reason(run.inputs.mode, run.inputs.trigger, run.inputs.maintainer,
                               run.env.paused())
    plan = hold_back(plan, withheld)
    posted_id = existing.id if existing else None
    if plan.action == "create":
        posted_id = client.create_comment(number, body)
    elif plan.action == "edit" and existing is not None:
        client.edit_comment(existing.id, body)
    elif plan.action == "withheld":
        run.trace("withheld", {"reason": plan.reason, "body": body})
    run.trace("posted", {"action": plan.action, "reason": plan.reason,
                         "comment_id": posted_id})
    reactions = existing.reactions if existing else {}
    return Posted(action=plan.action, comment_id=posted_id, reason=plan.reason,
                  fingerprint=fingerprint, thumbs_up=reactions.get("+1", 0),
                  thumbs_down=reactions.get("-1", 0), withheld=withheld)
