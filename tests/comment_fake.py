"""An in-memory `IssueComments`: the post stage's edge without GitHub, for pipeline tests.

It implements the same protocol as `bot.github.RepoClient`, whose real HTTP behaviour the
GitHub double (`tests/github_double.py`) covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.github_data import CommentData


@dataclass
class InMemoryComments:
    """Issue comments kept in a dict: number → comments in the order they were made."""

    author: str = "navbot[bot]"
    issues: dict[int, list[CommentData]] = field(default_factory=dict)
    next_id: int = 1000

    def find_comment(self, number: int, marker: str) -> CommentData | None:
        """The first comment of this author on issue `number` that carries `marker`."""
        return next((c for c in self.issues.get(number, [])
                     if c.author == self.author and marker in c.body), None)

    def create_comment(self, number: int, body: str) -> int:
        """Add a comment by this author; its id."""
        self.next_id += 1
        self.issues.setdefault(number, []).append(
            CommentData(self.next_id, body, self.author, {}))
        return self.next_id

    def edit_comment(self, comment_id: int, body: str) -> None:
        """Replace the body of comment `comment_id`."""
        for comments in self.issues.values():
            for i, comment in enumerate(comments):
                if comment.id == comment_id:
                    comments[i] = CommentData(comment.id, body, comment.author,
                                              comment.reactions)
                    return
        raise KeyError(comment_id)

    def bodies(self, number: int) -> list[str]:
        """What issue `number`'s comments say, in order."""
        return [c.body for c in self.issues.get(number, [])]
