"""Push events: a push to the default branch moves the repository's index forward."""

from __future__ import annotations

from typing import Any

from bot.state.job import Job
from webhooks.payloads import PushEvent, parse
from webhooks.router import repository_args, router


@router.register("push")
def push(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Sync the repository after a push to its default branch; other refs change nothing."""
    event = parse(PushEvent, payload)
    if event.ref != f"refs/heads/{event.repository.default_branch}" or event.deleted:
        return []
    return [Job("sync_repository", repository_args(event))]
