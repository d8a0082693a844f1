"""Issue and pull-request references in commit messages: pure text parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The words GitHub reads as closing an issue ("Fixes #3"), as a regex alternation.
CLOSING_KEYWORDS = r"close[sd]?|fix(?:e[sd])?|resolve[sd]?"
_TARGET = r"(?:(?P<slug>[\w.-]+/[\w.-]+)#|https?://[^\s/]+/(?P<urlslug>[\w.-]+/[\w.-]+)/(?:issues|pull)/|#|GH-)(?P<num>\d+)"
_CLOSING = re.compile(rf"\b(?:{CLOSING_KEYWORDS})\b:?\s+{_TARGET}", re.IGNORECASE)
_ANY = re.compile(rf"(?<![\w&/]){_TARGET}\b")
_MERGE_PR = re.compile(r"^Merge pull request #(?P<num>\d+) from (?P<branch>\S+)")
_SQUASH_PR = re.compile(r"\(#(?P<num>\d+)\)\s*$")


@dataclass(frozen=True)
class IssueRef:
    """A reference to issue `number` in `repo` (None: this repository)."""

    number: int
    repo: str | None
    closing: bool


@dataclass(frozen=True)
class PullRequestInfo:
    """A pull request recognized from its merge or squash commit."""

    number: int
    title: str
    squash: bool


def pull_request_of(message: str) -> PullRequestInfo | None:
    """The PR a merge commit ("Merge pull request #12 …") or squash title ("… (#12)") lands."""
    subject, _, body = message.partition("\n")
    merged = _MERGE_PR.match(subject)
    if merged:
        title = body.strip().split("\n", 1)[0].strip() or merged["branch"]
        return PullRequestInfo(int(merged["num"]), title, squash=False)
    squashed = _SQUASH_PR.search(subject)
    if squashed:
        return PullRequestInfo(int(squashed["num"]), subject[: squashed.start()].strip(),
                               squash=True)
    return None


def issue_refs(message: str, repo: str | None = None, skip: int | None = None
               ) -> list[IssueRef]:
    """Every issue a message references, closing ones flagged; `skip` drops the PR's own number.

    References to `repo` itself (owner/name) count as local ones.
    """
    if "#" not in message and "gh-" not in message.lower() and "/issues/" not in message \
            and "/pull/" not in message:
        return []  # the common case, and far cheaper than the regexes
    found: dict[tuple[int, str | None], IssueRef] = {}
    for match, closing in [(m, True) for m in _CLOSING.finditer(message)] + [
        (m, False) for m in _ANY.finditer(message)
    ]:
        slug = match["slug"] or match["urlslug"]
        if slug is not None and repo is not None and slug.lower() == repo.lower():
            slug = None
        number = int(match["num"])
        if slug is None and number == skip:
            continue
        key = (number, slug)
        if key not in found:
            found[key] = IssueRef(number, slug, closing)
    return sorted(found.values(), key=lambda r: (r.repo or "", r.number))
