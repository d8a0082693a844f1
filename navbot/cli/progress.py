"""Per-stage progress bars for the long commands (index, eval, calibrate)."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    """Per-stage tqdm bars on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = {"parse": "file", "embed": "text"}.get(stage, "commit")
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit=unit, file=sys.stderr,
                                          leave=False)
        bar.update(done - bar.n)

    def close(self) -> None:
        """Close every bar."""
        for bar in self.bars.values():
            bar.close()
