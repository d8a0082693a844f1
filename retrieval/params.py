"""Fitted retrieval parameters (fusion weights, confidence model, posting threshold).

They live in the versioned `params.json` beside this module, together with the command that
fitted them, so a change in any number shows up in review and can be reproduced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from navbot.core.errors import ConfigError


@dataclass(frozen=True)
class Params:
    """Fusion weights, confidence coefficients and the default posting threshold.

    `about` holds the aboutness model's coefficients (see `retrieval.aboutness`), and
    `about_threshold` the aboutness an issue needs before its files may be posted; without
    them every issue counts as about the code. `about_lexical` is the same model fitted
    without the dense feature, for searches without embeddings; its bias is shifted so that
    it shares `about_threshold`.

    `fusion_by_shape` routes by issue shape: a traceback names its files in its frames, a
    prose issue only describes behaviour, so each shape may weigh the signals its own way.
    A shape without its own weights uses `fusion`.
    """

    version: int
    fusion: dict[str, float]
    confidence: dict[str, float]
    post_threshold: float
    fusion_by_shape: dict[str, dict[str, float]] = field(default_factory=dict)
    # Symbol fusion weights by signal (see retrieval.symbol_rank); missing ones default below.
    symbols: dict[str, float] = field(default_factory=dict)
    about: dict[str, float] = field(default_factory=dict)
    about_threshold: float = 0.0
    about_lexical: dict[str, float] = field(default_factory=dict)

    def about_model(self, dense: bool) -> dict[str, float]:
        """The aboutness coefficients for a search with or without the dense signal."""
        return self.about if dense or not self.about_lexical else self.about_lexical

    def fusion_for(self, shape: str | None) -> dict[str, float]:
        """The fusion weights for issues of `shape` (None: the shared weights)."""
        return {**self.fusion, **self.fusion_by_shape.get(shape or "", {})}

    def symbol_weights(self) -> dict[str, float]:
        """Symbol fusion weights: the file signals' weights where a symbol signal shares the
        name, the file's rank at 1, the newer signals off, unless `symbols` says otherwise."""
        defaults = {name: self.fusion.get(name, 0.0)
                    for name in ("symbol_lexical", "dense", "mention")}
        return {**defaults, "in_file": 0.0, "member": 0.0, "name_part": 0.0, "file": 1.0,
                **self.symbols}


def load_params(path: Path | None = None) -> Params:
    """Read parameters from `path`, or the packaged `params.json`."""
    try:
        text = (path.read_text() if path is not None
                else resources.files("retrieval").joinpath("params.json").read_text())
        data = json.loads(text)
        return Params(version=int(data["version"]), fusion=dict(data["fusion"]),
                      confidence=dict(data["confidence"]),
                      post_threshold=float(data["post_threshold"]),
                      fusion_by_shape={shape: dict(weights) for shape, weights
                                       in data.get("fusion_by_shape", {}).items()},
                      symbols=dict(data.get("symbols", {})),
                      about=dict(data.get("about", {})),
                      about_threshold=float(data.get("about_threshold", 0.0)),
                      about_lexical=dict(data.get("about_lexical", {})))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read retrieval parameters from "
                          f"{path or 'the packaged params.json'}: {exc}") from None


@cache
def default_params() -> Params:
    """The packaged parameters, read once per process."""
    return load_params()


def posting_threshold(override: float | None) -> float:
    """The confidence needed to post files: the setting when given, else the fitted one."""
    return override if override is not None else default_params().post_threshold
