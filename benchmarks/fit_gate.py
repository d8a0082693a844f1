"""Fit the aboutness gate: issues about a repository against issues no file of it answers.

Inputs are what `navbot eval --out DIR` writes: `signals.jsonl` (every dev issue asked of
its own repository: the positives) and `negatives.jsonl` (foreign issues, and the shipped
off-topic corpus, asked of each repository). Only `../shared/eval/` and the corpus's
fitting half are fitted on; the held-out half only measures. Nothing names a text.

    python benchmarks/fit_gate.py OUT/signals.jsonl OUT/negatives.jsonl [--base FILE]
        [--write FILE]

1. Aboutness: logistic regression of "asked of its own repository" on
   `retrieval.aboutness.ABOUT_FEATURES`, each class weighing the same in total.
2. Thresholds: on a grid of GRID_STEP, the (aboutness, confidence) pair that posts on the
   most dev issues while their posts are at least TARGET_PRECISION right and at most
   FALSE_POST_BOUND of the fitting negatives of each kind (foreign, off-topic) would be
   posted on. Confidence is replayed from the recorded signals under the base parameters.
3. The same model without the dense feature (`about_lexical`, for searches without
   embeddings), its own aboutness threshold chosen at the same confidence threshold, then
   its bias shifted so that it crosses the shared `about_threshold` where it crossed its own.
4. Leave one repository out: everything refitted without a repository (its issues, the
   negatives asked of it, and its issues asked of others), then measured on it.

`--write` writes a copy of the base parameters with the gate's coefficients, both
thresholds and the fit's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fit_params import TARGET_PRECISION, fit_logistic, scored

from retrieval.aboutness import ABOUT_FEATURES, aboutness
from retrieval.gate import files_verdict
from retrieval.params import Params, load_params

GRID_STEP = 0.05
FALSE_POST_BOUND = 0.02  # the target; the held-out half and leave-one-out measure it


@dataclass(frozen=True)
class Example:
    """One issue asked of one repository, as the gate sees it."""

    repo: str  # the repository it was asked of
    source: str  # the repository it came from ("" for off-topic texts)
    kind: str  # "positive", "foreign" or "offtopic"
    split: str  # the off-topic half; "" otherwise
    features: dict[str, float]
    confidence: float
    hit: bool  # a listed file was right (positives only)
    has_files: bool
    lexical: bool


@dataclass(frozen=True)
class Gate:
    """A fitted gate: aboutness coefficients and both thresholds."""

    coefficients: dict[str, float]
    about_threshold: float
    post_threshold: float


def load_examples(signals: Path, negatives: Path, base: Params) -> list[Example]:
    """Positives from `signals` (confidence replayed under `base`), negatives as recorded."""
    rows = [json.loads(line) for line in signals.read_text().splitlines() if line]
    examples = [Example(row["repo"], row["repo"], "positive", "", _features(row), score,
                        bool(hit), row.get("has_files", True), row.get("lexical", True))
                for row, (score, hit) in zip(rows, scored(rows, base), strict=True)]
    for line in negatives.read_text().splitlines():
        if not line:
            continue
        row = json.loads(line)
        foreign = row["kind"] == "foreign"
        examples.append(Example(row["repo"], row["split"] if foreign else "", row["kind"],
                                "" if foreign else row["split"], _features(row),
                                row["confidence"], False, row["has_files"], row["lexical"]))
    return examples


def _features(row: dict[str, Any]) -> dict[str, float]:
    return {name: float(row["about_features"][name]) for name in ABOUT_FEATURES}


def without_dense(examples: list[Example]) -> list[Example]:
    """`examples` as a search without embeddings sees them: no dense similarity."""
    return [replace(e, features={**e.features, "dense_best": 0.0}) for e in examples]


def fit_about(examples: list[Example]) -> dict[str, float]:
    """Aboutness coefficients from positives and fitting negatives, classes weighed equally."""
    used = [e for e in examples if e.kind != "offtopic" or e.split == "fit"]
    positives = sum(e.kind == "positive" for e in used)
    negatives = len(used) - positives
    weights = [1.0 if e.kind == "positive" else positives / negatives for e in used]
    return fit_logistic([e.features for e in used], [int(e.kind == "positive") for e in used],
                        sample_weights=weights)


def posts(example: Example, gate: Gate) -> bool:
    """Whether the gate would post the files of `example` (the product's rule)."""
    return files_verdict(example.has_files, example.lexical,
                         aboutness(example.features, gate.coefficients), gate.about_threshold,
                         example.confidence, gate.post_threshold).post


def measure(examples: list[Example], gate: Gate) -> dict[str, Any]:
    """Coverage and precision on positives; false-post rates per kind of negative."""
    return tally([(e, posts(e, gate)) for e in examples])


def tally(decided: list[tuple[Example, bool]]) -> dict[str, Any]:
    """Coverage and precision of the positives posted, and how many negatives of each kind
    were posted on, from (example, posted) pairs: one gate's, or a fold's gate each."""
    positives = [e for e, _ in decided if e.kind == "positive"]
    posted = [e for e, post in decided if post and e.kind == "positive"]
    result: dict[str, Any] = {
        "positives": len(positives), "posts": len(posted),
        "coverage": round(len(posted) / len(positives), 4) if positives else None,
        "precision": round(sum(e.hit for e in posted) / len(posted), 4) if posted else None}
    for key, kind, split in (("foreign", "foreign", ""), ("offtopic_fit", "offtopic", "fit"),
                             ("offtopic_held_out", "offtopic", "held_out")):
        asked = [post for e, post in decided if e.kind == kind and e.split == split]
        result[f"{key}_n"], result[f"{key}_posts"] = len(asked), sum(asked)
        result[f"{key}_rate"] = round(sum(asked) / len(asked), 4) if asked else None
    return result


def choose_thresholds(examples: list[Example], coefficients: dict[str, float],
                      post_threshold: float | None = None) -> Gate:
    """The grid pair with the most posts within the precision and false-post bounds (with a
    `post_threshold`, only the aboutness threshold is chosen, within the false-post bounds:
    precision at a given confidence threshold is the confidence model's to keep).

    Ties go to the higher aboutness threshold, then the higher confidence threshold: of two
    equally useful gates, the more cautious one.
    """
    grid = [round(i * GRID_STEP, 4) for i in range(round(1 / GRID_STEP))]
    fitting = [e for e in examples if e.kind != "offtopic" or e.split == "fit"]
    best: tuple[int, float, float] | None = None
    for about in grid:
        for post in grid if post_threshold is None else [post_threshold]:
            found = measure(fitting, Gate(coefficients, about, post))
            precise = (post_threshold is not None
                       or (found["precision"] or 0.0) >= TARGET_PRECISION)
            within = (precise and (found["foreign_rate"] or 0.0) <= FALSE_POST_BOUND
                      and (found["offtopic_fit_rate"] or 0.0) <= FALSE_POST_BOUND)
            if within and (best is None or (found["posts"], about, post) > best):
                best = (found["posts"], about, post)
    if best is None:
        return Gate(coefficients, 1.0, post_threshold or 1.0)  # nothing is safe
    return Gate(coefficients, best[1], best[2])


def fit(examples: list[Example]) -> Gate:
    """The aboutness model, then its thresholds, on `examples`."""
    return choose_thresholds(examples, fit_about(examples))


def fit_lexical(examples: list[Example], gate: Gate) -> Gate:
    """The model without the dense feature, shifted to cross `gate`'s aboutness threshold
    where it crosses its own (chosen at `gate`'s confidence threshold, within the
    false-post bounds)."""
    lexical = without_dense(examples)
    coefficients = {k: v for k, v in fit_about(lexical).items() if k != "dense_best"}
    own = choose_thresholds(lexical, coefficients, gate.post_threshold)
    shift = _logit(gate.about_threshold) - _logit(own.about_threshold)
    shifted = {**coefficients, "bias": round(coefficients["bias"] + shift, 4)}
    return Gate(shifted, gate.about_threshold, gate.post_threshold)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def held_out(examples: list[Example], lexical: bool = False) -> dict[str, Any] | None:
    """Leave-one-repository-out figures, pooled over the repositories (None with one); with
    `lexical`, of the model without the dense feature on examples without it."""
    repos = sorted({e.repo for e in examples if e.kind == "positive"})
    if len(repos) < 2:
        return None
    pooled: list[tuple[Example, bool]] = []
    for repo in repos:
        train = [e for e in examples if e.repo != repo and e.source != repo]
        gate = fit(train)
        test = [e for e in examples if e.repo == repo]
        if lexical:
            gate, test = fit_lexical(train, gate), without_dense(test)
        pooled += [(e, posts(e, gate)) for e in test]
    return tally(pooled)


def main() -> None:
    """Fit, print the figures, and optionally write the parameters file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("signals", type=Path)
    parser.add_argument("negatives", type=Path)
    parser.add_argument("--base", type=Path,
                        help="Start from these parameters (default: the packaged ones).")
    parser.add_argument("--write", type=Path, help="Write the fitted parameters here.")
    args = parser.parse_args()
    base = load_params(args.base)
    examples = load_examples(args.signals, args.negatives, base)
    before = measure(examples, Gate({}, 0.0, base.post_threshold))
    gate = fit(examples)
    lexical = fit_lexical(examples, gate)
    summary = {"before": before, "after": measure(examples, gate),
               "leave_one_repo_out": held_out(examples),
               "lexical": {"after": measure(without_dense(examples), lexical),
                           "leave_one_repo_out": held_out(examples, lexical=True)}}
    print(json.dumps({"about": gate.coefficients, "about_lexical": lexical.coefficients,
                      "about_threshold": gate.about_threshold,
                      "post_threshold": gate.post_threshold, **summary}, indent=1))
    if args.write:
        digest = hashlib.sha256(args.signals.read_bytes() + args.negatives.read_bytes())
        data = json.loads((args.base or _packaged()).read_text())
        data.update({
            "version": base.version + 1, "post_threshold": gate.post_threshold,
            "about_fitted_by": f"python benchmarks/fit_gate.py {args.signals.name} "
                               f"{args.negatives.name} --write {args.write} (inputs sha256 "
                               f"{digest.hexdigest()[:12]}, "
                               f"{datetime.now(UTC).date().isoformat()})",
            "about_fit": summary, "about": gate.coefficients,
            "about_threshold": gate.about_threshold, "about_lexical": lexical.coefficients})
        args.write.write_text(json.dumps(data, indent=2) + "\n")
        load_params(args.write)  # the written file must load


def _packaged() -> Path:
    from importlib import resources

    return Path(str(resources.files("retrieval").joinpath("params.json")))


if __name__ == "__main__":
    main()
