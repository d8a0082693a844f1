"""Issue events: a new, reopened or reworded issue is analysed."""

from __future__ import annotations

from typing import Any

from bot.state.job import Job
from webhooks.payloads import IssueEvent, IssuesEvent, parse
from webhooks.router import repository_args, router


def analyse_job(event: IssueEvent, trigger: str, delivery_id: str,
                comment_id: int | None = None, maintainer: bool | None = None) -> Job:
    """The analyse_issue job for the event's issue, started by `trigger`."""
    args = {**repository_args(event), "number": event.issue.number, "trigger": trigger,
            "delivery_id": delivery_id}
    if comment_id is not None:
        args["comment_id"] = comment_id
    if maintainer is not None:
        args["maintainer"] = maintainer
    return Job("analyse_issue", args)


@router.register("issues", "opened", "reopened")
def issue_opened(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Analyse an issue when it is opened or reopened."""
    event = parse(IssuesEvent, payload)
    if event.issue.is_pull_request:
        return []
    return [analyse_job(event, event.action, delivery_id)]


@router.register("issues", "edited")
def issue_edited(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Analyse again only when the title or body changed (not labels, milestone, …)."""
    event = parse(IssuesEvent, payload)
    changes = event.changes or {}
    if event.issue.is_pull_request or not ({"title", "body"} & changes.keys()):
        return []
    return [analyse_job(event, "edited", delivery_id)]
