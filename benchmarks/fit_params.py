"""Fit retrieval parameters on the shared eval set: fusion weights, confidence, threshold.

Input is the `signals.jsonl` that `navbot eval --out DIR` writes (per-signal file ranks for
every instance), so fitting replays `retrieval.fusion.fuse` and `confidence_features` exactly
without re-indexing. Only `../shared/eval/` may be used; nothing is fitted per instance.

    python benchmarks/fit_params.py OUT/signals.jsonl [--data EVAL.jsonl] [--base FILE]
        [--no-shapes] [--write FILE]

`--data` classifies each instance's shape from its problem statement, for signals written
before the eval recorded shapes.

1. Fusion: grid search over the weights, maximizing mean MRR of the fused file ranking;
   then, for each issue shape with at least MIN_SHAPE_ROWS instances, the same search on
   those instances alone, kept where it beats the shared weights (routing by shape).
2. Confidence: logistic regression of "a gold file is in the top 3" on the features.
3. Threshold: the lowest one whose posts reach the target precision, so coverage is highest.

It also reports leave-one-repository-out figures: everything refitted without a repository,
then measured on it, so the in-sample numbers can be read against out-of-sample ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from navbot.evaluation.metrics import all_within, reciprocal_rank
from retrieval.calibration.thresholds import Outcome, threshold_table
from retrieval.confidence import LISTED_FILES, confidence, confidence_features
from retrieval.fusion import fuse
from retrieval.params import Params, load_params
from retrieval.query import parse_issue

SIGNAL_VALUES = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0)
OTHER_VALUES = {"test_file_factor": (0.1, 0.25, 0.5, 1.0), "rrf_k": (5.0, 10.0, 30.0, 60.0)}
TARGET_PRECISION = 0.9  # a wrong comment costs more than none
L2 = 0.01
MIN_SHAPE_ROWS = 15  # fewer instances of a shape would fit their noise


def _ranked(row: dict[str, Any], params: Params) -> tuple[list[str], dict[str, float]]:
    fused = fuse(row["signals"], params, row.get("shape"))
    return sorted(fused, key=lambda p: (-fused[p], p)), fused


def _gold_ranks(row: dict[str, Any], params: Params) -> list[int | None]:
    ranked, _ = _ranked(row, params)
    position = {path: rank for rank, path in enumerate(ranked, start=1)}
    return [position.get(g) for g in row["gold_files"]]


def _mrr(rows: list[dict[str, Any]], params: Params) -> float:
    return sum(reciprocal_rank(_gold_ranks(row, params)) for row in rows) / len(rows)


def _accuracy(rows: list[dict[str, Any]], params: Params, k: int) -> float:
    return sum(bool(all_within(_gold_ranks(row, params), k)) for row in rows) / len(rows)


def _with(params: Params, fusion: dict[str, float],
          by_shape: dict[str, dict[str, float]] | None = None) -> Params:
    return Params(params.version, fusion, params.confidence, params.post_threshold,
                  params.fusion_by_shape if by_shape is None else by_shape, params.symbols)


def fit_fusion(rows: list[dict[str, Any]], base: Params) -> tuple[dict[str, float], float]:
    """Coordinate ascent on mean MRR: one weight at a time over its values, until stable.

    A full grid over eight weights is too large to replay in pure Python; ascent from the
    current weights reaches a local optimum in a few passes. Ties keep the current value.
    """
    signals = sorted({name for row in rows for name in row["signals"]})
    grid = {name: SIGNAL_VALUES for name in signals} | OTHER_VALUES
    fusion = {name: base.fusion.get(name, 1.0) for name in grid}
    base = _with(base, fusion, {})
    best = _mrr(rows, _with(base, fusion))
    for _ in range(5):
        improved = False
        for name, values in grid.items():
            for value in values:
                trial = {**fusion, name: value}
                score = _mrr(rows, _with(base, trial))
                if score > best + 1e-9:
                    best, fusion, improved = score, trial, True
        if not improved:
            break
    return fusion, best


def ablation(rows: list[dict[str, Any]], params: Params) -> dict[str, dict[str, float]]:
    """MRR and file Acc@1/@5 with all signals, and with each signal's weight set to zero."""
    table = {}
    for name in [None, *sorted({n for row in rows for n in row["signals"]})]:
        fusion = dict(params.fusion) if name is None else {**params.fusion, name: 0.0}
        by_shape = {shape: weights if name is None or name not in weights
                    else {**weights, name: 0.0}
                    for shape, weights in params.fusion_by_shape.items()}
        trial = _with(params, fusion, by_shape)
        table["all" if name is None else f"without {name}"] = {
            "mrr": round(_mrr(rows, trial), 4), "acc@1": round(_accuracy(rows, trial, 1), 4),
            "acc@5": round(_accuracy(rows, trial, 5), 4)}
    return table


def _examples(rows: list[dict[str, Any]], params: Params
              ) -> tuple[list[dict[str, float]], list[int]]:
    features, labels = [], []
    for row in rows:
        ranked, fused = _ranked(row, params)
        specific = round(row["features"]["specificity"] * 3)
        features.append(confidence_features(ranked, fused, row["signals"], specific))
        labels.append(int(any(g in ranked[:LISTED_FILES] for g in row["gold_files"])))
    return features, labels


def scored(rows: list[dict[str, Any]], params: Params) -> list[tuple[float, int]]:
    """Each row's replayed confidence under `params`, and whether a listed file was right."""
    features, labels = _examples(rows, params)
    return [(confidence(x, params), y) for x, y in zip(features, labels, strict=True)]


def fit_logistic(features: list[dict[str, float]], labels: list[int], steps: int = 5000,
                 rate: float = 0.5, sample_weights: list[float] | None = None
                 ) -> dict[str, float]:
    """Coefficients of a logistic model by gradient descent with a little L2.

    `sample_weights` (default: 1 each) let a class count as much as a larger one.
    """
    names = list(features[0])
    weights = dict.fromkeys(["bias", *names], 0.0)
    counts = sample_weights or [1.0] * len(labels)
    n = sum(counts)
    for _ in range(steps):
        gradient = dict.fromkeys(weights, 0.0)
        for x, y, count in zip(features, labels, counts, strict=True):
            z = weights["bias"] + sum(weights[k] * x[k] for k in names)
            error = (1.0 / (1.0 + math.exp(-z)) - y) * count
            gradient["bias"] += error
            for k in names:
                gradient[k] += error * x[k]
        for k in weights:
            penalty = 0.0 if k == "bias" else L2 * weights[k]
            weights[k] -= rate * (gradient[k] / n + penalty)
    return {k: round(v, 4) for k, v in weights.items()}


def choose_threshold(scores: list[float], labels: list[int]) -> float:
    """The lowest threshold (step 0.05) whose posts reach TARGET_PRECISION.

    Plain precision, as the eval's target counts it over all the shared issues; calibration
    (`retrieval.thresholds.choose_threshold`) asks for its Wilson bound instead, because a
    repository's own history can be a few dozen fixes.
    """
    table = threshold_table([Outcome(s, bool(y)) for s, y in zip(scores, labels, strict=True)],
                            [step / 20 for step in range(20)])
    return next((row.threshold for row in table
                 if row.precision is not None and row.precision >= TARGET_PRECISION), 0.95)


def fit_shapes(rows: list[dict[str, Any]], base: Params, fusion: dict[str, float]
               ) -> dict[str, dict[str, float]]:
    """Per-shape weights (only those differing from `fusion`) where they raise that shape's MRR."""
    shared = _with(base, fusion, {})
    by_shape = {}
    for shape in sorted({str(row.get("shape")) for row in rows if row.get("shape")}):
        subset = [row for row in rows if row.get("shape") == shape]
        if len(subset) < MIN_SHAPE_ROWS:
            continue
        own, score = fit_fusion(subset, shared)
        if score > _mrr(subset, shared) + 1e-9:
            by_shape[shape] = {k: v for k, v in own.items() if v != fusion[k]}
    return by_shape


def fit(rows: list[dict[str, Any]], base: Params, shapes: bool = True) -> Params:
    """Fusion (shared, then per shape), then confidence on the fitted fusion, then the threshold."""
    fusion, _ = fit_fusion(rows, _with(base, base.fusion, {}))
    by_shape = fit_shapes(rows, base, fusion) if shapes else {}
    routed = Params(base.version, fusion, base.confidence, 0.5, by_shape, base.symbols)
    features, labels = _examples(rows, routed)
    coefficients = fit_logistic(features, labels)
    fitted = Params(base.version, fusion, coefficients, 0.5, by_shape, base.symbols)
    threshold = choose_threshold([confidence(x, fitted) for x in features], labels)
    return Params(base.version, fusion, coefficients, threshold, by_shape, base.symbols)


def held_out(rows: list[dict[str, Any]], base: Params, shapes: bool = True
             ) -> dict[str, Any] | None:
    """Leave-one-repository-out MRR, top-3 hit rate, coverage and precision."""
    if len({row["repo"] for row in rows}) < 2:
        return None
    mrr_total, hits, posts, right = 0.0, 0, 0, 0
    for repo in sorted({row["repo"] for row in rows}):
        test = [row for row in rows if row["repo"] == repo]
        params = fit([row for row in rows if row["repo"] != repo], base, shapes)
        mrr_total += _mrr(test, params) * len(test)
        features, labels = _examples(test, params)
        hits += sum(labels)
        for x, y in zip(features, labels, strict=True):
            if confidence(x, params) >= params.post_threshold:
                posts, right = posts + 1, right + y
    return {"mrr": round(mrr_total / len(rows), 4), "top3_hit_rate": round(hits / len(rows), 4),
            "coverage": round(posts / len(rows), 4),
            "precision": round(right / posts, 4) if posts else None}


def _gate_keys(base: Path | None) -> dict[str, Any]:
    """The aboutness gate's entries of the base parameters file, to carry over unchanged."""
    from importlib import resources

    text = (base.read_text() if base is not None
            else resources.files("retrieval").joinpath("params.json").read_text())
    data = json.loads(text)
    return {key: data[key] for key in ("about_fitted_by", "about_fit", "about",
                                       "about_threshold", "about_lexical") if key in data}


def main() -> None:
    """Fit, print a summary, and optionally write the parameters file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("signals", type=Path)
    parser.add_argument("--data", type=Path, help="Eval JSONL to classify shapes from.")
    parser.add_argument("--base", type=Path,
                        help="Start from these parameters (default: the packaged ones).")
    parser.add_argument("--no-shapes", action="store_true",
                        help="Fit shared weights only, to measure what routing adds.")
    parser.add_argument("--write", type=Path, help="Write the fitted parameters here.")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.signals.read_text().splitlines() if line]
    if args.data:
        texts = {row["instance_id"]: row["problem_statement"]
                 for row in map(json.loads, args.data.read_text().splitlines()) if row}
        for row in rows:
            row.setdefault("shape", parse_issue(texts[row["instance_id"]]).shape)
    base = load_params(args.base)
    fitted = fit(rows, base, not args.no_shapes)
    features, labels = _examples(rows, fitted)
    scores = [confidence(x, fitted) for x in features]
    posted = [y for s, y in zip(scores, labels, strict=True) if s >= fitted.post_threshold]
    summary = {
        "instances": len(rows), "mrr_before": round(_mrr(rows, base), 4),
        "mrr_after": round(_mrr(rows, fitted), 4),
        "top3_hit_rate": round(sum(labels) / len(labels), 4),
        "threshold": fitted.post_threshold, "coverage": round(len(posted) / len(rows), 4),
        "precision": round(sum(posted) / len(posted), 4) if posted else None,
        "leave_one_repo_out": held_out(rows, base, not args.no_shapes),
        "ablation": ablation(rows, fitted),
    }
    fusion, coefficients, threshold = fitted.fusion, fitted.confidence, fitted.post_threshold
    by_shape = fitted.fusion_by_shape
    print(json.dumps({"fusion": fusion, "fusion_by_shape": by_shape, "confidence": coefficients,
                      **summary}, indent=1))
    if args.write:
        digest = hashlib.sha256(args.signals.read_bytes()).hexdigest()[:12]
        args.write.write_text(json.dumps({
            "version": base.version + 1,
            "fitted_by": f"python benchmarks/fit_params.py {args.signals.name} "
                         f"{'--data ' + args.data.name + ' ' if args.data else ''}--write "
                         f"{args.write} (signals sha256 {digest}, "
                         f"{datetime.now(UTC).date().isoformat()})",
            # Symbol weights are kept: benchmarks/fit_symbols.py fits them, after this.
            "fit": summary, "fusion": fusion, "fusion_by_shape": by_shape,
            "symbols": fitted.symbols,
            "confidence": coefficients,
            "post_threshold": threshold,
            # The aboutness gate is kept: benchmarks/fit_gate.py fits it, after this.
            **_gate_keys(args.base),
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
