"""Negatives for the eval: issues navbot must stay silent on, asked of each repository's index.

Two kinds. *Foreign* issues are real issues of the other repositories in the data file: for
each repository, a fixed-seed sample of them (or all). *Off-topic* issues are the shipped
corpus (`retrieval/offtopic.jsonl`), each tagged with its half. Pure selection; the runner
asks them and the metrics count the false posts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from navbot.evaluation.data import Instance
from retrieval.offtopic import OfftopicText

SEED = 17


class NegativeKind(StrEnum):
    """Where a negative comes from."""

    FOREIGN = "foreign"
    OFFTOPIC = "offtopic"


@dataclass(frozen=True)
class Negative:
    """One text asked of a repository's index, where no file answers it."""

    kind: NegativeKind
    id: str
    text: str
    split: str  # the off-topic half ("fit" or "held_out"); the source repository if foreign


def foreign_issues(repo: str, pool: Sequence[Instance], per_repo: int | None,
                   seed: int = SEED) -> list[Negative]:
    """A fixed-seed sample of `per_repo` issues of other repositories (None: all of them)."""
    others = sorted((i for i in pool if i.repo != repo), key=lambda i: i.instance_id)
    if per_repo is not None and per_repo < len(others):
        others = random.Random(f"{seed}:{repo}").sample(others, per_repo)
    return [Negative(NegativeKind.FOREIGN, i.instance_id, i.problem_statement, i.repo)
            for i in others]


def offtopic_issues(corpus: Sequence[OfftopicText]) -> list[Negative]:
    """The off-topic corpus as negatives, each with its half."""
    return [Negative(NegativeKind.OFFTOPIC, t.id, t.text, t.split.value) for t in corpus]
