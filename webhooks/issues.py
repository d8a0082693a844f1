"""Issue events: a new, reopened or reworded issue is analysed."""

from __future__ import annotations

from typing import Any

from navbot.job import Job
from webhooks.router import repository_args, router


def is_pull_request(issue: dict[str, Any]) -> bool:
    """Whether an issue object is a pull request (GitHub sends PRs as issues in places)."""
    return bool(issue.get("pull_request"))


def analyse_job(payload: dict[str, Any], trigger: str, delivery_id: str,
                comment_id: int | None = None) -> Job:
    """The analyse_issue job for the payload's issue, started by `trigger`."""
    args = {**repository_args(payload), "number": payload["issue"]["number"],
            "trigger": trigger, "delivery_id": delivery_id}
    if comment_id is not None:
        args["comment_id"] = comment_id
    return Job("analyse_issue", args)


@router.register("issues", "opened", "reopened")
def issue_opened(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Analyse an issue when it is opened or reopened."""
    if is_pull_request(payload["issue"]):
        return []
    return [analyse_job(payload, payload["action"], delivery_id)]


@router.register("issues", "edited")
def issue_edited(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Analyse again only when the title or body changed (not labels, milestone, …)."""
    changes = payload.get("changes") or {}
    if is_pull_request(payload["issue"]) or not ({"title", "body"} & changes.keys()):
        return []
    return [analyse_job(payload, "edited", delivery_id)]
