"""The calibration workflow: a repository's past fixes replayed, a threshold chosen, stored.

Finds the past fixes in the repository's index, replays each against the code before it
(`replay`), asks the off-topic corpus of the live search, chooses the threshold the table
supports (`thresholds`) and keeps the result beside the index (`stored`). The CLI finds the
repository and passes it in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navbot.core.config import Settings
from navbot.core.errors import CalibrationError
from retrieval.calibration.examples import describe, fix_examples
from retrieval.calibration.replay import ask_offtopic, replay_before_fixes
from retrieval.calibration.stored import (
    DEFAULT_LIMIT,
    DEFAULT_WINDOWS,
    MIN_POSTED,
    TARGET_PRECISION,
    Calibration,
    calibration_file,
    describe_skips,
    save_calibration,
)
from retrieval.calibration.thresholds import choose_threshold, threshold_grid, threshold_table
from retrieval.params import default_params, posting_threshold

if TYPE_CHECKING:
    from indexer.build import Progress
    from navbot.llm.client import UsageLedger


@dataclass(frozen=True)
class CalibrationTarget:
    """The repository to calibrate: where its git data is, its name, its ingested items."""

    path: Path
    name: str
    items: list[dict[str, Any]]


def calibrate_repository(settings: Settings, repo: CalibrationTarget, limit: int = DEFAULT_LIMIT,
                         target_precision: float = TARGET_PRECISION,
                         progress: Progress | None = None, min_posted: int = MIN_POSTED,
                         windows: int = DEFAULT_WINDOWS,
                         ledger: UsageLedger | None = None) -> Calibration:
    """Measure navbot on `repo`'s newest `limit` past fixes, choose a threshold, store it.

    The fixes are replayed in `windows` time windows, each against the code before them;
    LLM tokens (when a model is configured) count in `ledger`.
    """
    from indexer.store import IndexStore
    from retrieval.searcher import open_search

    search, manifest = open_search(settings, repo.path, None, progress, ledger=ledger)
    graph = IndexStore.for_path(settings, repo.path).load_graph()
    examples = fix_examples(graph, search.corpus.files, repo.items)[:limit]
    if not examples:
        raise CalibrationError(
            f"{repo.name}: no usable past fixes to measure on (none of its commits or merged "
            f"pull requests closes an issue with a 'Fixes #N' reference while modifying 1 to "
            f"20 indexed non-test files); navbot keeps the default threshold")
    params = default_params()
    replayed = replay_before_fixes(settings, repo.path, examples, graph, params, windows,
                                   progress, ledger)
    if not replayed.examples:
        raise CalibrationError(
            f"{repo.name}: none of its {len(examples)} past fixes could be replayed against "
            f"the code before it ({describe_skips(replayed.skipped)}); navbot keeps the default "
            f"threshold")
    fallback = posting_threshold(settings.post_threshold)
    negatives = ask_offtopic(search, params)
    table = threshold_table(replayed.outcomes + negatives, threshold_grid([fallback]),
                            params.about_threshold)
    choice = choose_threshold(table, target_precision, min_posted, fallback=fallback)
    sources = dict(Counter(example.source for example in replayed.examples))
    calibration = Calibration(
        repository=repo.name, path=str(repo.path), threshold=choice.threshold,
        precision=choice.precision, coverage=choice.coverage, posted=choice.posted,
        examples=len(replayed.examples), fitted=choice.fitted, reason=choice.reason,
        sentence=describe(choice, len(replayed.examples), sources, repo.name),
        commit=str(manifest["commit"]),
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        params_version=params.version, target_precision=target_precision, sources=sources,
        table=[asdict(row) for row in table], windows=replayed.windows,
        skipped=dict(replayed.skipped), negatives=len(negatives))
    save_calibration(calibration_file(settings, repo.path), calibration)
    return calibration
