"""What stages need from the outside world, gathered by the worker (or a test) for one run.

Stages read plain data and call the few edges passed in here (search, graph, LLM, GitHub);
nothing in a stage reaches for settings or the network on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.repo_config import RepoConfig
from retrieval.params import Params
from retrieval.related_issues import PastItem

if TYPE_CHECKING:
    from bot.github_data import IssueComments
    from bot.state.records import Thread
    from indexer.graph import GraphData
    from navbot.llm.client import LLMClient
    from retrieval.calibration.stored import Calibration
    from retrieval.search_index import SearchIndex


@dataclass(frozen=True)
class IndexedRepo:
    """Where the answer comes from: the repository and the state of its index."""

    full_name: str
    default_branch: str
    index_commit: str
    index_age_s: float
    clone: Path | None = None  # the local repository, for checking suggested diffs


@dataclass(frozen=True)
class Thresholds:
    """The gate of each section, and where it came from."""

    files: float
    changes: float
    related: float
    source: str  # "repository config" | "calibration" | "default"
    track_record: str | None = None  # calibration's sentence, for the comment's footer


def section_thresholds(config: RepoConfig, calibration: Calibration | None,
                       default_files: float, default_related: float) -> Thresholds:
    """Each section's gate: the repository's config, else its calibration, else defaults."""
    record = calibration.sentence if calibration and calibration.fitted else None
    if config.threshold is not None:
        files, source = float(config.threshold), "repository config"
    elif calibration is not None and calibration.fitted:
        files, source = calibration.threshold, "calibration"
    else:
        files, source = default_files, "default"
    changes = float(config.changes_threshold) if config.changes_threshold is not None else files
    related = (float(config.related_threshold) if config.related_threshold is not None
               else default_related)
    return Thresholds(files, changes, related, source, record)


@dataclass
class RunEnv:
    """The edges and data one run uses; loaders are called only by stages that need them."""

    repo: IndexedRepo
    search: Callable[[], SearchIndex]
    client: IssueComments  # where the answer is posted
    config: RepoConfig
    params: Params
    thresholds: Thresholds
    graph: Callable[[], GraphData] | None = None
    items: Sequence[PastItem] = ()
    title_similarity: Mapping[int, float] = field(default_factory=dict)
    llm: LLMClient | None = None  # only a usable client (configured, or replaying)
    notes: Callable[[], list[str]] = list
    keepalive: Callable[[], None] = lambda: None  # renews the issue lock after each stage
    secrets: tuple[str, ...] = ()  # never posted, whatever a model writes
    thread: Thread | None = None
    paused: Callable[[], str | None] = lambda: None  # the kill switch, asked before writes
