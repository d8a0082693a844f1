"""Plain records navbot keeps in its state database, shared by the pure core and the store."""

from __future__ import annotations

from dataclasses import dataclass

#: The scope of `navbot pause --all`: every repository.
ALL_REPOSITORIES = "*"


@dataclass(frozen=True)
class Thread:
    """What navbot remembers about one issue: its comment and the last run's outcome."""

    repo_id: int
    number: int
    comment_id: int | None = None
    text_hash: str | None = None
    answer_hash: str | None = None
    stopped: bool = False
    outcome: str | None = None
    reason: str | None = None
    confidence: float | None = None
    thumbs_up: int = 0
    thumbs_down: int = 0


@dataclass(frozen=True)
class ShadowAnswer:
    """The answer a run kept instead of posting (shadow mode or a pause), and its score.

    `files` are those the comment would have listed, ranked, whether or not they cleared the
    gate (`would_post`); `fix` and `hit` are set once a merged PR closing the issue says
    whether a listed file was among those it changed.
    """

    repo_id: int
    number: int
    run_id: str
    would_post: bool
    files: tuple[str, ...]
    confidence: float
    about: float
    lexical: bool
    reason: str
    analysed_at: float
    fix: int | None = None
    hit: bool | None = None
