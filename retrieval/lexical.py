"""BM25 over token lists (bm25s): the lexical index of files and of symbols."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class LexicalIndex:
    """A BM25 index over documents given as token lists; scores every document at once."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        import bm25s

        self.size = len(documents)
        self._bm25: Any = bm25s.BM25()
        # bm25s cannot index an empty corpus (nor one without tokens); a placeholder
        # document with a token the tokenizer never makes keeps the shapes valid.
        corpus = list(documents) if any(documents) else [["\0"]] * max(1, len(documents))
        self._bm25.index(corpus, show_progress=False)
        self._vocabulary: dict[str, int] = self._bm25.vocab_dict

    def save(self, directory: Path) -> None:
        """Write the index to `directory` (numpy arrays and a vocabulary, no pickle)."""
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        """Read an index written by :meth:`save`; its arrays are memory-mapped."""
        import bm25s

        index = cls.__new__(cls)
        index.size = size
        index._bm25 = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        index._vocabulary = index._bm25.vocab_dict
        return index

    def terms_in(self, document: int, tokens: Sequence[str]) -> list[str]:
        """The `tokens` that occur in `document`, in the order given."""
        import numpy as np

        scores = self._bm25.scores
        found = []
        for token in tokens:
            column = self._vocabulary.get(token)
            if column is None:
                continue
            postings = scores["indices"][scores["indptr"][column]:scores["indptr"][column + 1]]
            if np.any(postings == document):
                found.append(token)
        return found

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
