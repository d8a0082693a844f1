"""Plain records navbot keeps in its state database, shared by the pure core and the store."""

from __future__ import annotations

from dataclasses import dataclass


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
