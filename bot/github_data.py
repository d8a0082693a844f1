"""What navbot reads from GitHub: frozen dataclasses, and converters from PyGithub objects.

PyGithub is imported for type checking only, so the dataclasses load without it: the webhook
receiver must stay free of PyGithub.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment
    from github.Repository import Repository


@dataclass(frozen=True)
class RepoRef:
    """A repository the App can reach."""

    id: int
    full_name: str
    default_branch: str
    clone_url: str  # bot.github hands out only those the installation token may go to
    private: bool


@dataclass(frozen=True)
class IssueData:
    """An issue (or the issue side of a pull request) as navbot reads it."""

    number: int
    title: str
    body: str
    state: str
    state_reason: str | None
    author: str
    author_is_bot: bool
    is_pull_request: bool
    labels: tuple[str, ...]
    html_url: str
    updated_at: datetime


@dataclass(frozen=True)
class CommentData:
    """An issue comment with its thumbs-up and thumbs-down counts."""

    id: int
    body: str
    author: str
    reactions: dict[str, int]


class IssueComments(Protocol):
    """The comments of one repository's issues, as the post stage reads and writes them.

    `bot.github.RepoClient` implements it over GitHub's API; `tests/comment_fake.py` in
    memory, so the post stage runs in tests without GitHub or a flag to skip it.
    """

    def find_comment(self, number: int, marker: str) -> CommentData | None:
        """navbot's own comment on issue `number`: the first one carrying `marker`."""

    def create_comment(self, number: int, body: str) -> int:
        """Post a new comment on issue `number`; its id."""

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Replace the body of comment `comment_id`."""


@dataclass(frozen=True)
class ItemData:
    """An issue or pull request for history ingestion."""

    number: int
    kind: str
    title: str
    body: str
    state: str
    state_reason: str | None
    labels: tuple[str, ...]
    author: str
    updated_at: datetime
    merged: bool
    closes: tuple[int, ...]
    files: tuple[str, ...]


def issue_data(issue: Issue) -> IssueData:
    """A PyGithub issue as navbot reads it (reading a lazy issue's attributes fetches it)."""
    return IssueData(
        number=issue.number, title=issue.title, body=issue.body or "",
        state=issue.state, state_reason=issue.state_reason, author=issue.user.login,
        author_is_bot=issue.user.type == "Bot" or issue.user.login.endswith("[bot]"),
        is_pull_request=issue.pull_request is not None,
        labels=tuple(label.name for label in issue.labels), html_url=issue.html_url,
        updated_at=issue.updated_at)


def repo_ref(repo: Repository) -> RepoRef:
    """A PyGithub repository as a RepoRef."""
    return RepoRef(id=repo.id, full_name=repo.full_name, default_branch=repo.default_branch,
                   clone_url=repo.clone_url, private=repo.private)


def comment_data(comment: IssueComment) -> CommentData:
    """A PyGithub issue comment with only its thumbs-up and thumbs-down counts."""
    counts = comment.reactions or {}
    return CommentData(id=comment.id, body=comment.body or "", author=comment.user.login,
                       reactions={"+1": int(counts.get("+1", 0)),
                                  "-1": int(counts.get("-1", 0))})
