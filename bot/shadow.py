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


def closing_fixes(items: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The first merged PR that closes each issue, by issue number (ingested items)."""
    fixes: dict[int, Mapping[str, Any]] = {}
    for item in sorted(items, key=lambda i: int(i["number"])):
        if item.get("kind") != "pr" or not item.get("merged") or not item.get("files"):
            continue
        for number in item.get("closes") or ():
            fixes.setdefault(int(number), item)
    return fixes


def score(answers: Iterable[ShadowAnswer], items: Iterable[Mapping[str, Any]]
          ) -> list[ShadowAnswer]:
    """The unscored answers a merged fix now closes, each with the fix and whether it hit."""
    fixes = closing_fixes(items)
    scored = []
    for answer in answers:
        fix = fixes.get(answer.number)
        if answer.hit is not None or fix is None:
            continue
        changed = set(fix["files"])
        scored.append(replace(answer, fix=int(fix["number"]),
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
    counts = dict.fromkeys(("would_post", "silent", "scored_posts", "right_posts",
                            "scored_silent", "right_silent"), 0)
    for answer in answers:
        kind = "posts" if answer.would_post else "silent"
        counts["would_post" if answer.would_post else "silent"] += 1
        if answer.hit is not None:
            counts[f"scored_{kind}"] += 1
            counts[f"right_{kind}"] += int(answer.hit)
    return TrackRecord(**counts)
