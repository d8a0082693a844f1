"""Push events: a push to the default branch moves the repository's index forward."""

from __future__ import annotations

from typing import Any

from navbot.job import Job
from webhooks.router import repository_args, router


@router.register("push")
def push(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Sync the repository after a push to its default branch; other refs change nothing."""
    default_ref = f"refs/heads/{payload['repository']['default_branch']}"
    if payload.get("ref") != default_ref or payload.get("deleted"):
        return []
    return [Job("sync_repository", repository_args(payload))]
