"""BM25 over token lists (bm25s): the lexical index of files and of symbols."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class LexicalIndex:
    """A BM25 index over documents given as token lists; scores every document at once."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        import bm25s

        self.size = len(documents)
        self._bm25 = bm25s.BM25()
        # An empty corpus cannot be indexed; one empty document keeps the shapes valid.
        self._bm25.index(list(documents) or [[]], show_progress=False)
        self._vocabulary: dict[str, int] = self._bm25.vocab_dict

    def known(self, tokens: Sequence[str]) -> list[str]:
        """The tokens of `tokens` that occur somewhere in the corpus."""
        return [t for t in tokens if t in self._vocabulary]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query `tokens` (zeros when nothing matches)."""
        import numpy as np

        query = self.known(tokens)
        if not query or self.size == 0:
            return np.zeros(self.size, dtype="float32")
        return self._bm25.get_scores(query)[: self.size]


def top_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the `k` best positive scores, best first; ties keep document order."""
    import numpy as np

    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return []
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return [int(i) for i in order[:k]]
