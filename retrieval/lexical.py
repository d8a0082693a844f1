"""BM25 over term counts: the lexical index of files, of symbols and of past changes.

Documents arrive as `Rows` of (term id, count) over a shared `Vocabulary`. Counting a
document's tokens is the only per-token Python work, and the document cache keeps each
file's rows by content, so a one-file push counts one file; assembling an index from rows
is a handful of numpy operations over the whole repository. Scores are BM25's Lucene
variant with k1 1.5 and b 0.75, the same as bm25s (which this replaced, and which the tests
compare it against).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import numpy as np

K1 = 1.5
B = 0.75
ARRAYS = ("indptr", "indices", "data")


class Vocabulary:
    """Terms and their ids; ids only grow, so stored rows stay valid as terms are added."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = list(terms)
        self.ids: dict[str, int] = {term: i for i, term in enumerate(self.terms)}

    def __len__(self) -> int:
        return len(self.terms)

    def add(self, tokens: Sequence[str]) -> list[int]:
        """The ids of `tokens`, giving new terms the next ids."""
        ids = self.ids
        found = []
        for token in tokens:
            term_id = ids.get(token)
            if term_id is None:
                term_id = ids[token] = len(self.terms)
                self.terms.append(token)
            found.append(term_id)
        return found

    def save(self, path: Path) -> None:
        """Write the terms, in id order, as a JSON list."""
        path.write_bytes(orjson.dumps(self.terms))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read what :meth:`save` wrote."""
        return cls(orjson.loads(path.read_bytes()))


@dataclass(frozen=True)
class Rows:
    """Documents as term counts: row i is `terms[offsets[i]:offsets[i + 1]]` with `counts`."""

    offsets: np.ndarray  # int64, one more than there are rows
    terms: np.ndarray  # int32 term ids, unique within a row
    counts: np.ndarray  # int32

    @property
    def size(self) -> int:
        """How many rows."""
        return len(self.offsets) - 1

    @classmethod
    def empty(cls) -> Rows:
        """No rows."""
        import numpy as np

        return cls(np.zeros(1, dtype="int64"), np.zeros(0, dtype="int32"),
                   np.zeros(0, dtype="int32"))

    @classmethod
    def count(cls, documents: Sequence[Sequence[str]], vocabulary: Vocabulary) -> Rows:
        """Count the tokens of each document, adding new terms to `vocabulary`."""
        import numpy as np

        ids = [vocabulary.add(tokens) for tokens in documents]
        lengths = np.fromiter((len(d) for d in ids), dtype="int64", count=len(ids))
        flat = np.fromiter((i for d in ids for i in d), dtype="int64", count=int(lengths.sum()))
        # One sort for all documents: (document, term) keys, sorted, give each row's terms
        # in order and, with their repeats counted, the term counts.
        width = max(len(vocabulary), 1)
        keys, counts = np.unique(np.repeat(np.arange(len(ids)), lengths) * width + flat,
                                 return_counts=True)
        per_row = np.bincount(keys // width, minlength=len(ids))
        offsets = np.concatenate([[0], np.cumsum(per_row)]).astype("int64")
        return cls(offsets, (keys % width).astype("int32"), counts.astype("int32"))

    @classmethod
    def concat(cls, parts: Sequence[Rows]) -> Rows:
        """The rows of `parts`, one after another."""
        import numpy as np

        if not parts:
            return cls.empty()
        shifts = np.cumsum([0] + [len(p.terms) for p in parts[:-1]])
        offsets = np.concatenate([[0]] + [p.offsets[1:] + shift
                                          for p, shift in zip(parts, shifts, strict=True)])
        return cls(offsets.astype("int64"), np.concatenate([p.terms for p in parts]),
                   np.concatenate([p.counts for p in parts]))

    def slice(self, start: int, stop: int) -> Rows:
        """Rows `start` to `stop` (exclusive), sharing this one's arrays."""
        low, high = int(self.offsets[start]), int(self.offsets[stop])
        return Rows(self.offsets[start:stop + 1] - low, self.terms[low:high],
                    self.counts[low:high])

    def take(self, rows: Sequence[int] | np.ndarray) -> Rows:
        """The given rows, in the given order."""
        import numpy as np

        picked = np.asarray(rows, dtype="int64")
        offsets, positions = _spans(self.offsets[picked], self.offsets[picked + 1])
        return Rows(offsets, self.terms[positions], self.counts[positions])

    def lengths(self) -> np.ndarray:
        """Tokens per row."""
        import numpy as np

        totals = np.concatenate([[0], np.cumsum(self.counts, dtype="int64")])
        return totals[self.offsets[1:]] - totals[self.offsets[:-1]]

    def counted(self, row: int, vocabulary: Vocabulary) -> dict[str, int]:
        """Row `row` as {term: count}."""
        part = self.slice(row, row + 1)
        return {vocabulary.terms[t]: int(c) for t, c in zip(part.terms, part.counts, strict=True)}


class LexicalIndex:
    """A BM25 index over rows; scores every document at once."""

    def __init__(self, rows: Rows, vocabulary: Vocabulary) -> None:
        import numpy as np

        self.size = rows.size
        self.vocabulary = vocabulary
        lengths = rows.lengths().astype("float64")
        average = float(lengths.mean()) if self.size and lengths.any() else 1.0
        documents = np.repeat(np.arange(self.size, dtype="int32"), np.diff(rows.offsets))
        frequency = np.bincount(rows.terms, minlength=len(vocabulary))
        order = np.argsort(rows.terms, kind="stable")  # postings by term, documents in order
        self.indptr = np.concatenate([[0], np.cumsum(frequency)]).astype("int64")
        self.indices = documents[order]
        tf = rows.counts[order].astype("float64")
        idf = bm25_idf(self.size, frequency)
        norm = K1 * ((1 - B) + B * lengths / average)
        self.data = (idf[rows.terms[order]] * tf / (norm[self.indices] + tf)).astype("float32")

    @classmethod
    def from_tokens(cls, documents: Sequence[Sequence[str]]) -> LexicalIndex:
        """An index over token lists, with a vocabulary of its own."""
        vocabulary = Vocabulary()
        return cls(Rows.count(documents, vocabulary), vocabulary)

    def save(self, directory: Path) -> None:
        """Write the postings (numpy arrays) and the vocabulary to `directory`."""
        import numpy as np

        directory.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(directory / f"{name}.npy", getattr(self, name), allow_pickle=False)
        self.vocabulary.save(directory / "vocabulary.json")

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        """Read an index written by :meth:`save`; its arrays are memory-mapped."""
        import numpy as np

        index = cls.__new__(cls)
        index.size = size
        index.vocabulary = Vocabulary.load(directory / "vocabulary.json")
        for name in ARRAYS:
            setattr(index, name, np.load(directory / f"{name}.npy", mmap_mode="r",
                                         allow_pickle=False))
        return index

    def _term_ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of the `tokens` this index has postings for, repeats kept, in order."""
        import numpy as np

        ids = self.vocabulary.ids
        # Terms added to a shared vocabulary after this build have no postings here.
        last = len(self.indptr) - 1
        found = np.fromiter((i for t in tokens if (i := ids.get(t, last)) < last),
                            dtype="int64")
        return found[self.indptr[found + 1] > self.indptr[found]]

    def known(self, tokens: Sequence[str]) -> list[str]:
        """The tokens of `tokens` that occur somewhere in the corpus."""
        return [t for t, i in zip(tokens, self._ids_or_none(tokens), strict=True)
                if i is not None]

    def document_frequencies(self, tokens: Sequence[str]) -> list[int]:
        """How many documents contain each of `tokens` (0 for a term with no postings here)."""
        last = len(self.indptr) - 1
        found = []
        for token in tokens:
            term_id = self.vocabulary.ids.get(token, last)
            found.append(int(self.indptr[term_id + 1] - self.indptr[term_id])
                         if term_id < last else 0)
        return found

    def terms_in(self, document: int, tokens: Sequence[str]) -> list[str]:
        """The `tokens` that occur in `document`, in the order given."""
        import numpy as np

        found = []
        for token, term_id in zip(tokens, self._ids_or_none(tokens), strict=True):
            if term_id is None:
                continue
            postings = self.indices[self.indptr[term_id]:self.indptr[term_id + 1]]
            position = int(np.searchsorted(postings, document))
            if position < len(postings) and postings[position] == document:
                found.append(token)
        return found

    def _ids_or_none(self, tokens: Sequence[str]) -> list[int | None]:
        known = set(self._term_ids(tokens).tolist())
        return [i if (i := self.vocabulary.ids.get(t)) in known else None for t in tokens]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query `tokens` (zeros when nothing matches).

        A token repeated in the query counts as often as it is repeated.
        """
        import numpy as np

        ids = self._term_ids(tokens)
        if not len(ids) or self.size == 0:
            return np.zeros(self.size, dtype="float32")
        _, positions = _spans(self.indptr[ids], self.indptr[ids + 1])
        return np.bincount(self.indices[positions], weights=self.data[positions],
                           minlength=self.size).astype("float32")


def bm25_idf(documents: int, frequency: Any) -> Any:
    """BM25's idf (Lucene's, always positive) of terms in `frequency` of `documents` documents.

    `frequency` is a count or a numpy array of counts; the result has the same shape.
    """
    import numpy as np

    return np.log1p((documents - frequency + 0.5) / (frequency + 0.5))


def _spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the spans `starts[i]:ends[i]` laid end to end, and where each begins."""
    import numpy as np

    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype("int64")
    return offsets, np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])


def top_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the `k` best positive scores, best first; ties keep document order."""
    import numpy as np

    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return []
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return [int(i) for i in order[:k]]
