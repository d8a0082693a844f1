"""Pull request events: a merged PR becomes part of the history navbot learns from."""

from __future__ import annotations

from typing import Any

from bot.state.job import Job
from webhooks.payloads import PullRequestEvent, parse
from webhooks.router import repository_args, router


@router.register("pull_request", "closed")
def pull_request_closed(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Ingest history after a merge; a PR closed without merging teaches nothing."""
    event = parse(PullRequestEvent, payload)
    if not event.pull_request.merged:
        return []
    return [Job("ingest_history", repository_args(event))]
