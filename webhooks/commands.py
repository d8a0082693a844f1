"""`/navbot` commands in issue comments: run, rerun, help and stop."""

from __future__ import annotations

import re
from typing import Any

from bot.state.job import COMMANDS, MAINTAINER_ASSOCIATIONS, Job
from webhooks.issues import analyse_job
from webhooks.payloads import IssueCommentEvent, parse
from webhooks.router import router

COMMAND_WORD = "/navbot"
#: Who besides the issue's author may stop navbot on an issue.
STOP_ASSOCIATIONS = MAINTAINER_ASSOCIATIONS

# A CommonMark code fence: up to three spaces, then three or more backticks or tildes.
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def _closes(line: str, fence: str) -> bool:
    match = _FENCE.match(line)
    return (match is not None and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence) and not line[match.end():].strip())


def parse_command(body: str) -> str | None:
    """The first `/navbot` command in a comment body, or None when there is none.

    Only a line whose first word is `/navbot` counts, and not inside a fenced code block
    or a `>` quote, so quoting or documenting a command never triggers it.
    """
    fence: str | None = None
    for line in body.splitlines():
        if fence is not None:
            if _closes(line, fence):
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening is not None:
            fence = opening.group(1)
            continue
        words = line.split()
        # A quoted line starts with ">", so its first word is never the command.
        if not words or words[0].lower() != COMMAND_WORD:
            continue
        if len(words) == 1:
            return "run"
        word = words[1].lower()
        return word if word in COMMANDS else "help"
    return None


def by_maintainer(event: IssueCommentEvent) -> bool:
    """Whether the comment's author is a maintainer of the repository."""
    return event.comment.author_association in MAINTAINER_ASSOCIATIONS


def may_stop(event: IssueCommentEvent) -> bool:
    """Whether the commenter may stop navbot: the issue's author or a maintainer."""
    if event.comment.author_association in STOP_ASSOCIATIONS:
        return True
    author = event.issue.user.id if event.issue.user else None
    commenter = event.comment.user.id if event.comment.user else None
    return author is not None and author == commenter


@router.register("issue_comment", "created")
def comment_created(payload: dict[str, Any], delivery_id: str) -> list[Job]:
    """Analyse the issue when a new comment holds a `/navbot` command."""
    event = parse(IssueCommentEvent, payload)
    if event.issue.is_pull_request:
        return []
    command = parse_command(event.comment.body or "")
    if command is None or (command == "stop" and not may_stop(event)):
        return []
    return [analyse_job(event, command, delivery_id, comment_id=event.comment.id,
                        maintainer=by_maintainer(event))]
