"""The shipped off-topic corpus: issues no codebase answers, navbot's negatives.

`offtopic.jsonl` (package data beside this module) holds realistic issue texts of the kinds
a real tracker is full of: install and usage questions, community, release and packaging
requests, spam, test posts, one-word reports, other products' bugs, hardware, requests about
the documentation site. Each row was put once, by category, in the `fit` half (which fitting
may use) or the `held_out` half (which only measures). The eval and calibration ask them of
a repository's index, where navbot must stay silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from navbot.core.errors import ConfigError


class Split(StrEnum):
    """Which half of the corpus a text is in."""

    FIT = "fit"
    HELD_OUT = "held_out"


@dataclass(frozen=True)
class OfftopicText:
    """One off-topic issue."""

    id: str
    category: str
    split: Split
    title: str
    body: str

    @property
    def text(self) -> str:
        """The issue as navbot reads it: title, a blank line, body."""
        return f"{self.title}\n\n{self.body}"


@cache
def offtopic_corpus() -> tuple[OfftopicText, ...]:
    """Every text of the shipped corpus, in file order."""
    raw = resources.files("retrieval").joinpath("offtopic.jsonl").read_text(encoding="utf-8")
    try:
        return tuple(OfftopicText(row["id"], row["category"], Split(row["split"]),
                                  row["title"], row["body"])
                     for row in map(json.loads, raw.splitlines()) if row)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"the packaged off-topic corpus is malformed: {exc}") from None
