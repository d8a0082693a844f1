"""Showing an eval run as it goes: a bar with time left on a terminal, one line each otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from navbot.evaluation.data import Skipped
from navbot.evaluation.report import CsvLog, JsonlLog


class EvalProgress:
    """Run listener: updates the bar or prints a line, and appends each record to the logs."""

    def __init__(self, total: int, bar: bool, logs: Sequence[CsvLog | JsonlLog] = (),
                 negative_log: JsonlLog | None = None) -> None:
        self.total = total
        self.done = 0
        self.logs = logs
        self.negative_log = negative_log
        self._bar: Any = None
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="issue", file=sys.stderr)

    def _say(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def __call__(self, repo: str, outcome: dict[str, Any] | Skipped) -> None:
        """Record one finished or skipped instance."""
        if isinstance(outcome, Skipped):
            self._say(f"navbot: skipped {outcome.instance_id}: {outcome.reason}")
            return
        self.done += 1
        for log in self.logs:
            log.write(outcome)
        if self._bar is not None:
            self._bar.set_description(repo)
            self._bar.update(1)
            return
        ranks = outcome["file_ranks"]
        self._say(f"[{self.done}/{self.total}] {outcome['instance_id']}: gold file ranks "
                  f"{ranks} (BM25 {outcome['bm25_file_ranks']}), confidence "
                  f"{outcome['confidence']:.2f}, index {outcome['index_mode']} "
                  f"{outcome['index_s']:.1f}s")

    def negative(self, repo: str, record: dict[str, Any]) -> None:
        """Record one negative asked of `repo`; say so when navbot would have posted."""
        if self.negative_log is not None:
            self.negative_log.write(record)
        if record["would_post"]:
            self._say(f"navbot: would post on {record['kind']} issue {record['id']} asked of "
                      f"{repo} (confidence {record['confidence']:.2f}, about "
                      f"{record['about']:.2f})")

    def close(self) -> None:
        """Close the bar and the logs."""
        if self._bar is not None:
            self._bar.close()
        for log in self.logs:
            log.close()
        if self.negative_log is not None:
            self.negative_log.close()
