"""The shadow track record: kept answers scored by the fixes that closed their issues (pure).

In shadow mode (and while paused) navbot analyses every issue and keeps the answer it would
have posted. When a merged pull request closes such an issue, the answer is scored as the
calibration scores a replayed fix: right when a file it listed is among those the fix
changed. The record is what a maintainer reads before switching a repository to auto.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.state.records import ShadowAnswer
from retrieval.related_issues import PastItem, fixers_by_issue


def score(answers: Iterable[ShadowAnswer], items: Iterable[Mapping[str, Any]]
          ) -> list[ShadowAnswer]:
    """The unscored answers a merged fix now closes, each with the fix and whether it hit.

    The fix is the first merged PR closing the issue that changed files (`items` are the
    ingested issues and PRs, as stored).
    """
    fixers = fixers_by_issue(PastItem.from_json(item) for item in items)
    scored = []
    for answer in answers:
        fix = next((pr for pr in fixers.get(answer.number, ()) if pr.files), None)
        if answer.hit is not None or fix is None:
            continue
        changed = set(fix.files)
        scored.append(replace(answer, fix=fix.number,
                              hit=any(path in changed for path in answer.files)))
    return scored


@dataclass(frozen=True)
class TrackRecord:
    """How shadow answers went: would-be posts and silences, and those a fix scored."""

    would_post: int = 0
    silent: int = 0
    scored_posts: int = 0  # would-be posts on issues a merged fix closed
    right_posts: int = 0
    scored_silent: int = 0
    right_silent: int = 0  # silences whose listed files the fix changed: posts missed

    def sentence(self) -> str:
        """The record in one line, as `navbot status` and `navbot runs` show it."""
        posts = "issue" if self.would_post == 1 else "issues"
        line = (f"would have posted on {self.would_post} {posts} and stayed silent on "
                f"{self.silent}")
        if self.scored_posts:
            line += (f"; {self.right_posts} of the {self.scored_posts} would-be posts on "
                     f"issues a merged fix closed were right")
        else:
            line += "; no would-be post's issue has been closed by a merged fix yet"
        if self.scored_silent:
            line += (f"; {self.right_silent} of {self.scored_silent} silences would have "
                     f"been right")
        return line


def track_record(answers: Iterable[ShadowAnswer]) -> TrackRecord:
    """The track record of a repository's shadow answers."""
    answers = list(answers)
    posts = [a for a in answers if a.would_post]
    silences = [a for a in answers if not a.would_post]
    scored_posts = [a for a in posts if a.hit is not None]
    scored_silences = [a for a in silences if a.hit is not None]
    return TrackRecord(
        would_post=len(posts), silent=len(silences),
        scored_posts=len(scored_posts), right_posts=sum(bool(a.hit) for a in scored_posts),
        scored_silent=len(scored_silences),
        right_silent=sum(bool(a.hit) for a in scored_silences))
