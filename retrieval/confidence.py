"""How sure retrieval is that a listed file is right: features and a logistic model.

The features look at the ranking itself (how directly the issue names the top file, how
many signals agree, the top file's lead); whether the issue is about this code at all is
`retrieval.aboutness`'s question. The coefficients are fitted (`benchmarks/fit_params.py`)
and live in `params.json`.
"""

from __future__ import annotations

import math

from retrieval.params import Params

LISTED_FILES = 3  # files a comment lists; confidence is about these
CONFIDENCE_FEATURES = ("mention", "agreement", "margin", "specificity", "listed_agreement",
                       "concentration", "dense_listed")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def confidence_features(ranked: list[str], fused: dict[str, float],
                        signals: dict[str, dict[str, int]], specific_names: int
                        ) -> dict[str, float]:
    """What confidence is built from.

    About the top file: how directly the issue names it, how many signals rank it in their
    top 3, its lead over the second. About the three listed files, since a post is right
    when any of them is: how many signals' best file is among them, how much of the top
    ten's fused score they hold, how high the dense signal ranks one of them. About the
    issue: how many specific names it has.
    """
    if not ranked:
        return dict.fromkeys(CONFIDENCE_FEATURES, 0.0)
    top, listed = ranked[0], ranked[:LISTED_FILES]
    agreeing = sum(1 for ranks in signals.values() if ranks.get(top, 10**9) <= LISTED_FILES)
    second = fused[ranked[1]] if len(ranked) > 1 else 0.0
    mention_rank = signals.get("mention", {}).get(top)
    best_files = [min(ranks, key=lambda path: ranks[path])
                  for ranks in signals.values() if ranks]
    top_ten = sum(fused[path] for path in ranked[:10])
    dense_rank = min(signals.get("dense", {}).get(path, 0) or 10**9 for path in listed)
    return {
        "mention": 1.0 / mention_rank if mention_rank else 0.0,
        "agreement": agreeing / len(signals),
        "margin": (fused[top] - second) / fused[top] if fused[top] > 0 else 0.0,
        "specificity": min(1.0, specific_names / 3),
        "listed_agreement": sum(path in listed for path in best_files) / len(signals),
        "concentration": sum(fused[path] for path in listed) / top_ten if top_ten > 0 else 0.0,
        "dense_listed": 1.0 / dense_rank if dense_rank < 10**9 else 0.0,
    }


def confidence(features: dict[str, float], params: Params) -> float:
    """The probability that a listed file is right: a logistic model over the features."""
    coefficients = params.confidence
    # A feature the parameters were fitted without counts for nothing.
    return _sigmoid(coefficients["bias"] + sum(
        coefficients.get(name, 0.0) * value for name, value in features.items()))
