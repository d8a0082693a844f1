"""What each stage of the pipeline produces: frozen dataclasses, saved as JSON checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.also_change import AlsoChange
from bot.comment import Answer, FileHit, RelatedItem, SymbolHit
from bot.decide import CommentAction


@dataclass(frozen=True)
class Understanding:
    """The issue as the pipeline reads it: its text, shape and the queries built from it."""

    text: str
    shape: str  # "traceback" | "code" | "prose"
    extra_queries: tuple[str, ...] = ()  # LLM-written variants, searched beside the text
    notes: tuple[str, ...] = ()  # maintainers' comments made while the run was going


@dataclass(frozen=True)
class Located:
    """Ranked files and symbols with evidence, and how sure retrieval is."""

    files: tuple[FileHit, ...]
    symbols: tuple[SymbolHit, ...]
    confidence: float
    lexical: bool  # a word or name of the issue occurs in the code (not embeddings alone)
    history: tuple[RelatedItem, ...] = ()  # similar past fixes found in git history
    reranked: bool = False
    about: float = 1.0  # how likely the issue is about this code at all


@dataclass(frozen=True)
class Related:
    """Past issues and PRs like this one, grouped by state."""

    items: tuple[RelatedItem, ...]
    min_score: float


@dataclass(frozen=True)
class Suggestion:
    """Where the change might go, what else may need to change, and an LLM plan if any."""

    where: tuple[SymbolHit, ...]
    also: tuple[AlsoChange, ...] = ()
    plan: str | None = None
    diff: str | None = None
    dropped: str | None = None  # why an LLM suggestion was not kept


@dataclass(frozen=True)
class Composed:
    """The answer, the sections that cleared their gates, and each gate's reason."""

    answer: Answer
    cleared: frozenset[str]
    gates: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """What happened to the one comment."""

    action: CommentAction
    comment_id: int | None
    reason: str
    fingerprint: str
    thumbs_up: int = 0
    thumbs_down: int = 0
    withheld: str | None = None  # why nothing was written (shadow mode, a pause), if so
