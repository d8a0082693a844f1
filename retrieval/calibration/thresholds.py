"""Choosing a posting threshold from replayed outcomes: pure functions.

Each replayed past fix gives an outcome (navbot's confidence, and whether a listed file was
right); each off-topic text asked of the repository gives a negative outcome, where any post
is a false one. Whether an outcome posts at a threshold is the one gate's decision
(`retrieval.gate.files_verdict`). Posting at a threshold gives a precision, a coverage and a
false-post rate; the threshold chosen is the lowest whose precision is confidently (Wilson
lower bound) at least the target and whose false-post rate is within its bound.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from retrieval.calibration.stored import MAX_FALSE_POST_RATE, MIN_POSTED, TARGET_PRECISION
from retrieval.confidence import LISTED_FILES
from retrieval.gate import files_verdict

GRID_STEP = 0.05
# One-sided 90% confidence: a threshold is chosen only when its precision is very likely
# at least the target, not when a handful of lucky posts happened to reach it.
CONFIDENCE_Z = 1.2816


@dataclass(frozen=True)
class Outcome:
    """How navbot did on one example: its confidence, and whether a top file was right.

    `about`, `lexical` and `has_files` are what the gate saw besides confidence; `negative`
    marks a text no file answers, where a post is false whatever it lists.
    """

    confidence: float
    hit: bool
    about: float = 1.0
    lexical: bool = True
    negative: bool = False
    has_files: bool = True

    def posts(self, threshold: float, about_threshold: float = 0.0) -> bool:
        """Whether the gate would post this example's files at `threshold`."""
        return files_verdict(self.has_files, self.lexical, self.about, about_threshold,
                             self.confidence, threshold).post


@dataclass(frozen=True)
class ThresholdRow:
    """What posting at one threshold would have given: precision None when nothing posted.

    `lower_bound` is the precision's Wilson lower confidence bound (CONFIDENCE_Z).
    """

    threshold: float
    precision: float | None
    coverage: float
    posted: int
    lower_bound: float | None = None
    false_posts: int = 0  # negatives that would get a post
    negatives: int = 0

    @property
    def false_post_rate(self) -> float | None:
        """The share of negatives that would get a post; None without negatives."""
        return self.false_posts / self.negatives if self.negatives else None


@dataclass(frozen=True)
class Choice:
    """The threshold to use, what it measured, and whether it was fitted or a fallback."""

    threshold: float
    precision: float | None
    coverage: float
    posted: int
    fitted: bool
    reason: str


def outcome_of(confidence: float, ranked: Sequence[str], gold: Collection[str],
               about: float = 1.0, lexical: bool = True) -> Outcome:
    """The outcome of one example from navbot's ranked files; no files is a miss never posted.

    Empty `gold` makes it a negative: a text no file answers.
    """
    if not ranked:
        return Outcome(0.0, False, about, lexical, negative=not gold, has_files=False)
    return Outcome(confidence, any(path in gold for path in ranked[:LISTED_FILES]), about,
                   lexical, negative=not gold)


def threshold_grid(extra: Iterable[float] = ()) -> list[float]:
    """Thresholds from GRID_STEP to 1 - GRID_STEP, plus `extra` (such as the default one)."""
    steps = round(1 / GRID_STEP)
    return sorted({round(i * GRID_STEP, 4) for i in range(1, steps)} | set(extra))


def wilson_lower_bound(hits: int, trials: int, z: float = CONFIDENCE_Z) -> float | None:
    """The Wilson score lower bound of a success rate; None without trials.

    Unlike the observed rate it stays well below 1 for 10 hits out of 10, so small samples
    cannot make a threshold look safe.
    """
    if trials == 0:
        return None
    rate = hits / trials
    spread = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return (rate + z * z / (2 * trials) - spread) / (1 + z * z / trials)


def threshold_table(outcomes: Sequence[Outcome], grid: Iterable[float],
                    about_threshold: float = 0.0) -> list[ThresholdRow]:
    """Precision, its lower bound, coverage and false posts at each threshold of `grid`."""
    positives = [o for o in outcomes if not o.negative]
    negatives = [o for o in outcomes if o.negative]
    rows = []
    for threshold in sorted(grid):
        posted = [o for o in positives if o.posts(threshold, about_threshold)]
        hits = sum(o.hit for o in posted)
        rows.append(ThresholdRow(threshold, hits / len(posted) if posted else None,
                                 len(posted) / len(positives) if positives else 0.0,
                                 len(posted), wilson_lower_bound(hits, len(posted)),
                                 sum(o.posts(threshold, about_threshold) for o in negatives),
                                 len(negatives)))
    return rows


def choose_threshold(table: Sequence[ThresholdRow], target_precision: float = TARGET_PRECISION,
                     min_posted: int = MIN_POSTED, *, fallback: float,
                     max_false_post_rate: float = MAX_FALSE_POST_RATE) -> Choice:
    """The lowest threshold whose precision is ≥ `target_precision` with confidence, and
    whose false-post rate on negatives is at most `max_false_post_rate`.

    A threshold qualifies when at least `min_posted` posts were measured, the Wilson lower
    bound of their precision reaches the target, and (when negatives were asked) few enough
    of them would get a post. When none does, the `fallback` (the default threshold) with
    what it measured, and why nothing was fitted.
    """
    negatives = any(row.negatives for row in table)
    for row in sorted(table, key=lambda r: r.threshold):
        if row.posted >= min_posted and row.lower_bound is not None \
                and row.lower_bound >= target_precision \
                and (row.false_post_rate or 0.0) <= max_false_post_rate:
            return Choice(row.threshold, row.precision, row.coverage, row.posted, True,
                          f"the lowest threshold whose precision is at least "
                          f"{target_precision:.0%} with 90% confidence, over at least "
                          f"{min_posted} posts"
                          + (f", posting on at most {max_false_post_rate:.0%} of "
                             f"{row.negatives} off-topic issues" if negatives else ""))
    at_fallback = next((r for r in table if r.threshold == fallback), None)
    measured = [r for r in table if r.posted >= min_posted and r.precision is not None]
    if not any(r.posted for r in table):
        reason = "no past fix was confident enough to post at any threshold"
    elif negatives and measured and not any((r.false_post_rate or 0.0) <= max_false_post_rate
                                            for r in measured):
        reason = (f"at every threshold with enough posts, more than {max_false_post_rate:.0%} "
                  f"of the off-topic issues would get a post")
    elif not measured:
        reason = (f"fewer than {min_posted} past fixes would have been posted at any "
                  f"threshold, too few to measure precision")
    else:
        best = max(measured, key=lambda r: (r.lower_bound or 0.0, -r.threshold))
        reason = (f"no threshold reached {target_precision:.0%} precision with 90% "
                  f"confidence over at least {min_posted} posts (best: {best.precision:.0%} "
                  f"at {best.threshold:.2f} over {best.posted} posts, at least "
                  f"{best.lower_bound or 0.0:.0%} with 90% confidence)")
    if at_fallback is None:
        return Choice(fallback, None, 0.0, 0, False, reason)
    return Choice(fallback, at_fallback.precision, at_fallback.coverage, at_fallback.posted,
                  False, reason)
