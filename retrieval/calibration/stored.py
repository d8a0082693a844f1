"""A repository's stored calibration: its measured posting threshold, kept beside its index.

Written by `navbot calibrate`; read by the worker (the files gate and the comment's footer)
and `navbot status`. Light on purpose: reading it must not load retrieval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from navbot.core.atomic import write_atomically
from navbot.core.config import Settings
from navbot.core.errors import RepositoryError

CALIBRATION_FILE = "calibration.json"
TARGET_PRECISION = 0.9
MIN_POSTED = 10  # fewer posts than this make any precision a guess
# At most this share of the shipped off-topic corpus may get a post at a calibrated threshold.
MAX_FALSE_POST_RATE = 0.02
DEFAULT_LIMIT = 200  # past fixes replayed, newest first
DEFAULT_WINDOWS = 4  # time windows they are cut into, each replayed before its fixes
BEFORE_EACH_FIX = "before each fix"
# How calibrations written before replays moved back in time were measured: optimistic,
# since the code searched already held every fix.
AT_INDEXED_COMMIT = "at the indexed commit"


@dataclass
class Calibration:
    """A repository's measured threshold, how it was measured, and the sentence saying so."""

    repository: str
    path: str
    threshold: float
    precision: float | None
    coverage: float
    posted: int
    examples: int
    fitted: bool
    reason: str
    sentence: str
    commit: str
    computed_at: str
    params_version: int | None
    target_precision: float
    sources: dict[str, int] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)
    method: str = BEFORE_EACH_FIX
    # Per window: the cut commit replayed against, how many fixes it replayed, and
    # {reason: count} of those it skipped.
    windows: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    negatives: int = 0  # off-topic texts asked of the repository (0: none, an older file)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form: what `calibration.json` and `--json` hold."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        """Read back what :meth:`to_json` wrote, including files older than `method`."""
        return cls(**{"method": AT_INDEXED_COMMIT, **data})


def calibration_file(settings: Settings, path: Path) -> Path:
    """Where the calibration of the repository at `path` lives: beside its index."""
    from indexer.store import IndexStore

    return IndexStore.for_path(settings, path).root / CALIBRATION_FILE


def save_calibration(target: Path, calibration: Calibration) -> None:
    """Write `calibration` to `target` atomically."""
    write_atomically(target, (json.dumps(calibration.to_json(), indent=1) + "\n").encode())


def load_calibration(settings: Settings, path: Path) -> Calibration | None:
    """The stored calibration of the repository at `path`, or None when there is none.

    One made at an older index commit is still returned (a threshold stays useful as the
    code moves on); its `commit` says where it was measured. An unreadable file, or a path
    that is no repository, counts as none: navbot falls back to the default threshold.
    """
    try:
        return Calibration.from_json(json.loads(calibration_file(settings, path).read_text()))
    except (RepositoryError, OSError, ValueError, TypeError):
        return None


def describe_skips(skipped: Mapping[str, int]) -> str:
    """Counts by reason: "fix already in the code: 3, its files did not exist yet: 1"."""
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(skipped.items()))
