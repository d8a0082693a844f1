"""Is this issue about this repository at all? Features measured against the repository itself.

The confidence model asks whether the top of the ranking is right, and its features (the
signals agreeing, the lead of the first file) are high whenever the signals agree, which in a
small repository they do on `app.py` whatever the text. These features ask something else:
how much of what the issue says this repository knows.

- `names_known`, `names_share`: the issue's code names (identifiers, dotted names, error
  types) that this repository defines, as a count (saturating at NAMES_SATURATE) and a share.
- `term_share`: of the issue's words, weighted by how unusual each is in ordinary English,
  the share this repository's files contain. "please", "work" weigh nothing; "bluetooth",
  "useeffect", "dataarray" weigh almost one, so it is the unusual words that must be known.
- `top_share`: of the issue's words, weighted by their idf here (a word no file has weighs
  most), the share the best-ranked file contains: does one file explain the issue?
- `dense_best`: the best similarity of the issue's sentences to a synthetic question.
- `named`: something the issue names outright (a path, frame, link, dotted name or a
  specific identifier) resolves to this repository.

Pure: the English word frequencies come in as a function (`english_zipf` reads them from
the `wordfreq` package's data).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from retrieval.query import IssueQueries

if TYPE_CHECKING:
    from retrieval.lexical import LexicalIndex
    from retrieval.locate import SearchIndex

ABOUT_FEATURES = ("names_known", "names_share", "term_share", "top_share", "dense_best",
                  "named")
NAMES_SATURATE = 3  # three names the repository defines say as much as thirty
ZIPF_COMMON = 6.0  # words at least this frequent in English ("the", "is") weigh nothing
MIN_TERM_LENGTH = 3

EnglishFrequency = Callable[[str], float]


@cache
def english_zipf(word: str) -> float:
    """A word's frequency in ordinary English on the Zipf scale (0: unknown, 7.7: "the")."""
    import wordfreq

    return float(wordfreq.zipf_frequency(word, "en"))


def unusual_weight(zipf: float) -> float:
    """How much a word of this English frequency says about a topic: 0 (common) to 1 (rare)."""
    return max(0.0, 1.0 - zipf / ZIPF_COMMON)


def content_terms(tokens: Sequence[str]) -> list[str]:
    """The issue's distinct alphabetic terms of at least MIN_TERM_LENGTH letters, in order."""
    return list(dict.fromkeys(t for t in tokens if len(t) >= MIN_TERM_LENGTH and t.isalpha()))


def term_share(terms: Sequence[str], known: set[str], english: EnglishFrequency) -> float:
    """The English-rarity-weighted share of `terms` that are in `known` (0 with no weight)."""
    weights = {t: unusual_weight(english(t)) for t in terms}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in known) / total if total > 0 else 0.0


def top_share(terms: Sequence[str], in_top: set[str], idf: dict[str, float]) -> float:
    """The idf-weighted share of `terms` that the best-ranked file contains."""
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in in_top) / total if total > 0 else 0.0


def term_idf(lexical: LexicalIndex, terms: Sequence[str]) -> dict[str, float]:
    """BM25 idf of each term over the index's documents (a term no document has: the most)."""
    from retrieval.lexical import bm25_idf

    frequencies = lexical.document_frequencies(terms)
    return {t: float(bm25_idf(lexical.size, f)) for t, f in zip(terms, frequencies, strict=True)}


def name_counts(names: Sequence[str], defined: Callable[[str], bool]) -> tuple[int, int]:
    """How many of the issue's code names the repository defines, and how many there are."""
    return sum(1 for name in names if defined(name)), len(names)


def about_features(index: SearchIndex, queries: IssueQueries, top_file: str | None,
                   dense_best: float, named: bool,
                   english: EnglishFrequency = english_zipf) -> dict[str, float]:
    """The aboutness features of an issue against `index` (see the module's docstring)."""
    names = list(dict.fromkeys([*queries.identifiers, *queries.errors]))
    known_names, total_names = name_counts(names, index.defines)
    terms = content_terms(queries.tokens)
    known_terms = set(index.files_lexical.known(terms))
    in_top: set[str] = set()
    if top_file is not None:
        in_top = set(index.files_lexical.terms_in(index.file_position[top_file], terms))
    return {
        "names_known": min(1.0, known_names / NAMES_SATURATE),
        "names_share": known_names / total_names if total_names else 0.0,
        "term_share": term_share(terms, known_terms, english),
        "top_share": top_share(terms, in_top, term_idf(index.files_lexical, terms)),
        "dense_best": max(0.0, dense_best),
        "named": 1.0 if named else 0.0,
    }


def aboutness(features: dict[str, float], coefficients: dict[str, float]) -> float:
    """The probability that the issue is about this repository's code (1 with no model)."""
    if not coefficients:
        return 1.0
    z = coefficients.get("bias", 0.0) + sum(
        coefficients.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-z))
